"""Landmarks to a 3D face in metres: the mesh's x, y and depth, turned to face +z by a pose fitted to its own
eye line and chin-to-forehead axis, scaled by a typical outer eye-corner distance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Outer eye corner to outer eye corner of an adult face, metres (bi-ectocanthal width, about 9 cm).
EYE_CORNER_SPAN = 0.09
RIGHT_CORNER, LEFT_CORNER, CHIN, FOREHEAD = 33, 263, 152, 10  # the subject's right and left outer eye corners


@dataclass(frozen=True)
class LiftedFace:
    positions: np.ndarray  # (468, 3) metres, x to the subject's left, y up, z towards the camera
    rotation: np.ndarray  # (3, 3) photo pose: photo frame -> head frame
    metres_per_pixel: float

    def yaw_pitch_roll(self) -> tuple[float, float, float]:
        """The photo's head pose in degrees (yaw: turned to the subject's left is positive)."""
        r = self.rotation.T  # head frame -> photo frame
        yaw = np.degrees(np.arctan2(r[0, 2], r[2, 2]))
        pitch = np.degrees(np.arcsin(np.clip(-r[1, 2], -1, 1)))
        roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
        return float(yaw), float(pitch), float(roll)


def lift(points: np.ndarray) -> LiftedFace:
    """(468, 3) image landmarks (x right, y down, z smaller nearer, all pixels) -> a frontal face in metres."""
    p = np.asarray(points, dtype=np.float64)[:468] * np.array([1.0, -1.0, -1.0])  # y up, z towards the camera
    across = p[LEFT_CORNER] - p[RIGHT_CORNER]
    x_axis = across / np.linalg.norm(across)
    up = p[FOREHEAD] - p[CHIN]
    y_axis = up - x_axis * float(up @ x_axis)
    y_axis /= np.linalg.norm(y_axis)
    rotation = np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)])
    scale = EYE_CORNER_SPAN / float(np.linalg.norm(across))
    centre = p.mean(axis=0)
    return LiftedFace((p - centre) @ rotation.T * scale, rotation, scale)
