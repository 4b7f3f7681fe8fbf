"""Curves to render and the audio they belong to, with the clients' timing rule.

Video frame i shows the curves at t = i / fps of the audio (the clients' ``frameAt``): curve frame ``t * curve_fps``,
linearly interpolated between its neighbours and clamped at both ends (``interpolationIndices``). A video has
ceil(num_samples * fps / sample_rate) frames, the same count rule as the curves JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..animation import FaceFrames
from ..channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES
from .errors import CurvesError
from .rig import ALL_CHANNELS, CHANNEL_INDEX

_GROUPS = ("visemes", "blendshapes", "head", "eyes")
#: The rate a curves JSON without ``sample_rate`` has its audio decoded at.
FALLBACK_SAMPLE_RATE = 48000


@dataclass
class Curves:
    """Frames of every channel (indexed like ALL_CHANNELS) at ``fps``, and the mono float audio they animate."""

    fps: int
    values: np.ndarray  # (frames, len(ALL_CHANNELS)) float32
    audio: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    label: str = "line"

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise CurvesError(f"{self.label}: the curves have no frames")
        if len(self.audio) == 0:
            raise CurvesError(f"{self.label}: the audio has no samples")

    @property
    def num_samples(self) -> int:
        return len(self.audio)

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    def video_frames(self, fps: int) -> int:
        """ceil(num_samples * fps / sample_rate): every frame whose time i / fps falls inside the audio."""
        return max(1, -(-self.num_samples * fps // self.sample_rate))

    def at(self, t: float) -> np.ndarray:
        """Every channel at ``t`` seconds of the audio, as the clients sample it."""
        frame = t * self.fps
        last = len(self.values) - 1
        if not frame > 0:
            return self.values[0].copy()
        if frame >= last:
            return self.values[last].copy()
        i0 = int(np.floor(frame))
        w = np.float32(frame - i0)
        return (1 - w) * self.values[i0] + w * self.values[i0 + 1]

    @classmethod
    def from_frames(cls, frames: FaceFrames, audio: np.ndarray, sample_rate: int, label: str = "line") -> Curves:
        values = np.concatenate([frames.visemes, frames.blendshapes, frames.head, frames.eyes], axis=1)
        return cls(frames.fps, values.astype(np.float32), np.asarray(audio, np.float32), sample_rate, label)

    @classmethod
    def from_utterance(cls, utterance: Any, label: str | None = None) -> Curves:
        """An Engine.speak / lipsync Utterance (its frames must start at frame 0)."""
        if utterance.frames.start_frame != 0:
            raise CurvesError("the utterance's frames must start at frame 0 (a whole line, not a streamed chunk)")
        return cls.from_frames(utterance.frames, utterance.audio, utterance.sample_rate, label or "line")


def _group(document: dict, key: str, expected: tuple[str, ...], num_frames: int | None, label: str
           ) -> tuple[list[str], np.ndarray] | None:
    block = document.get(key)
    if block is None:
        return None
    try:
        names = [str(n) for n in block["names"]]
        frames = np.asarray(block["frames"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as error:
        raise CurvesError(f"{label}: '{key}' must be {{\"names\": [...], \"frames\": [[...], ...]}} with numbers "
                          f"({error})") from error
    if frames.ndim != 2 or frames.shape[1] != len(names):
        raise CurvesError(f"{label}: every row of '{key}.frames' needs {len(names)} values (one per name), got "
                          f"shape {frames.shape}")
    if num_frames is not None and len(frames) != num_frames:
        raise CurvesError(f"{label}: '{key}' has {len(frames)} frames but num_frames says {num_frames}")
    if not np.isfinite(frames).all():
        raise CurvesError(f"{label}: '{key}' holds NaN or infinite values")
    return names, frames


def parse_curves_json(document: Any, label: str) -> tuple[int, np.ndarray, dict[str, Any]]:
    """(fps, values indexed like ALL_CHANNELS, the rest of the header) from a curves JSON document."""
    if not isinstance(document, dict):
        raise CurvesError(f"{label} is not a curves JSON object (docs/curves-json.md)")
    fps = document.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= 1000:
        raise CurvesError(f"{label}: 'fps' must be a whole number of frames per second, got {fps!r}")
    num_frames = document.get("num_frames")
    groups = {key: _group(document, key, expected, num_frames if isinstance(num_frames, int) else None, label)
              for key, expected in zip(_GROUPS, (OCULUS_VISEMES, ARKIT_BLENDSHAPES, HEAD_CHANNELS, EYE_CHANNELS))}
    present = {key: group for key, group in groups.items() if group is not None}
    lengths = {len(frames) for _, frames in present.values()}
    if not present or 0 in lengths:
        raise CurvesError(f"{label} has no curves: it needs at least one of {', '.join(_GROUPS)} with frames")
    if len(lengths) > 1:
        raise CurvesError(f"{label}: the channel groups have different frame counts ({sorted(lengths)})")
    count = lengths.pop()
    values = np.zeros((count, len(ALL_CHANNELS)), np.float32)
    known = 0
    for names, frames in present.values():
        for column, name in enumerate(names):
            if name in CHANNEL_INDEX:
                values[:, CHANNEL_INDEX[name]] = frames[:, column]
                known += 1
    if known == 0:
        raise CurvesError(f"{label}: none of its channel names is one of ours (docs/curves-json.md lists them)")
    return fps, values, {k: v for k, v in document.items() if k not in _GROUPS}


def check_audio_length(fps: int, num_frames: int, header: dict[str, Any], num_samples: int, sample_rate: int,
                       label: str, audio_label: str) -> None:
    """The curves must cover the audio: num_frames within one frame of ceil(num_samples * fps / rate), and a
    declared duration within one frame of the audio's."""
    expected = -(-num_samples * fps // sample_rate)
    audio_s = num_samples / sample_rate
    declared = header.get("num_samples"), header.get("sample_rate")
    if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in declared):
        declared_s = declared[0] / declared[1]
        if abs(declared_s - audio_s) > 1.0 / fps:
            raise CurvesError(f"{label} was made for {declared_s:.3f} s of audio but {audio_label} lasts "
                              f"{audio_s:.3f} s; give the audio the curves were made from")
    if abs(num_frames - expected) > 1:
        raise CurvesError(f"{label} has {num_frames} frames at {fps} fps ({num_frames / fps:.3f} s) but "
                          f"{audio_label} lasts {audio_s:.3f} s ({expected} frames); give the audio the curves "
                          "were made from")


