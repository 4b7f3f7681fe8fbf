"""Causal pitch (F0) per frame, for brow raises on pitch peaks.

Each frame looks only at audio ending at its own sample (three short
autocorrelation windows over the last ~60 ms), so chunked calls match.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from .loudness import MAX_WINDOW

WINDOW_S: Final = 0.035
SUB_WINDOW_LAGS_S: Final = (0.0, 0.012, 0.024)
MIN_F0, MAX_F0 = 60.0, 400.0
VOICING: Final = 0.45  # normalised autocorrelation peak that counts as voiced
SILENCE_RMS: Final = 0.01
PEAK_START: Final = 1.12  # F0 this far above the voice's median starts a raise...
PEAK_FULL: Final = 1.40  # ...which is full here
RAISE: Final = 0.35
_MARGIN: Final = 1e-6  # relative: far above rounding, far below any real level difference
OCTAVE_ERROR: Final = 2.0  # above twice the reference the tracker has most likely locked onto a harmonic


def _window_f0(windows: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 in Hz of each row (0 where unvoiced or silent)."""
    step = max(1, sample_rate // 8000)  # pitch needs no more than ~8 kHz: average and decimate first
    if step > 1:
        usable = windows.shape[1] // step * step
        kept = windows[:, -usable:]
        total = kept[:, 0::step] + kept[:, 1::step]  # the mean over each group of `step`, summed in numpy's order
        for k in range(2, step):
            total += kept[:, k::step]
        windows = total / step
        sample_rate //= step
    x = windows - windows.mean(axis=1, keepdims=True)
    width = x.shape[1]
    lo, hi = int(sample_rate / MAX_F0), min(int(sample_rate / MIN_F0), width - 2)
    if hi <= lo:
        return np.zeros(x.shape[0])
    # Quiet rows are unvoiced whatever their autocorrelation: only the others are transformed. The margin keeps
    # every row the transform's own energy could call loud (the two sums differ by rounding only), so the
    # result is the same as transforming every row.
    loud = np.flatnonzero(np.einsum("ij,ij->i", x, x) > (1.0 - _MARGIN) * width * SILENCE_RMS ** 2)
    f0 = np.zeros(x.shape[0])
    if loud.size == 0:
        return f0
    x = x[loud]
    spectrum = np.fft.rfft(x, n=1 << (2 * width - 1).bit_length(), axis=1)
    corr = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :width]
    energy = corr[:, 0]
    lags = corr[:, lo:hi] / np.maximum(energy[:, None], 1e-12)
    best = lags.argmax(axis=1)
    peak = lags[np.arange(len(best)), best]
    rms = np.sqrt(energy / width)
    voiced = (peak > VOICING) & (rms > SILENCE_RMS)
    f0[loud] = np.where(voiced, sample_rate / (best + lo), 0.0)
    return f0


def frame_f0(audio: np.ndarray, audio_offset: int, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean voiced F0 (Hz) over three windows ending at, 12 ms and 24 ms before each frame's sample; 0 if none."""
    width = int(round(WINDOW_S * sample_rate))
    width = min(width, MAX_WINDOW - int(round(SUB_WINDOW_LAGS_S[-1] * sample_rate)))
    if samples.size == 0 or width < 16:
        return np.zeros(samples.size)
    ends = np.concatenate([samples - int(round(lag * sample_rate)) for lag in SUB_WINDOW_LAGS_S])
    # each window's samples, zero outside the audio: a window starting at or beyond either padded edge is all
    # zeros, so starts are clipped there and the windows read from a zero-padded copy as strided views
    starts = np.clip(ends - audio_offset - width, -width, audio.shape[0]) + width
    audio = np.asarray(audio)
    edge = np.zeros(width, audio.dtype if audio.size else np.float32)
    padded = np.concatenate([edge, audio, edge])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)[starts].astype(np.float64)
    f0 = _window_f0(windows, sample_rate).reshape(len(SUB_WINDOW_LAGS_S), samples.size)
    voiced = (f0 > 0).sum(axis=0)
    return np.where(voiced > 0, f0.sum(axis=0) / np.maximum(voiced, 1), 0.0)


def reference_f0(audio: np.ndarray, sample_rate: int) -> float:
    """The median voiced F0 of a stretch of a voice's speech: its neutral pitch."""
    samples = np.arange(MAX_WINDOW, len(audio), max(1, sample_rate // 100))
    f0 = frame_f0(np.asarray(audio, dtype=np.float32), 0, samples, sample_rate)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def pitch_brow_raise(f0: np.ndarray, reference: float) -> np.ndarray:
    """Brow raise in [0, RAISE] where the pitch peaks above the voice's reference."""
    if reference <= 0:
        return np.zeros_like(f0)
    ratio = np.where(f0 < OCTAVE_ERROR * reference, f0 / reference, 0.0)
    level = np.clip((ratio - PEAK_START) / (PEAK_FULL - PEAK_START), 0.0, 1.0)
    return RAISE * level * level * (3.0 - 2.0 * level)
