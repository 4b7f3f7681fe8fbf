"""Causal loudness per frame: each frame only sees the ~40 ms of audio that ends at its own sample.

Computed per frame from raw samples (no running sums or filter state), so chunked calls match.
"""

from __future__ import annotations

from typing import Final

import numpy as np

WINDOW_S: Final = 0.04
MAX_WINDOW: Final = 2048  # the engine guarantees this much audio before the first requested frame
FLOOR_DB: Final = -48.0  # at or below: silence
FULL_DB: Final = -16.0  # at or above: full-voice speech (peak-normalised TTS sits around -20..-14 dBFS)


def frame_loudness(audio: np.ndarray, audio_offset: int, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Loudness in [0, 1] for frames whose sample positions are ``samples``."""
    n = samples.shape[0]
    width = int(min(max(round(WINDOW_S * sample_rate), 1), MAX_WINDOW))
    if n == 0:
        return np.zeros(0)
    # Weights rise towards the frame so the envelope lags the audio as little as possible.
    weights = np.linspace(0.25, 1.0, width)
    weights /= weights.sum()
    idx = (samples - audio_offset)[:, None] + np.arange(-width, 0)[None, :]
    valid = (idx >= 0) & (idx < audio.shape[0])
    x = np.where(valid, audio[np.clip(idx, 0, max(audio.shape[0] - 1, 0))] if audio.size else 0.0, 0.0)
    power = (x.astype(np.float64) ** 2 * weights).sum(axis=1)
    db = 10.0 * np.log10(power + 1e-12)
    level = np.clip((db - FLOOR_DB) / (FULL_DB - FLOOR_DB), 0.0, 1.0)
    return level * level * (3.0 - 2.0 * level)
