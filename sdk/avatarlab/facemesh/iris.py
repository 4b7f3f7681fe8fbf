"""MediaPipe's Iris model (iris_landmark.tflite) refines the face mesh's eyes: 468 points -> 478.

The 468-point model draws coarse eyelids (it cannot shut them: a closed eye still reads about 0.15 eye aspect
ratio); the Iris model, run on a 64x64 crop of each eye, gives 71 eye-region points (eyelids, their halos
and the brow) and 5 iris points. As in MediaPipe's iris_tracking graph (iris_landmark_left_and_right_cpu,
iris_landmark_landmarks_to_roi, iris_landmark_cpu and UpdateFaceLandmarksCalculator):

- each eye's crop is the box of its two corners (33->133 on the image's left, 362->263 on its right), turned
  along the corner-to-corner line, squared on its long side and grown 2.3x; pixels outside the image repeat
  the edge; values 0..1;
- the model knows one eye only: the image-right eye (362/263) is mirrored left-right before the model and
  its outputs mirrored back (x -> 64 - x);
- the 71 contour points replace the face-mesh points listed in CONTOUR_INDICES (x and y); the 5 iris points
  of each eye follow the 468 (468-472 for 33/133's eye, 473-477 for 362/263's: centre, then four edges).

Depth follows MediaPipe's 478-point model (tensors_to_face_landmarks_with_attention.pbtxt), whose refinement
keeps the mesh's z on the 71 points and gives each iris the mean z of its eye's 16 eyelid points: the Iris
model's own z is relative to its eye crop, not the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Rect, crop, rotation_from
from .runtime import load

IRIS_MODEL = "iris_landmark.tflite"
INPUT_SIZE = 64
#: The eye crop is the corners' box grown this much (iris_landmark_landmarks_to_roi.pbtxt: scale_x/y 2.3).
ROI_SCALE = 2.3
#: Each eye's corners (start, end of the crop's rotation vector) and whether the model sees it mirrored.
EYE_CORNERS = ((33, 133, False), (362, 263, True))
#: Points of the 468 that each eye's 71 contour points replace, in the model's output order
#: (update_face_landmarks_calculator.cc): lower lid 9, upper lid 7 (no corners), then the halos and the brow.
CONTOUR_INDICES = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
     130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,
     226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,
     35, 124, 46, 53, 52, 65,
     143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
     359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
     446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
     265, 353, 276, 283, 282, 295,
     372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417),
)
#: The first 16 contour points are the eyelids proper (lower 9 with both corners, upper 7).
EYELID_POINTS = 16
CONTOUR_POINTS = 71
IRIS_POINTS = 5
#: Index of the first iris point of each eye in the refined 478 (its centre; edges follow).
IRIS_START = (468, 473)
REFINED_POINTS = 478


@dataclass(frozen=True)
class EyeLandmarks:
    """One eye from the Iris model, in image pixels (x right, y down, z as the model gives it, scaled like x):
    the 71 contour points, the 5 iris points (centre, then four edges) and the crop they came from."""

    contour: np.ndarray
    iris: np.ndarray
    rect: Rect


def eye_rect(points: np.ndarray, start: int, end: int) -> Rect:
    """The Iris model's crop for the eye whose corners are ``start`` and ``end`` (indices into the 468):
    their box, turned along start->end, squared on its long side and grown 2.3x."""
    a, b = points[start, :2], points[end, :2]
    (x0, y0), (x1, y1) = np.minimum(a, b), np.maximum(a, b)
    rect = Rect(float(x0 + x1) / 2, float(y0 + y1) / 2, float(x1 - x0), float(y1 - y0), rotation_from(a, b))
    return rect.scaled(ROI_SCALE)


def eye_landmarks(image: np.ndarray, rect: Rect, mirrored: bool) -> EyeLandmarks:
    """Runs the Iris model on ``rect`` of an (h, w, 3) uint8 RGB image (mirrored for the image-right eye)."""
    tensor = crop(image, rect, INPUT_SIZE, border="replicate") / 255.0  # the model wants 0..1
    if mirrored:
        tensor = tensor[:, ::-1]
    outputs = load(IRIS_MODEL).run(np.ascontiguousarray(tensor))
    contour = next(v for v in outputs.values() if v.size == CONTOUR_POINTS * 3)
    iris = next(v for v in outputs.values() if v.size == IRIS_POINTS * 3)
    return EyeLandmarks(_unproject(contour, rect, mirrored), _unproject(iris, rect, mirrored), rect)


def _unproject(raw: np.ndarray, rect: Rect, mirrored: bool) -> np.ndarray:
    """Model output (n, 3) in 64-pixel crop units -> image pixels, un-mirroring x first."""
    raw = np.asarray(raw, dtype=np.float64).reshape(-1, 3).copy()
    if mirrored:
        raw[:, 0] = INPUT_SIZE - raw[:, 0]
    xy = rect.to_image(raw[:, :2] / INPUT_SIZE)
    return np.concatenate([xy, raw[:, 2:3] / INPUT_SIZE * rect.width], axis=1)


def refine_mesh(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, tuple[EyeLandmarks, ...]]:
    """The 468 face-mesh points of ``image`` -> the refined 478 (eye contours replaced, 10 iris points added)
    and the two eyes as the Iris model saw them (33/133's eye first)."""
    refined = np.array(points[:468], dtype=np.float64)
    irises, eyes = [], []
    for (start, end, mirrored), indices in zip(EYE_CORNERS, CONTOUR_INDICES):
        eye = eye_landmarks(image, eye_rect(points, start, end), mirrored)
        lids = list(indices[:EYELID_POINTS])
        iris = eye.iris.copy()
        iris[:, 2] = refined[lids, 2].mean()  # before the lids move: their z is the mesh's either way
        refined[list(indices), :2] = eye.contour[:, :2]
        irises.append(iris)
        eyes.append(eye)
    return np.concatenate([refined, *irises]), tuple(eyes)
