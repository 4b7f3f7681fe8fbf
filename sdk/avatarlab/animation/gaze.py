"""Eye gaze: fixations of roughly 0.3–2 s joined by fast saccades, both eyes together.

Each 2-second block holds 1–3 saccades at stratified random times, which bounds fixation
lengths without a sequential generator.
"""

from __future__ import annotations

from typing import Final

from functools import lru_cache

import numpy as np

from .randomness import GAZE, keyed_rng, smoothstep

BLOCK_S: Final = 2.0
YAW_SD: Final = np.radians(4.0)
PITCH_SD: Final = np.radians(2.5)
YAW_LIMIT: Final = np.radians(10.0)
PITCH_LIMIT: Final = np.radians(7.0)
RETURN_TO_CENTRE: Final = 0.35  # probability a saccade returns to the listener


@lru_cache(maxsize=1024)  # pure in (seed, block); live streams animate a few frames at a time
def _saccades(seed: int, block: int) -> np.ndarray:
    """(k, 4): time, duration, target pitch, target yaw (read-only)."""
    rng = keyed_rng(seed, GAZE, block)
    count = int(rng.choice([1, 2, 3], p=[0.25, 0.5, 0.25]))
    slot = BLOCK_S / count
    times = block * BLOCK_S + slot * (np.arange(count) + rng.uniform(0.25, 0.75, count))
    pitch = np.clip(rng.normal(np.radians(0.5), PITCH_SD, count), -PITCH_LIMIT, PITCH_LIMIT)
    yaw = np.clip(rng.normal(0.0, YAW_SD, count), -YAW_LIMIT, YAW_LIMIT)
    centre = rng.random(count) < RETURN_TO_CENTRE
    pitch[centre], yaw[centre] = 0.0, 0.0
    out = np.stack([times, rng.uniform(0.03, 0.06, count), pitch, yaw], axis=1)
    out.flags.writeable = False
    return out


def gaze_angles(seed: int, t: np.ndarray) -> np.ndarray:
    """(n, 2) pitch (positive down) and yaw (positive to the avatar's left), radians."""
    if t.size == 0:
        return np.zeros((0, 2))
    first, last = int(np.floor(t.min() / BLOCK_S)) - 2, int(np.floor(t.max() / BLOCK_S))
    sac = np.concatenate([_saccades(seed, b) for b in range(first, last + 1)])
    current = np.searchsorted(sac[:, 0], t, side="right") - 1  # >= 1: every block has a saccade
    previous = np.maximum(current - 1, 0)
    progress = smoothstep((t - sac[current, 0]) / sac[current, 1])[:, None]
    return sac[previous, 2:4] * (1.0 - progress) + sac[current, 2:4] * progress
