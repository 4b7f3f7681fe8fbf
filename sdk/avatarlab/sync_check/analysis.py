"""The offset: mouth opening per frame against the audio's speech envelope (or the openings a transcript or
curves JSON expects), aligned by the lag of best correlation, refined between samples by a parabola."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rate the signals are compared at (Hz): 10 ms steps, refined further by interpolation.
SIGNAL_RATE = 100
#: Lags searched (seconds each way).
MAX_LAG_S = 0.6
#: Correlation at lags at least this far from the peak counts as the background the peak must stand above.
SIDE_LOBE_S = 0.15
#: Inner-lip landmark pairs (upper, lower) of MediaPipe's mesh and the mouth corners.
INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402))
MOUTH_CORNERS = (61, 291)


@dataclass(frozen=True)
class Alignment:
    """offset_s > 0: the audio comes later than the mouth (the sound lags the picture)."""

    offset_s: float
    confidence: float
    peak: float
    lags_s: np.ndarray
    correlation: np.ndarray


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap over mouth width for one frame's mesh (0 closed, about 0.5-0.8 wide open)."""
    gaps = [np.linalg.norm(points[upper, :2] - points[lower, :2]) for upper, lower in INNER_LIP_PAIRS]
    width = np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2])
    return float(np.mean(gaps) / max(width, 1e-6))


def speech_envelope(audio: np.ndarray, rate: int) -> np.ndarray:
    """Loudness at SIGNAL_RATE: RMS over 30 ms windows in dB, floored 45 dB under the loudest window."""
    hop = rate // SIGNAL_RATE
    window = 3 * hop
    padded = np.concatenate([np.zeros(window // 2, np.float32), np.asarray(audio, np.float32),
                             np.zeros(window, np.float32)])
    count = len(audio) // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:count]
    db = 10 * np.log10(np.mean(np.square(frames.astype(np.float64)), axis=1) + 1e-12)
    return np.maximum(db, db.max() - 45.0)


def to_signal_rate(values: np.ndarray, rate: float, start_s: float = 0.0, duration_s: float | None = None
                   ) -> np.ndarray:
    """Samples at ``rate`` (first one at ``start_s``) -> SIGNAL_RATE by linear interpolation; NaNs (frames with
    no face) filled from their neighbours."""
    values = np.asarray(values, np.float64)
    times = start_s + np.arange(len(values)) / rate
    good = np.isfinite(values)
    if not good.any():
        return np.zeros(0)
    end = duration_s if duration_s is not None else times[-1]
    grid = np.arange(0.0, end, 1.0 / SIGNAL_RATE)
    return np.interp(grid, times[good], values[good])


def _normalised(signal: np.ndarray) -> np.ndarray:
    """Slow drift removed (0.6 s moving mean), then zero mean and unit variance."""
    width = int(0.6 * SIGNAL_RATE) | 1
    kernel = np.ones(width) / width
    padded = np.pad(signal, width // 2, mode="edge")
    signal = signal - np.convolve(padded, kernel, mode="valid")
    return (signal - signal.mean()) / max(signal.std(), 1e-12)


def correlate(mouth: np.ndarray, reference: np.ndarray, max_lag_s: float = MAX_LAG_S) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of mouth[t] with reference[t - lag] for each lag (steps of 1 / SIGNAL_RATE)."""
    a, b = _normalised(mouth), _normalised(reference)
    max_lag = int(round(max_lag_s * SIGNAL_RATE))
    lags = np.arange(-max_lag, max_lag + 1)
    values = np.full(len(lags), np.nan)
    for i, lag in enumerate(lags):
        # mouth at t compared with the reference at t + lag: the sound at t + lag goes with the picture at t
        lo, hi = max(0, -lag), min(len(a), len(b) - lag)
        if hi - lo >= SIGNAL_RATE:  # at least a second of overlap
            x, y = a[lo:hi], b[lo + lag:hi + lag]
            x, y = x - x.mean(), y - y.mean()
            values[i] = float(np.dot(x, y) / max(np.sqrt(np.dot(x, x) * np.dot(y, y)), 1e-12))
    return lags / SIGNAL_RATE, values


def best_lag(lags_s: np.ndarray, correlation: np.ndarray) -> Alignment:
    """The peak lag, refined by the parabola through it and its neighbours; confidence is how far the peak
    stands above the best correlation SIDE_LOBE_S or more away, as a share of the room above that side lobe."""
    if not np.isfinite(correlation).any():
        return Alignment(0.0, 0.0, 0.0, lags_s, correlation)
    filled = np.where(np.isfinite(correlation), correlation, -1.0)
    index = int(np.argmax(filled))
    offset = float(lags_s[index])
    if 0 < index < len(filled) - 1:
        left, centre, right = filled[index - 1:index + 2]
        curvature = left - 2 * centre + right
        if curvature < 0:
            offset += float(0.5 * (left - right) / curvature) * (lags_s[1] - lags_s[0])
    peak = float(filled[index])
    far = np.abs(lags_s - lags_s[index]) >= SIDE_LOBE_S
    side = float(filled[far].max()) if far.any() else -1.0
    confidence = float(np.clip((peak - side) / max(1.0 - side, 1e-6), 0.0, 1.0)) if peak > 0 else 0.0
    return Alignment(offset, confidence, peak, lags_s, correlation)
