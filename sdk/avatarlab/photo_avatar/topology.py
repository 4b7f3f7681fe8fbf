"""MediaPipe's face mesh topology as our own data file (data/facemesh_topology.json, made by make_topology.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "facemesh_topology.json"


@dataclass(frozen=True)
class Topology:
    triangles: np.ndarray  # (852, 3) vertex indices into the 468 landmarks
    regions: dict[str, list[int]]  # lips, eyelids, brows, face oval, nose: chains corner to corner

    def ring(self, upper: str, lower: str) -> list[int]:
        """A closed loop: the upper chain corner to corner, then the lower chain back (corners once)."""
        return [*self.regions[upper], *self.regions[lower][-2:0:-1]]


@lru_cache(maxsize=1)
def topology() -> Topology:
    data = json.loads(DATA.read_text())
    return Topology(np.asarray(data["triangles"], dtype=np.int64), {k: list(v) for k, v in data["regions"].items()})


def wound_along(triangles: np.ndarray, positions: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Triangles wound so their normals point along ``outward`` (one vector, or one per triangle)."""
    a, b, c = (positions[triangles[:, i]] for i in range(3))
    flip = (np.cross(b - a, c - a) * outward).sum(axis=1) < 0
    out = np.array(triangles, copy=True)
    out[flip] = out[flip][:, [0, 2, 1]]
    return out