def load_curves(path: str | Path, audio: str | Path | None = None) -> Curves:
    """A curves JSON (ours or the user's own, docs/curves-json.md) and its audio: ``audio``, else the file its
    'audio' field names beside it. Raises CurvesError, InvalidAudioError."""
    from ..lipsync.audio_input import InvalidAudioError, load_audio

    path = Path(path)
    label = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CurvesError(f"cannot read curves {path}: {error.strerror}") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise CurvesError(f"{path} is not JSON ({error}); give a curves JSON (docs/curves-json.md)") from error
    fps, values, header = parse_curves_json(document, label)
    if audio is None:
        named = header.get("audio")
        if not isinstance(named, str) or not named:
            raise CurvesError(f"{path} names no audio file; give one with --audio")
        audio = path.parent / named
    rate = header.get("sample_rate")
    rate = rate if isinstance(rate, int) and not isinstance(rate, bool) and 8000 <= rate <= 192000 \
        else FALLBACK_SAMPLE_RATE
    try:
        samples = load_audio(audio, rate)
    except InvalidAudioError as error:
        raise InvalidAudioError(f"{error} (the audio for {path.name})") from error
    check_audio_length(fps, len(values), header, len(samples), rate, label, str(audio))
    return Curves(fps, values, samples, rate, path.stem)
