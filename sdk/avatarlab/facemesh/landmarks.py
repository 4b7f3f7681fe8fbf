"""MediaPipe's face mesh: 468 landmarks (face_landmark.tflite) from a rotated 192x192 crop of the face,
un-projected to image pixels, and on request 478: the eyes refined and the irises added by the Iris model
(iris.py), as MediaPipe's iris_tracking graph does.

The 478-point model with irises (face_landmark_with_attention.tflite) needs MediaPipe's custom TFLite op
Landmarks2TransformMatrix, which LiteRT does not have, so it is installed but not run (docs/sync-check.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Rect, crop, rotation_from
from .iris import EyeLandmarks, refine_mesh
from .runtime import load

INPUT_SIZE = 192
MESH_MODEL = "face_landmark.tflite"
#: Below this face-presence probability the crop holds no face.
MIN_PRESENCE = 0.5
#: Mesh points that fix the next frame's crop: the outer eye corners (33 on the image's left, 263 right).
EYE_CORNERS = (33, 263)


@dataclass(frozen=True)
class FaceMesh:
    """Landmarks in image pixels (x right, y down, z depth in pixels, smaller is nearer): (468, 3), or (478, 3)
    with the eyes refined (the 10 iris points last); the crop they came from, the model's face-presence
    probability and, when refined, the two eyes as the Iris model saw them (33/133's eye first)."""

    points: np.ndarray
    rect: Rect
    presence: float
    eyes: tuple[EyeLandmarks, ...] | None = None

    @property
    def irises(self) -> np.ndarray | None:
        """(2, 5, 3): each eye's iris centre then its four edges (33/133's eye first); None when not refined."""
        return None if self.eyes is None else self.points[468:478].reshape(2, 5, 3)

    def next_rect(self) -> Rect:
        """The crop for the following video frame (MediaPipe's face_landmark_landmarks_to_roi): the landmarks'
        bounding box, turned by the angle from eye corner 33 to eye corner 263, squared and grown 1.5x."""
        xy = self.points[:468, :2]
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        rotation = rotation_from(xy[EYE_CORNERS[0]], xy[EYE_CORNERS[1]])
        return Rect(float(x0 + x1) / 2, float(y0 + y1) / 2, float(x1 - x0), float(y1 - y0), rotation).scaled(1.5)


def unproject(raw: np.ndarray, rect: Rect) -> np.ndarray:
    """Model output (n, 3) in 192-pixel crop units -> image pixels; depth scaled like x."""
    raw = np.asarray(raw, dtype=np.float64).reshape(-1, 3)
    xy = rect.to_image(raw[:, :2] / INPUT_SIZE)
    z = raw[:, 2:3] / INPUT_SIZE * rect.width
    return np.concatenate([xy, z], axis=1)


def face_mesh(image: np.ndarray, rect: Rect, refine_eyes: bool = False) -> FaceMesh:
    """The 468 landmarks of the face inside ``rect`` of an (h, w, 3) uint8 RGB image; with ``refine_eyes``
    (and a face present) the 478, which costs the Iris model twice (docs/sync-check.md)."""
    model = load(MESH_MODEL)
    tensor = crop(image, rect, INPUT_SIZE, border="replicate") / 255.0  # the model wants 0..1
    outputs = model.run(tensor)
    mesh = next(v for k, v in outputs.items() if v.size == 468 * 3)
    flag = next(v for k, v in outputs.items() if v.size == 1)
    presence = float(1.0 / (1.0 + np.exp(-float(flag.reshape(-1)[0]))))
    points = unproject(mesh, rect)
    if refine_eyes and presence >= MIN_PRESENCE:
        refined, eyes = refine_mesh(image, points)
        return FaceMesh(refined, rect, presence, eyes)
    return FaceMesh(points, rect, presence)

