"""Face detection and MediaPipe's face mesh (468 points, 478 with the eyes refined by the Iris model), run
with LiteRT on the models from the mediapipe 0.10.14 wheel (installed by `make install`; see docs/sync-check.md).

    from avatarlab.facemesh import find_faces
    faces = find_faces(rgb_image)          # best first: Face(detection, mesh)
    mouth = faces[0].mesh.points[[13, 14]]  # inner lips, image pixels
    irises = faces[0].mesh.irises           # (2, 5, 3): each iris centre and edges
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detect import FULL_RANGE, SHORT_RANGE, Detection, DetectorSpec, detect_faces, detection_rect
from .geometry import Rect
from .iris import EyeLandmarks, refine_mesh
from .landmarks import MIN_PRESENCE, FaceMesh, face_mesh
from .models import FaceModelMissingError

__all__ = ["FULL_RANGE", "SHORT_RANGE", "Detection", "DetectorSpec", "EyeLandmarks", "Face", "FaceMesh",
           "FaceModelMissingError", "Rect", "detect_faces", "detection_rect", "face_mesh", "find_faces", "refine_mesh"]


@dataclass(frozen=True)
class Face:
    detection: Detection
    mesh: FaceMesh


def find_faces(image: np.ndarray, spec: DetectorSpec = SHORT_RANGE, refine_eyes: bool = True) -> list[Face]:
    """Every face the detector finds in an (h, w, 3) uint8 RGB image, with its mesh, best first: 478 points
    (eyes refined, irises added), or the mesh model's own 468 with ``refine_eyes=False``.

    Faces whose crop the landmark model says holds no face are dropped.
    """
    image = np.ascontiguousarray(np.asarray(image)[..., :3], dtype=np.uint8)
    faces = []
    for detection in detect_faces(image, spec):
        mesh = face_mesh(image, detection_rect(detection), refine_eyes)
        if mesh.presence >= MIN_PRESENCE:
            faces.append(Face(detection, mesh))
    return faces
