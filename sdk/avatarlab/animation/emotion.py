"""Emotion presets: an additive expression layer plus how the emotion colours jaw, head and gaze."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from ..channels import ARKIT_INDEX
from .arkit import NUM_BLENDSHAPES

EMOTIONS: Final = ("neutral", "happy", "sad", "angry", "surprised")


@dataclass(frozen=True)
class EmotionPreset:
    """Values at intensity 1; the animator scales the layer (and the departures from 1.0) by intensity."""

    expression: dict[str, float] = field(default_factory=dict)
    jaw_scale: float = 1.0  # speech jaw amplitude (tension narrows it)
    jaw_offset: float = 0.0  # resting jaw drop
    head_energy: float = 1.0
    head_pitch: float = 0.0  # radians, positive looks down
    gaze_pitch: float = 0.0
    blink_rate: float = 1.0


def _pair(name: str, value: float) -> dict[str, float]:
    return {name + "Left": value, name + "Right": value}


PRESETS: Final[dict[str, EmotionPreset]] = {
    "neutral": EmotionPreset(),
    "happy": EmotionPreset(
        {**_pair("mouthSmile", 0.55), **_pair("cheekSquint", 0.4), **_pair("eyeSquint", 0.25),
         **_pair("mouthDimple", 0.15), "browInnerUp": 0.05},
        jaw_scale=1.05, head_energy=1.25, head_pitch=np.radians(-0.8), blink_rate=1.1),
    "sad": EmotionPreset(
        {**_pair("mouthFrown", 0.45), "browInnerUp": 0.55, "mouthShrugLower": 0.2, **_pair("mouthPress", 0.1),
         **_pair("eyeSquint", 0.1), **_pair("mouthLowerDown", 0.05)},
        jaw_scale=0.8, head_energy=0.6, head_pitch=np.radians(2.5), gaze_pitch=np.radians(3.0), blink_rate=0.8),
    "angry": EmotionPreset(
        {**_pair("browDown", 0.65), **_pair("noseSneer", 0.35), **_pair("eyeSquint", 0.3),
         **_pair("mouthStretch", 0.2), **_pair("mouthUpperUp", 0.15), "jawForward": 0.12, **_pair("mouthPress", 0.15)},
        jaw_scale=0.75, head_energy=1.1, head_pitch=np.radians(1.0), blink_rate=0.8),
    "surprised": EmotionPreset(
        {**_pair("browOuterUp", 0.7), "browInnerUp": 0.6, **_pair("eyeWide", 0.55), "mouthFunnel": 0.08},
        jaw_scale=1.15, jaw_offset=0.08, head_energy=1.3, head_pitch=np.radians(-1.5), blink_rate=0.7),
}


@dataclass(frozen=True)
class EmotionLayer:
    """A preset resolved at an intensity: everything the animator needs, precomputed."""

    offsets: np.ndarray  # (52,) additive blendshape offsets
    jaw_scale: float
    jaw_offset: float
    head_energy: float
    head_pitch: float
    gaze_pitch: float
    blink_rate: float

    @classmethod
    def resolve(cls, emotion: str, intensity: float) -> EmotionLayer:
        preset = PRESETS[emotion]
        offsets = np.zeros(NUM_BLENDSHAPES)
        for name, value in preset.expression.items():
            offsets[ARKIT_INDEX[name]] = intensity * value
        mix = lambda v: 1.0 + intensity * (v - 1.0)  # noqa: E731
        return cls(offsets, mix(preset.jaw_scale), intensity * preset.jaw_offset, mix(preset.head_energy),
                   intensity * preset.head_pitch, intensity * preset.gaze_pitch, mix(preset.blink_rate))

    def apply(self, blendshapes: np.ndarray) -> np.ndarray:
        """Add the expression; eyeWide yields to blinks so lids still close fully."""
        out = blendshapes + self.offsets
        for side in ("Left", "Right"):
            blink = blendshapes[:, ARKIT_INDEX["eyeBlink" + side]]
            for name in ("eyeWide", "eyeSquint"):
                out[:, ARKIT_INDEX[name + side]] *= 1.0 - blink
        return np.clip(out, 0.0, 1.0)
