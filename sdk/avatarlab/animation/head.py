"""Head motion: smooth noise, a per-phrase drift that settles when the phrase ends, and nods on stress."""

from __future__ import annotations

from typing import Final

import numpy as np

from .randomness import HEAD_DRIFT, HEAD_NOISE, NOD, PHRASE, keyed_rng, smoothstep, value_noise
from .track import Track

NOISE_AMPLITUDE: Final = np.radians([0.6, 0.9, 0.4])  # pitch, yaw, roll
DRIFT_AMPLITUDE: Final = np.radians([0.5, 1.0, 0.4])
PHRASE_RISE_S: Final = 0.4
PHRASE_SETTLE_S: Final = 0.5
NOD_PROBABILITY: Final = 0.75
NOD_ATTACK_S: Final = 0.12
NOD_LEAD_S: Final = 0.08
NOD_RELEASE_S: Final = 0.35
LIMIT: Final = np.radians(6.0)  # soft limit: "a few degrees at most"


def _bump(x: np.ndarray, attack: float, release: float) -> np.ndarray:
    """0 -> 1 over ``attack`` seconds from x=0, then back to 0 over ``release``."""
    return np.where(x < attack, smoothstep(x / attack), 1.0 - smoothstep((x - attack) / release))


def phrase_motion(track: Track, seed: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) drift offsets of the phrases around ``t`` and the (n,) speaking envelope."""
    offset, envelope = np.zeros((t.size, 3)), np.zeros(t.size)
    lo, hi = float(t.min()), float(t.max())
    for phrase in track.phrases:
        if phrase.start > hi or phrase.end + PHRASE_SETTLE_S < lo:
            continue
        rng = keyed_rng(seed, PHRASE, phrase.key)
        target = np.radians([-rng.uniform(0.3, 1.0), rng.uniform(-1.5, 1.5), rng.uniform(-0.8, 0.8)])
        env = smoothstep((t - phrase.start) / PHRASE_RISE_S) * (1.0 - smoothstep((t - phrase.end) / PHRASE_SETTLE_S))
        offset += env[:, None] * target
        envelope = np.maximum(envelope, env)
    return offset, envelope


def nods(track: Track, seed: int, t: np.ndarray) -> np.ndarray:
    """(n, 3) small downward pitch pulses starting just before primary-stressed syllables."""
    out = np.zeros((t.size, 3))
    lo, hi = float(t.min()), float(t.max())
    for group in track.stress_groups:
        onset = max(group.start - NOD_LEAD_S, group.zone_start)
        if onset > hi or onset + NOD_ATTACK_S + NOD_RELEASE_S < lo:
            continue
        rng = keyed_rng(seed, NOD, group.key)
        if rng.random() >= NOD_PROBABILITY:
            continue
        size = np.radians([rng.uniform(0.7, 1.5), rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2)])
        out += _bump(t - onset, NOD_ATTACK_S, NOD_RELEASE_S)[:, None] * size
    return out


def head_rotation(track: Track, seed: int, t: np.ndarray, energy: float = 1.0,
                  pitch_bias: float = 0.0) -> np.ndarray:
    """(n, 3) head pitch/yaw/roll in radians."""
    if t.size == 0:
        return np.zeros((0, 3))
    drift, speaking = phrase_motion(track, seed, t)
    noise = value_noise(seed, HEAD_NOISE, t, 0.9, 3) * NOISE_AMPLITUDE * (0.6 + 0.4 * speaking)[:, None]
    slow = value_noise(seed, HEAD_DRIFT, t, 3.1, 3) * DRIFT_AMPLITUDE
    total = energy * (noise + slow + drift + nods(track, seed, t))
    total[:, 0] += pitch_bias
    return LIMIT * np.tanh(total / LIMIT)
