"""`sync_check(video)`: face mesh on every frame, mouth opening against the audio, the offset and confidence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .analysis import (MAX_LAG_S, SIGNAL_RATE, Alignment, best_lag, correlate, mouth_opening, speech_envelope,
                       to_signal_rate)
from .video import AUDIO_RATE, SyncCheckError, VideoInfo, probe, read_audio, read_frames

#: Shortest video checked (seconds): every lag searched keeps a second of overlap.
MIN_SECONDS = 2.0
#: A video needs a face in at least this share of its frames.
MIN_FACE_SHARE = 0.5
#: Several faces: a second face in at least this share of the frames.
SEVERAL_FACES_SHARE = 0.5
#: A second detection counts as a face when at least this large relative to the first.
SECOND_FACE_MIN_SIZE = 0.3
#: Opening the curves expect from the visemes when they carry no jawOpen (Oculus viseme -> opening).
VISEME_OPENING = {"aa": 1.0, "E": 0.6, "ih": 0.45, "oh": 0.75, "ou": 0.45, "CH": 0.3, "DD": 0.3, "SS": 0.2,
                  "TH": 0.25, "kk": 0.35, "nn": 0.25, "RR": 0.35, "FF": 0.1}


@dataclass
class SyncResult:
    """The measured offset (offset_ms > 0: the sound comes after the mouth), how sure, and the signals."""

    path: Path
    offset_ms: float
    confidence: float
    reference: str  # "audio envelope", "transcript" or "curves"
    fps: float
    frames: int
    face_frames: int
    seconds: float  # video length
    elapsed_s: float
    openings: np.ndarray = field(repr=False)  # per frame, NaN where no face
    reference_signal: np.ndarray = field(repr=False)  # at SIGNAL_RATE
    alignment: Alignment = field(repr=False)

    @property
    def frame_ms(self) -> float:
        return 1000.0 / self.fps

    def summary(self) -> str:
        direction = "after" if self.offset_ms > 0 else "before"
        frames = abs(self.offset_ms) / self.frame_ms
        return (f"offset {self.offset_ms:+.0f} ms ({frames:.2f} frames: the sound comes {direction} the mouth), "
                f"confidence {self.confidence:.2f}, against the {self.reference}; {self.frames} frames, "
                f"face in {self.face_frames}, checked in {self.elapsed_s:.1f} s "
                f"({self.seconds / max(self.elapsed_s, 1e-9):.1f}x real time)")

    def to_json(self) -> dict:
        return {"video": str(self.path), "offset_ms": round(self.offset_ms, 1), "confidence": round(self.confidence, 3),
                "reference": self.reference, "fps": self.fps, "frames": self.frames, "face_frames": self.face_frames,
                "seconds": round(self.seconds, 3), "elapsed_s": round(self.elapsed_s, 3)}


def measure_openings(info: VideoInfo) -> tuple[np.ndarray, int]:
    """Mouth opening per frame (NaN where no face) and how many frames showed several faces."""
    from ..facemesh import detect_faces, detection_rect, face_mesh
    from ..facemesh.landmarks import MIN_PRESENCE

    openings, crowded = [], 0
    for image in read_frames(info):
        faces = detect_faces(image)
        if faces and len(faces) > 1 and faces[1].size >= SECOND_FACE_MIN_SIZE * faces[0].size:
            crowded += 1
        value = np.nan
        if faces:
            largest = max(faces, key=lambda face: face.size)
            mesh = face_mesh(image, detection_rect(largest))
            if mesh.presence >= MIN_PRESENCE:
                value = mouth_opening(mesh.points)
        openings.append(value)
    return np.asarray(openings, np.float64), crowded


def expected_from_curves(path: Path, audio: np.ndarray) -> np.ndarray:
    """The openings a curves JSON expects (jawOpen, or the visemes' openings), at SIGNAL_RATE on the video's
    clock: the curves' own audio (the file the JSON names) is found in the video's audio by the best match of
    their loudness envelopes, so the curves start where their sound starts."""
    from ..render.curves import load_curves
    from ..render.rig import CHANNEL_INDEX

    line = load_curves(path)
    values = line.values
    opening = values[:, CHANNEL_INDEX["jawOpen"]].astype(np.float64)
    if not opening.any():
        opening = sum(values[:, CHANNEL_INDEX[name]] * weight for name, weight in VISEME_OPENING.items())
    start = locate(speech_envelope(line.audio, line.sample_rate), speech_envelope(audio, AUDIO_RATE))
    return to_signal_rate(opening, line.fps, start, len(audio) / AUDIO_RATE)


def locate(part: np.ndarray, whole: np.ndarray) -> float:
    """Where (seconds, may be negative) the envelope ``part`` best matches inside ``whole``."""
    a = (part - part.mean()) / max(part.std(), 1e-12)
    b = (whole - whole.mean()) / max(whole.std(), 1e-12)
    scores = np.correlate(np.pad(b, len(a)), a, mode="valid")
    index = int(np.argmax(scores))
    shift = float(index)
    if 0 < index < len(scores) - 1:
        left, centre, right = scores[index - 1:index + 2]
        if left - 2 * centre + right < 0:
            shift += 0.5 * (left - right) / (left - 2 * centre + right)
    return (shift - len(a)) / SIGNAL_RATE


def expected_from_transcript(audio: np.ndarray, transcript: str, fps: int = 100) -> np.ndarray:
    """The openings the lip-sync alignment of ``transcript`` to the audio gives (jawOpen), at SIGNAL_RATE."""
    from ..lipsync import lipsync

    utterance = lipsync(audio, transcript, sample_rate=AUDIO_RATE, fps=fps)
    from ..channels import ARKIT_BLENDSHAPES

    opening = utterance.frames.blendshapes[:, ARKIT_BLENDSHAPES.index("jawOpen")]
    return to_signal_rate(opening, fps, 0.0, len(audio) / AUDIO_RATE)


def sync_check(video: str | Path, transcript: str | None = None, curves: str | Path | None = None) -> SyncResult:
    """Measure a talking-face video's audio-to-mouth offset. Raises SyncCheckError for a file that is not a
    video, no audio track, no face or several faces."""
    started = time.perf_counter()
    info = probe(Path(video))
    audio = read_audio(info)
    if len(audio) < MIN_SECONDS * AUDIO_RATE:
        raise SyncCheckError(f"{info.path} is {len(audio) / AUDIO_RATE:.2f} s long; sync-check needs at least "
                             f"{MIN_SECONDS:g} s of talking to compare lags of +-{MAX_LAG_S * 1000:.0f} ms")
    openings, crowded = measure_openings(info)
    frames = len(openings)
    if frames == 0:
        raise SyncCheckError(f"{info.path} has no video frames")
    face_frames = int(np.isfinite(openings).sum())
    if face_frames < MIN_FACE_SHARE * frames:
        raise SyncCheckError(f"no face found in {info.path} ({face_frames} of {frames} frames show one); "
                             "sync-check needs a talking face facing the camera")
    if crowded >= SEVERAL_FACES_SHARE * frames:
        raise SyncCheckError(f"several faces in {info.path} ({crowded} of {frames} frames show two or more); "
                             "sync-check needs one talking face: crop the video to the speaker")
    seconds = len(audio) / AUDIO_RATE
    if curves is not None:
        reference, label = expected_from_curves(Path(curves), audio), "curves"
    elif transcript is not None and transcript.strip():
        reference, label = expected_from_transcript(audio, transcript), "transcript"
    else:
        reference, label = speech_envelope(audio, AUDIO_RATE), "audio envelope"
    mouth = to_signal_rate(openings, info.fps, 0.0, frames / info.fps)
    alignment = best_lag(*correlate(mouth, reference))
    return SyncResult(info.path, alignment.offset_s * 1000.0, alignment.confidence, label, info.fps, frames,
                      face_frames, max(frames / info.fps, seconds), time.perf_counter() - started, openings,
                      reference, alignment)
