"""Random draws keyed by absolute time, so any frame range reproduces the same values.

A sequentially consumed generator would make frame values depend on how the stream was split;
seeding one generator per (seed, stream, key) makes every draw a pure function of position.
"""

from __future__ import annotations

from typing import Final

from functools import lru_cache

import numpy as np

# Independent streams, one per kind of gesture.
BLINK, GAZE, HEAD_NOISE, HEAD_DRIFT, PHRASE, NOD, BROW = range(1, 8)
_OFFSET: Final = 1 << 32  # keys may be negative (blocks before time 0); SeedSequence wants them >= 0
_SEED_MOD: Final = 1 << 63


def keyed_rng(seed: int, stream: int, key: int) -> np.random.Generator:
    """The generator for one (seed, stream, key) cell."""
    return np.random.default_rng([int(seed) % _SEED_MOD, stream, int(key) + _OFFSET])


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Cubic ease from 0 (x<=0) to 1 (x>=1)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def value_noise(seed: int, stream: int, t: np.ndarray, spacing: float, channels: int) -> np.ndarray:
    """Smooth Catmull-Rom noise through unit-normal knots every ``spacing`` seconds; (n, channels)."""
    if t.size == 0:
        return np.zeros((0, channels))
    u = t / spacing
    j = np.floor(u).astype(np.int64)
    f = (u - j)[:, None]
    lo, hi = int(j.min()) - 1, int(j.max()) + 2
    knots = np.stack([_knot(int(seed), stream, k, channels) for k in range(lo, hi + 1)])
    p0, p1, p2, p3 = (knots[j - lo + d] for d in (-1, 0, 1, 2))
    return 0.5 * (2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f**2 + (3 * p1 - p0 - 3 * p2 + p3) * f**3)


@lru_cache(maxsize=4096)  # pure; streams ask for the same knots on every small chunk
def _knot(seed: int, stream: int, key: int, channels: int) -> np.ndarray:
    knot = keyed_rng(seed, stream, key).standard_normal(channels)
    knot.flags.writeable = False
    return knot
