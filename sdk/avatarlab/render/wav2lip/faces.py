"""The face side of the Wav2Lip pipeline: a box per frame, smoothed over time, padded, cropped to 96x96, and the
model's face pasted back through a feathered mask over the lower face only.

Boxes come from MediaPipe's BlazeFace detector (avatarlab.facemesh, the models the photo avatar uses), the largest
face of each frame. The original inference uses S3FD boxes, pads them (top 0, bottom 10, left 0, right 0 px: more
below the chin) and smooths them with a 5-frame mean; we do the same with a centred 5-frame window. Frames where no
face is found take the box interpolated between their neighbours (the original stops with an error instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ...facemesh.geometry import Rect, crop
from .errors import Wav2LipError

#: The model's face size (pixels a side).
FACE_SIZE = 96
#: Pixels added around each box: top, bottom, left, right (Wav2Lip's inference default --pads 0 10 0 0).
DEFAULT_PADS = (0, 10, 0, 0)
#: Frames in the moving mean that smooths the boxes (Wav2Lip's inference: 5).
SMOOTH_WINDOW = 5
#: The pasted region inside the box, as fractions of its height / width: the model redraws the lower half (its
#: input's lower half is masked); the mask ramps from 0 to 1 over FEATHER of the box at every edge of that region.
MASK_TOP = 0.5
FEATHER = 0.12


class Wav2LipFaceError(Wav2LipError, ValueError):
    """No face to lip-sync, or one too small for the model."""


@dataclass(frozen=True)
class FaceTrack:
    """One integer box (x0, y0, x1, y1) per frame, and which frames had no face of their own (interpolated)."""

    boxes: np.ndarray  # (n, 4) int64
    missing: np.ndarray  # (n,) bool

    @property
    def interpolated(self) -> int:
        return int(self.missing.sum())


def largest_face(image: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box of the largest face BlazeFace finds in an RGB frame, or None."""
    from ...facemesh import detect_faces

    faces = detect_faces(np.ascontiguousarray(image[..., :3]))
    if not faces:
        return None
    return max(faces, key=lambda face: face.size).box


def fill_missing(boxes: list[tuple[float, float, float, float] | None]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) float boxes with each None replaced by the linear interpolation of its nearest found neighbours
    (the nearest one before the first or after the last), and the (n,) mask of the replaced ones."""
    missing = np.array([box is None for box in boxes], dtype=bool)
    if missing.all():
        raise Wav2LipFaceError("no face found in any frame of the face image or video; give a picture of a person "
                               "facing the camera")
    found = np.flatnonzero(~missing)
    values = np.array([boxes[index] for index in found], dtype=np.float64)
    frames = np.arange(len(boxes))
    filled = np.stack([np.interp(frames, found, values[:, k]) for k in range(4)], axis=1)
    return filled, missing


def smooth(boxes: np.ndarray, window: int = SMOOTH_WINDOW) -> np.ndarray:
    """Each box replaced by the mean of the ``window`` boxes centred on it (fewer at the ends): less jitter."""
    if window <= 1 or len(boxes) < 2:
        return boxes.astype(np.float64)
    half = window // 2
    cumulative = np.concatenate([np.zeros((1, boxes.shape[1])), np.cumsum(boxes, axis=0)])
    starts = np.clip(np.arange(len(boxes)) - half, 0, len(boxes))
    ends = np.clip(np.arange(len(boxes)) + half + 1, 0, len(boxes))
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)[:, None]


def padded(boxes: np.ndarray, pads: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """Boxes grown by ``pads`` (top, bottom, left, right), rounded to whole pixels and kept inside the frame."""
    top, bottom, left, right = pads
    x0 = np.clip(np.round(boxes[:, 0] - left), 0, width - 1)
    y0 = np.clip(np.round(boxes[:, 1] - top), 0, height - 1)
    x1 = np.clip(np.round(boxes[:, 2] + right), x0 + 1, width)
    y1 = np.clip(np.round(boxes[:, 3] + bottom), y0 + 1, height)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)


def track(frames: Iterable[np.ndarray], pads: tuple[int, int, int, int] = DEFAULT_PADS,
          window: int = SMOOTH_WINDOW, detect: Callable[[np.ndarray], tuple | None] = largest_face) -> FaceTrack:
    """Detect, fill, smooth and pad a box per frame; Wav2LipFaceError for no face at all or one under 96 px."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    filled, missing = fill_missing([detect(frame) for frame in frames])
    boxes = padded(smooth(filled, window), pads, width, height)
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    side = int(np.median(sides))
    if side < FACE_SIZE:
        raise Wav2LipFaceError(f"the face is {side} px across; Wav2Lip needs a face of at least {FACE_SIZE} px: "
                               "give a larger or closer picture")
    return FaceTrack(boxes, missing)


