"""The pitch tracker's shortcuts (strided windows, quiet rows not transformed; issue 16 speed) change nothing:
its F0 equals a plain transform of every window gathered sample by sample."""

from __future__ import annotations

import numpy as np
import pytest

from avatarlab.animation import pitch


def _plain_f0(audio: np.ndarray, audio_offset: int, samples: np.ndarray, rate: int) -> np.ndarray:
    """frame_f0 as first written: every window gathered by index and autocorrelated, loud or not."""
    width = min(int(round(pitch.WINDOW_S * rate)),
                pitch.MAX_WINDOW - int(round(pitch.SUB_WINDOW_LAGS_S[-1] * rate)))
    ends = np.concatenate([samples - int(round(lag * rate)) for lag in pitch.SUB_WINDOW_LAGS_S])
    idx = (ends - audio_offset)[:, None] + np.arange(-width, 0)[None, :]
    valid = (idx >= 0) & (idx < audio.shape[0])
    source = audio if audio.size else np.zeros(1, dtype=np.float32)
    windows = np.where(valid, source[np.clip(idx, 0, source.shape[0] - 1)], 0.0).astype(np.float64)
    step = max(1, rate // 8000)
    if step > 1:
        usable = width // step * step
        windows = windows[:, -usable:].reshape(windows.shape[0], -1, step).mean(axis=2)
        rate //= step
    x = windows - windows.mean(axis=1, keepdims=True)
    n = x.shape[1]
    spectrum = np.fft.rfft(x, n=1 << (2 * n - 1).bit_length(), axis=1)
    corr = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n]
    lo, hi = int(rate / pitch.MAX_F0), min(int(rate / pitch.MIN_F0), n - 2)
    lags = corr[:, lo:hi] / np.maximum(corr[:, :1], 1e-12)
    best = lags.argmax(axis=1)
    voiced = (lags[np.arange(len(best)), best] > pitch.VOICING) & (np.sqrt(corr[:, 0] / n) > pitch.SILENCE_RMS)
    f0 = np.where(voiced, rate / (best + lo), 0.0).reshape(len(pitch.SUB_WINDOW_LAGS_S), samples.size)
    count = (f0 > 0).sum(axis=0)
    return np.where(count > 0, f0.sum(axis=0) / np.maximum(count, 1), 0.0)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
def test_frame_f0_equals_transforming_every_window(engine, rate: int) -> None:
    line = engine.speak("Would you bring the map to the harbour before noon?", seed=3)
    from avatarlab.resample import resample

    speech = resample(line.audio, line.sample_rate, rate)
    rng = np.random.default_rng(rate)
    # speech, near-silence around the quiet threshold, silence; offsets and frames past both ends
    audio = np.concatenate([speech, speech[: rate // 2] * 0.012, np.zeros(rate // 4, np.float32), speech * 0.3])
    audio = (audio + rng.standard_normal(len(audio)).astype(np.float32) * 1e-4).astype(np.float32)
    checked = 0
    for offset in (0, 1234, -500):
        samples = np.arange(-800, len(audio) + 800, rate // 60) + offset
        expected = _plain_f0(audio, offset, samples, rate)
        assert np.array_equal(pitch.frame_f0(audio, offset, samples, rate), expected)
        checked += int((expected > 0).sum())
    assert checked > 100  # voiced frames were compared, not only silent ones
    assert np.array_equal(pitch.frame_f0(audio.astype(np.float64), 0, samples, rate),
                          _plain_f0(audio.astype(np.float64), 0, samples, rate))
    assert np.array_equal(pitch.frame_f0(np.zeros(0, np.float32), 0, samples[:5], rate), np.zeros(5))
