"""Brow raises on the stressed syllables of longer words (emphasis), drawn per syllable."""

from __future__ import annotations

from typing import Final

import numpy as np

from .randomness import BROW, keyed_rng, smoothstep
from .track import Track

PROBABILITY: Final = 0.6
LEAD_S: Final = 0.1
ATTACK_S: Final = 0.12
RELEASE_S: Final = 0.35
MIN_WORD_SEGMENTS: Final = 4
MIN_WORD_S: Final = 0.3


def brow_raise(track: Track, seed: int, t: np.ndarray) -> np.ndarray:
    """(n, 3): browInnerUp, browOuterUpLeft, browOuterUpRight in [0, 1]."""
    out = np.zeros((t.size, 3))
    if t.size == 0:
        return out
    lo, hi = float(t.min()), float(t.max())
    for group in track.stress_groups:
        if group.word_segments < MIN_WORD_SEGMENTS and group.word_duration < MIN_WORD_S:
            continue
        onset = max(group.start - LEAD_S, group.zone_start)
        if onset > hi or group.end + RELEASE_S < lo:
            continue
        rng = keyed_rng(seed, BROW, group.key)
        if rng.random() >= PROBABILITY:
            continue
        size = rng.uniform(0.2, 0.45)
        shape = np.array([0.9, 1.0 + rng.uniform(-0.1, 0.1), 1.0 + rng.uniform(-0.1, 0.1)]) * size
        env = smoothstep((t - onset) / ATTACK_S) * (1.0 - smoothstep((t - group.end) / RELEASE_S))
        out = np.maximum(out, env[:, None] * shape)
    return out
