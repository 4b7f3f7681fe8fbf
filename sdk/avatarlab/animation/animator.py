"""FaceAnimator: timeline + audio -> visemes, ARKit blendshapes, head and eye rotations.

Every frame is a pure function of (seed, frame index, timeline, audio window ending at the
frame), so the engine can stream any split of frame ranges and get identical curves.
"""

from __future__ import annotations

import numpy as np

from ..channels import ARKIT_INDEX
from ..errors import InvalidOptionError
from ..timeline import PhonemeTimeline
from .arkit import JAW_MAX, enforce_lip_targets, mouth_blendshapes
from .blinks import blink_curve
from .brows import brow_raise
from .coarticulation import articulate, impose_lip_targets, shape_visemes
from .emotion import EMOTIONS, EmotionLayer
from .frames import FaceFrames
from .gaze import gaze_angles
from .head import head_rotation
from .loudness import frame_loudness
from .phonemes import CLOSURE, JAW, LOWER
from .pitch import frame_f0, pitch_brow_raise
from .track import TrackCache

MIN_FPS, MAX_FPS = 24, 120
LOOK_HORIZONTAL = np.radians(25.0)  # eye yaw at which eyeLookIn/Out reach 1
LOOK_VERTICAL = np.radians(20.0)


def _eye_blendshapes(out: np.ndarray, blink: np.ndarray, gaze: np.ndarray) -> None:
    """eyeBlink and eyeLook* consistent with the eye rotation channels (yaw > 0: avatar's left)."""
    pitch, yaw = gaze[:, 0], gaze[:, 1]
    down, up = np.clip(pitch / LOOK_VERTICAL, 0, 1), np.clip(-pitch / LOOK_VERTICAL, 0, 1)
    left, right = np.clip(yaw / LOOK_HORIZONTAL, 0, 1), np.clip(-yaw / LOOK_HORIZONTAL, 0, 1)
    for side, outward, inward in (("Left", left, right), ("Right", right, left)):
        out[:, ARKIT_INDEX["eyeBlink" + side]] = blink
        out[:, ARKIT_INDEX["eyeLookDown" + side]] = down
        out[:, ARKIT_INDEX["eyeLookUp" + side]] = up
        out[:, ARKIT_INDEX["eyeLookOut" + side]] = outward
        out[:, ARKIT_INDEX["eyeLookIn" + side]] = inward


class FaceAnimator:
    """Turns a phoneme timeline and its audio into facial animation curves, chunk by chunk."""

    def __init__(self, sample_rate: int, fps: int = 60, seed: int = 0,
                 emotion: str = "neutral", emotion_intensity: float = 1.0, reference_f0: float = 0.0) -> None:
        """``reference_f0``: the voice's median pitch in Hz; brows rise on pitch peaks above it (0: off)."""
        if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise InvalidOptionError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if not isinstance(fps, (int, np.integer)) or not MIN_FPS <= fps <= MAX_FPS:
            raise InvalidOptionError(f"fps must be an integer in {MIN_FPS}..{MAX_FPS}, got {fps!r}")
        if not isinstance(seed, (int, np.integer)):
            raise InvalidOptionError(f"seed must be an integer, got {seed!r}")
        if emotion not in EMOTIONS:
            raise InvalidOptionError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
        if not 0.0 <= float(emotion_intensity) <= 1.0:
            raise InvalidOptionError(f"emotion_intensity must be in 0..1, got {emotion_intensity!r}")
        self.sample_rate, self.fps, self.seed = int(sample_rate), int(fps), int(seed)
        self.emotion, self.emotion_intensity = emotion, float(emotion_intensity)
        self._emotion = EmotionLayer.resolve(emotion, self.emotion_intensity)
        self.reference_f0 = float(reference_f0)
        self._tracks = TrackCache()

    def _check(self, timeline: PhonemeTimeline, frame_start: int, frame_end: int, audio: np.ndarray) -> None:
        if timeline.sample_rate != self.sample_rate:
            raise InvalidOptionError(
                f"timeline sample_rate {timeline.sample_rate} differs from the animator's {self.sample_rate}")
        if frame_start < 0 or frame_end < frame_start:
            raise InvalidOptionError(f"need 0 <= frame_start <= frame_end, got {frame_start}, {frame_end}")
        if audio.ndim != 1:
            raise InvalidOptionError(f"audio must be mono (1-D), got shape {audio.shape}")

    def animate(self, timeline: PhonemeTimeline, frame_start: int, frame_end: int,
                audio: np.ndarray, audio_offset: int) -> FaceFrames:
        """Frames [frame_start, frame_end); audio[0] is utterance sample ``audio_offset``."""
        audio = np.asarray(audio, dtype=np.float32)
        self._check(timeline, frame_start, frame_end, audio)
        if frame_end == frame_start:
            return FaceFrames.empty(frame_start, self.fps)
        frames = np.arange(frame_start, frame_end, dtype=np.int64)
        t = frames / self.fps
        track = self._tracks.get(timeline)
        emo = self._emotion

        frame_samples = (frames * self.sample_rate) // self.fps
        loudness = frame_loudness(audio, audio_offset, frame_samples, self.sample_rate)
        art = articulate(track, frames, self.fps)
        features = art.features.copy()
        gain = 0.25 + 0.75 * loudness
        features[:, JAW] = np.minimum(features[:, JAW] * gain * emo.jaw_scale, JAW_MAX) + emo.jaw_offset
        features[:, LOWER] *= gain
        features = impose_lip_targets(features, art.closure, art.labiodental)
        visemes = shape_visemes(art.visemes, loudness, art.closure, art.labiodental)

        blendshapes = mouth_blendshapes(features)
        blendshapes[:, ARKIT_INDEX["jawOpen"]] = features[:, JAW]
        gaze = gaze_angles(self.seed, t)
        gaze[:, 0] += emo.gaze_pitch
        _eye_blendshapes(blendshapes, blink_curve(track, self.seed, t, emo.blink_rate), gaze)
        brows = brow_raise(track, self.seed, t)
        if self.reference_f0 > 0:
            pitch_raise = pitch_brow_raise(frame_f0(audio, audio_offset, frame_samples, self.sample_rate),
                                           self.reference_f0)
            brows = np.maximum(brows, pitch_raise[:, None] * np.array([0.9, 1.0, 1.0]))
        for col, name in enumerate(("browInnerUp", "browOuterUpLeft", "browOuterUpRight")):
            blendshapes[:, ARKIT_INDEX[name]] = brows[:, col]
        blendshapes = emo.apply(blendshapes)
        blendshapes = enforce_lip_targets(blendshapes, art.closure, art.labiodental, features[:, CLOSURE])

        head = head_rotation(track, self.seed, t, emo.head_energy, emo.head_pitch)
        eyes = np.concatenate([gaze, gaze], axis=1)  # leftPitch, leftYaw, rightPitch, rightYaw
        return FaceFrames(
            start_frame=int(frame_start), fps=self.fps,
            visemes=np.clip(visemes, 0.0, 1.0).astype(np.float32),
            blendshapes=np.clip(blendshapes, 0.0, 1.0).astype(np.float32),
            head=head.astype(np.float32),
            eyes=eyes.astype(np.float32),
        )
