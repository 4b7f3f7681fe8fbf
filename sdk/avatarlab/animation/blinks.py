"""Blinks: a thinned Poisson process, denser at phrase boundaries, drawn per 2-second block.

Candidates come from a per-block generator and are accepted by the local rate, so blink times
depend only on (seed, block, timeline) and never on how frames were requested.
"""

from __future__ import annotations

from typing import Final

from functools import lru_cache

import numpy as np

from .randomness import BLINK, keyed_rng
from .track import Track

BLOCK_S: Final = 2.0
MAX_RATE_HZ: Final = 1.2  # candidate rate; thinned down to the rates below
SPEECH_RATE_HZ: Final = 12.0 / 60.0
BOUNDARY_RATE_HZ: Final = 55.0 / 60.0
BOUNDARY_WINDOW_S: Final = 0.8  # after a pause starts, blinking is far more likely
REFRACTORY_S: Final = 0.6
MAX_DURATION_S: Final = 0.25
HOLD_S: Final = 0.03  # fully shut for a moment so a frame lands on the peak


def _rate(track: Track, t: np.ndarray) -> np.ndarray:
    onsets = track.pause_onsets
    if onsets.size == 0:
        return np.full(t.shape, SPEECH_RATE_HZ)
    last = np.searchsorted(onsets, t, side="right") - 1
    since = t - onsets[np.clip(last, 0, onsets.size - 1)]
    near = (last >= 0) & (since < BOUNDARY_WINDOW_S)
    return np.where(near, BOUNDARY_RATE_HZ, SPEECH_RATE_HZ)


@lru_cache(maxsize=1024)  # pure in (seed, block)
def _candidates(seed: int, block: int) -> np.ndarray:
    """(k, 4): time, acceptance draw, duration, closing fraction (read-only)."""
    rng = keyed_rng(seed, BLINK, block)
    count = rng.poisson(MAX_RATE_HZ * BLOCK_S)
    times = block * BLOCK_S + rng.random(count) * BLOCK_S
    out = np.stack([times, rng.random(count), rng.uniform(0.15, MAX_DURATION_S, count),
                    rng.uniform(0.3, 0.4, count)], axis=1).reshape(count, 4)
    out.flags.writeable = False
    return out


def blink_events(track: Track, seed: int, t0: float, t1: float, rate_scale: float = 1.0) -> np.ndarray:
    """Blinks starting in [t0, t1]: (k, 3) start, duration, closing fraction."""
    first, last = int(np.floor((t0 - REFRACTORY_S) / BLOCK_S)), int(np.floor(t1 / BLOCK_S))
    cand = np.concatenate([_candidates(seed, b) for b in range(first, last + 1)])
    cand = cand[np.argsort(cand[:, 0], kind="stable")]
    keep = cand[:, 1] < np.minimum(_rate(track, cand[:, 0]) * rate_scale / MAX_RATE_HZ, 1.0)
    cand = cand[keep]
    gap = np.diff(cand[:, 0], prepend=-np.inf)
    cand = cand[gap >= REFRACTORY_S]
    in_range = (cand[:, 0] >= t0) & (cand[:, 0] <= t1)
    return cand[in_range][:, [0, 2, 3]]


def _shape(x: np.ndarray, duration: float, closing: float) -> np.ndarray:
    """Fast close, short hold, slower open (lids drop quickly and rise lazily)."""
    close = duration * closing
    opening = max(duration - close - HOLD_S, 1e-3)
    down = 0.5 - 0.5 * np.cos(np.pi * np.clip(x / close, 0.0, 1.0))
    up = 0.5 + 0.5 * np.cos(np.pi * np.clip((x - close - HOLD_S) / opening, 0.0, 1.0))
    return np.where(x < 0, 0.0, np.where(x < close, down, np.where(x < close + HOLD_S, 1.0, up)))


def blink_curve(track: Track, seed: int, t: np.ndarray, rate_scale: float = 1.0) -> np.ndarray:
    """Eyelid closure in [0, 1] at times ``t``."""
    out = np.zeros(t.shape)
    if t.size == 0:
        return out
    for start, duration, closing in blink_events(track, seed, float(t.min()) - MAX_DURATION_S, float(t.max()),
                                                 rate_scale):
        out = np.maximum(out, _shape(t - start, duration, closing))
    return out
