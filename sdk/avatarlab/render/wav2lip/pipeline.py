"""``Wav2LipRenderer``: a face photo or video plus a line's audio -> an MP4 of that face saying the line.

Per output frame i (at the photo's ``fps``, or the face video's own rate): the face box of its source frame
(faces.py: detected, gaps interpolated, smoothed, padded), the 96x96 crop with its lower half blanked stacked
with the crop itself, and the 16 mel frames from int(i * 80 / fps) (audio.py) go through the model in batches;
its face is pasted back through a feathered lower-face mask and the frame piped to the project's MP4 writer
(encoder.VideoEncoder: H.264 + the audio sample for sample, written to a hidden file and renamed at the end).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidOptionError
from .audio import MAX_AUDIO_SECONDS, load as load_audio_input, mel_chunks, melspectrogram, resample, video_frames
from .errors import Wav2LipError
from .faces import DEFAULT_PADS, FACE_SIZE, FaceTrack, crop_face, paste, track

#: Face files read as a still picture (anything else is read as a video).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
#: Frame rate of a render from a still picture (the rate Wav2Lip was trained at).
DEFAULT_FPS = 25
#: Faces through the model at once (the original: 128 on a GPU; 16 keeps CPU memory small).
BATCH_SIZE = 16
LOOP_MODES = ("pingpong", "repeat")
#: Most memory the face video's frames may take (they are held for looping and for the box smoothing).
MAX_FACE_VIDEO_BYTES = 4 << 30

FaceInput = Any  # a path (image or video) or an (h, w, 3|4) uint8 RGB(A) array


@dataclass
class Wav2LipResult:
    """What a render wrote, and where its time went (seconds per stage: detection, model, paste, encoding)."""

    path: Path
    frames: int
    fps: float
    duration_s: float  # of the audio
    interpolated: int  # source frames whose face box was interpolated (no face found in them)
    source_frames: int
    elapsed_s: float
    device: str
    stages: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        gaps = f"; no face in {self.interpolated} of {self.source_frames} source frames (boxes interpolated)" \
            if self.interpolated else ""
        speed = self.frames / self.elapsed_s if self.elapsed_s > 0 else float("inf")
        return (f"{self.frames} frames at {self.fps:g} fps ({self.duration_s:.2f} s) lip-synced in "
                f"{self.elapsed_s:.1f} s: {speed:.1f} frames/s on {self.device}{gaps}")


@dataclass
class Plan:
    """Everything a render needs before the model runs: source frames, their boxes, the order they play in,
    the mel window per output frame and the audio to mux."""

    frames: list[np.ndarray]  # source frames, RGB uint8 (even width and height)
    track: FaceTrack
    crops: np.ndarray  # (source frames, 96, 96, 3) uint8 RGB
    order: np.ndarray  # source frame index per output frame
    mels: np.ndarray  # (output frames, 1, 80, 16) float32
    samples: np.ndarray
    sample_rate: int
    fps: float
    detection_s: float

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.frames[0].shape[:2]
        return width, height


def frame_order(count: int, available: int, loop: str = "pingpong") -> np.ndarray:
    """Which source frame each of ``count`` output frames shows: the first ``count`` when the video is long
    enough (cut), else looped: ``repeat`` starts over, ``pingpong`` plays back and forth (no jump)."""
    if loop not in LOOP_MODES:
        raise InvalidOptionError(f"loop must be one of {', '.join(LOOP_MODES)}, got {loop!r}", "loop")
    indices = np.arange(count)
    if available >= count:
        return indices
    if loop == "repeat" or available == 1:
        return indices % available
    period = 2 * available - 2
    phase = indices % period
    return np.where(phase < available, phase, period - phase)


def _even(image: np.ndarray) -> np.ndarray:
    """RGB with even width and height (H.264 4:2:0 needs them): an odd last row or column is dropped."""
    height, width = image.shape[:2]
    return np.ascontiguousarray(image[:height - height % 2, :width - width % 2, :3])


def read_face(face: FaceInput, limit: int) -> tuple[list[np.ndarray], float | None]:
    """Up to ``limit`` RGB frames of a picture (one frame, no rate) or a video (its rate)."""
    if isinstance(face, np.ndarray):
        if face.ndim != 3 or face.shape[2] not in (3, 4) or face.dtype != np.uint8:
            raise Wav2LipError(f"a face image must be (height, width, 3 or 4) uint8, got {face.shape} {face.dtype}")
        return [_even(face)], None
    path = Path(face)
    if not path.is_file():
        raise Wav2LipError(f"face file {path} does not exist or is not a file; give a photo or a video of a face")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from ..images import read_image

        return [_even(read_image(path))], None
    return _read_video(path, limit)


def _read_video(path: Path, limit: int) -> tuple[list[np.ndarray], float]:
    from ...sync_check.video import SyncCheckError, probe, read_frames

    try:
        info = probe(path)
    except SyncCheckError as error:
        raise Wav2LipError(str(error)) from error
    frame_bytes = info.width * info.height * 3
    frames = []
    for image in read_frames(info):
        if len(frames) >= limit:
            break
        if (len(frames) + 1) * frame_bytes > MAX_FACE_VIDEO_BYTES:
            raise Wav2LipError(f"{path} is too large to hold: over {MAX_FACE_VIDEO_BYTES >> 30} GiB of frames at "
                               f"{info.width}x{info.height}; give a shorter or smaller face video")
        frames.append(_even(image))
    if not frames:
        raise Wav2LipError(f"{path} has no video frames ffmpeg can decode; give a photo or a video of a face")
    fps = round(info.fps) if abs(info.fps - round(info.fps)) < 1e-3 else info.fps
    return frames, fps


def model_input(crops: np.ndarray) -> np.ndarray:
    """(n, 96, 96, 3) uint8 RGB crops -> (n, 6, 96, 96) float32 in [0, 1]: the crop with its lower half black,
    then the crop as reference, in BGR as the public weights were trained (the original reads with OpenCV)."""
    bgr = crops[..., ::-1].astype(np.float32) / 255.0
    masked = bgr.copy()
    masked[:, FACE_SIZE // 2:] = 0.0
    return np.ascontiguousarray(np.concatenate([masked, bgr], axis=3).transpose(0, 3, 1, 2))


def model_output(faces: np.ndarray) -> np.ndarray:
    """The model's (n, 3, 96, 96) BGR in [0, 1] -> (n, 96, 96, 3) RGB float32."""
    return np.ascontiguousarray(np.clip(faces, 0.0, 1.0).transpose(0, 2, 3, 1)[..., ::-1], dtype=np.float32)


