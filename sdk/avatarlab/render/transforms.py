"""4x4 and 3x3 transform helpers (column vectors, right-handed, +Y up, avatars face +Z)."""

from __future__ import annotations

import numpy as np


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    """(x, y, z, w) -> 3x3 rotation."""
    x, y, z, w = np.asarray(q, dtype=np.float64) / (np.linalg.norm(q) or 1.0)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def trs_matrix(translation: np.ndarray, rotation: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """translation (3,), rotation 3x3, scale (3,) -> 4x4."""
    m = np.eye(4)
    m[:3, :3] = rotation * np.asarray(scale, dtype=np.float64)[None, :]
    m[:3, 3] = translation
    return m


def axis_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    if axis == 0:
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == 1:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def avatar_rotation(pitch: float, yaw: float, roll: float = 0.0) -> np.ndarray:
    """Our angles as a rotation in the avatar's frame, as the clients apply them (FaceDriver.avatarRotation):
    yaw about +Y, then pitch about +X (positive looks down), then roll about -Z (positive tilts to its left)."""
    return axis_rotation(1, yaw) @ axis_rotation(0, pitch) @ axis_rotation(2, -roll)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World -> camera (the camera looks down its -Z)."""
    forward = np.asarray(target, np.float64) - np.asarray(eye, np.float64)
    forward /= np.linalg.norm(forward)
    side = np.cross(forward, up)
    side /= np.linalg.norm(side)
    true_up = np.cross(side, forward)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = side, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ np.asarray(eye, np.float64)
    return view


def perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / np.tan(np.radians(fov_y_deg) / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = f / aspect, f
    m[2, 2], m[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m