def crop_face(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The box of an RGB frame resized to (96, 96, 3) uint8 (bilinear, like the original's cv2.resize)."""
    x0, y0, x1, y1 = (float(value) for value in box)
    rect = Rect((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
    return np.clip(np.round(crop(image[..., :3], rect, FACE_SIZE, border="replicate")), 0, 255).astype(np.uint8)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of an (h, w, c) float array to (height, width, c), pixel centres aligned."""
    source_h, source_w = image.shape[:2]
    ys = np.clip((np.arange(height) + 0.5) * source_h / height - 0.5, 0, source_h - 1)
    xs = np.clip((np.arange(width) + 0.5) * source_w / width - 0.5, 0, source_w - 1)
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, source_h - 1), np.minimum(x0 + 1, source_w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def _ramp(count: int, start: float, end: float, feather: float) -> np.ndarray:
    """1 between ``start`` and ``end`` (fractions of ``count`` pixels, 0 the first, 1 the last), smoothly 0 at and
    outside them: the box's edge pixels are never changed."""
    centres = np.arange(count) / max(count - 1, 1)
    rise = np.clip((centres - start) / feather, 0, 1)
    fall = np.clip((end - centres) / feather, 0, 1)
    value = np.minimum(rise, fall)
    return value * value * (3 - 2 * value)  # smoothstep: no visible edge where the ramp meets 1


def lower_face_mask(width: int, height: int, top: float = MASK_TOP, feather: float = FEATHER) -> np.ndarray:
    """(height, width) weights in [0, 1] over a box: 0 on its upper part and its border, 1 over the mouth and chin."""
    rows = _ramp(height, top, 1.0, feather)
    columns = _ramp(width, 0.0, 1.0, feather)
    return rows[:, None] * columns[None, :]


def paste(frame: np.ndarray, face: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The frame (h, w, 3 or 4 uint8) with the model's face ((96, 96, 3) float in [0, 1], RGB) blended into the box
    through lower_face_mask. Every pixel where the mask is 0 is the input's, byte for byte."""
    x0, y0, x1, y1 = (int(value) for value in box)
    mask = lower_face_mask(x1 - x0, y1 - y0)
    rows, columns = np.nonzero(mask > 0)
    out = frame.copy()
    if len(rows) == 0:
        return out
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    weights = mask[top:bottom, left:right, None]
    scaled = resize(face.astype(np.float32) * 255.0, x1 - x0, y1 - y0)[top:bottom, left:right]
    region = out[y0 + top:y0 + bottom, x0 + left:x0 + right, :3]
    blended = np.clip(np.round(region * (1 - weights) + scaled * weights), 0, 255).astype(np.uint8)
    inside = weights[..., 0] > 0
    region[inside] = blended[inside]
    return out


def pasted_region(frame_shape: tuple[int, ...], box: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pixels paste() may change for this box (the rest stay the input's)."""
    x0, y0, x1, y1 = (int(value) for value in box)
    region = np.zeros(frame_shape[:2], dtype=bool)
    region[y0:y1, x0:x1] = lower_face_mask(x1 - x0, y1 - y0) > 0
    return region