class Wav2LipRenderer:
    """Lip-sync a face picture or video to a line with a Wav2Lip checkpoint the user brings (docs/wav2lip.md).

        renderer = Wav2LipRenderer("wav2lip_gan.pth", device="auto")
        renderer.render("portrait.jpg", "line.wav", "out/line.mp4")
    """

    def __init__(self, checkpoint: str | os.PathLike | Any, device: str = "auto", *, batch_size: int = BATCH_SIZE,
                 pads: tuple[int, int, int, int] = DEFAULT_PADS) -> None:
        if isinstance(checkpoint, (str, os.PathLike)):
            from . import Wav2LipModel

            self.model = Wav2LipModel.load(checkpoint, device=device)
        else:  # an object with predict(faces, mels), e.g. a loaded Wav2LipModel
            self.model = checkpoint
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidOptionError(f"batch_size must be a whole number >= 1, got {batch_size!r}", "batch_size")
        if len(pads) != 4:
            raise InvalidOptionError(f"pads are four pixel counts (top, bottom, left, right), got {pads!r}", "pads")
        self.batch_size = batch_size
        self.pads = tuple(int(pad) for pad in pads)

    @property
    def device(self) -> str:
        return str(getattr(self.model, "device", "cpu"))

    def plan(self, face: FaceInput, audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None, *,
             fps: float | None = None, loop: str = "pingpong", max_seconds: float = MAX_AUDIO_SECONDS) -> Plan:
        """Read the audio and the face, find the boxes and the mel windows (no model yet)."""
        if loop not in LOOP_MODES:
            raise InvalidOptionError(f"loop must be one of {', '.join(LOOP_MODES)}, got {loop!r}", "loop")
        samples, rate = load_audio_input(audio, sample_rate, max_seconds)
        if fps is not None and (not np.isfinite(fps) or not 1 <= fps <= 120):
            raise InvalidOptionError(f"fps must be between 1 and 120, got {fps!r}", "fps")
        still_fps = fps or DEFAULT_FPS
        limit = video_frames(len(samples), rate, 1.0) * 120  # more than any rate needs; the count is cut below
        frames, video_fps = read_face(face, limit)
        rate_fps = video_fps or still_fps
        count = video_frames(len(samples), rate, rate_fps)
        frames = frames[:count]
        started = time.perf_counter()
        faces = track(frames, self.pads)
        crops = np.stack([crop_face(frame, box) for frame, box in zip(frames, faces.boxes)])
        detection_s = time.perf_counter() - started
        mels = mel_chunks(melspectrogram(resample(samples, rate)), rate_fps, count)
        return Plan(frames, faces, crops, frame_order(count, len(frames), loop), mels, samples, rate, rate_fps,
                    detection_s)

    def iter_frames(self, plan: Plan, stages: dict[str, float] | None = None) -> Iterator[np.ndarray]:
        """The output frames in order, (h, w, 3) uint8 RGB, as handed to the encoder; model and paste time are
        added to ``stages`` when given."""
        stages = stages if stages is not None else {}
        for start in range(0, len(plan.order), self.batch_size):
            sources = plan.order[start:start + self.batch_size]
            began = time.perf_counter()
            faces = model_output(np.asarray(self.model.predict(model_input(plan.crops[sources]),
                                                               plan.mels[start:start + len(sources)])))
            pasted = time.perf_counter()
            stages["model"] = stages.get("model", 0.0) + pasted - began
            images = [paste(plan.frames[source], face, plan.track.boxes[source])
                      for source, face in zip(sources, faces)]
            stages["paste"] = stages.get("paste", 0.0) + time.perf_counter() - pasted
            yield from images

    def render(self, face: FaceInput, audio: str | os.PathLike | np.ndarray, out: str | os.PathLike, *,
               sample_rate: int | None = None, fps: float | None = None, loop: str = "pingpong",
               crf: int | None = None, progress: bool | Callable[[int, int], None] = False,
               max_seconds: float = MAX_AUDIO_SECONDS) -> Wav2LipResult:
        """Write ``out`` (.mp4: H.264 + AAC, the audio sample for sample). ``face``: a photo, a video (looped or
        cut to the audio: ``loop`` "pingpong" or "repeat") or an RGB array; ``audio``: a file or samples with
        ``sample_rate``; ``fps``: a photo's frame rate (default 25; a video keeps its own). Nothing is left
        under ``out`` unless the whole video was written."""
        from ..encoder import VideoEncoder
        from ..video import _progress

        out = Path(out)
        if out.suffix.lower() != ".mp4":
            raise InvalidOptionError(f"a Wav2Lip render writes an .mp4 file, got {out.name!r}", "out")
        if crf is not None and not 0 <= crf <= 51:
            raise InvalidOptionError(f"crf must be 0 to 51 for H.264, got {crf}", "crf")
        started = time.perf_counter()
        plan = self.plan(face, audio, sample_rate, fps=fps, loop=loop, max_seconds=max_seconds)
        stages = {"detection": plan.detection_s, "model": 0.0, "paste": 0.0, "encoding": 0.0}
        total = len(plan.order)
        bar, report = _progress(progress, total)
        try:
            with VideoEncoder(out, plan.size, plan.fps, plan.samples, plan.sample_rate, crf=crf,
                              metadata={"comment": "avatarlab wav2lip"}) as encoder:
                for index, image in enumerate(self.iter_frames(plan, stages)):
                    began = time.perf_counter()
                    buffer = encoder.frame_buffer()
                    buffer[..., :3] = image
                    encoder.write(buffer)
                    stages["encoding"] += time.perf_counter() - began
                    if report is not None:
                        report(index + 1, total)
                began = time.perf_counter()
                encoder.finish()
                stages["encoding"] += time.perf_counter() - began
        finally:
            if bar is not None:
                bar.close()
        return Wav2LipResult(out, total, plan.fps, len(plan.samples) / plan.sample_rate, plan.track.interpolated,
                             len(plan.frames), time.perf_counter() - started, self.device, stages)
