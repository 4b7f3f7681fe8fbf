"""Morph targets on the CPU: positions = rest + sum(weight x delta), and normals that follow the morphs.

Normals: the file's NORMAL target deltas when it has them; otherwise the rest normal plus the change of the
smooth geometric normal (vertices at one position share it), so authored hard edges and seams are kept.
"""

from __future__ import annotations

import numpy as np

from .scene import Primitive, SmoothNormals, weld

#: Weights below this are treated as zero (their deltas are not added).
ACTIVE_WEIGHT = 1e-5


class Morpher:
    """Applies weights to one primitive; returns its morphed positions and unit normals (float32)."""

    def __init__(self, primitive: Primitive) -> None:
        self.primitive = primitive
        count = len(primitive.positions)
        self.rest_positions = primitive.positions
        self.rest_normals = _unit(primitive.normals)
        self.position_deltas = _stack(primitive.target_positions, count)
        self.normal_deltas = _stack(primitive.target_normals, count) \
            if any(n is not None for n in primitive.target_normals) else None
        self.welded = weld(primitive.positions) if self.position_deltas is not None and self.normal_deltas is None \
            else None
        self.smooth = SmoothNormals(primitive.indices, self.welded, count) if self.welded is not None else None
        self.geometric_rest = self.smooth(primitive.positions) if self.smooth is not None else None
        self._last: np.ndarray | None = None
        self._result = (self.rest_positions, self.rest_normals)

    @property
    def animated(self) -> bool:
        return self.position_deltas is not None

    def apply(self, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if self.position_deltas is None or weights is None:
            return self.rest_positions, self.rest_normals
        weights = np.asarray(weights, np.float32)[: len(self.position_deltas)]
        if self._last is not None and np.array_equal(weights, self._last):
            return self._result
        self._last = weights.copy()
        active = np.flatnonzero(np.abs(weights) > ACTIVE_WEIGHT)
        if len(active) == 0:
            self._result = (self.rest_positions, self.rest_normals)
            return self._result
        w = weights[active]
        shape = self.rest_positions.shape
        positions = self.rest_positions + (w @ self.position_deltas[active].reshape(len(active), -1)).reshape(shape)
        if self.normal_deltas is not None:
            normals = self.rest_normals + (w @ self.normal_deltas[active].reshape(len(active), -1)).reshape(shape)
        else:
            normals = self.rest_normals + self.smooth(positions) - self.geometric_rest
        self._result = (positions.astype(np.float32), _unit(normals))
        return self._result


def _stack(deltas: list[np.ndarray | None], count: int) -> np.ndarray | None:
    if not deltas or all(d is None for d in deltas):
        return None
    return np.stack([d if d is not None else np.zeros((count, 3), np.float32) for d in deltas]).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(length > 1e-12, length, 1.0)).astype(np.float32)
