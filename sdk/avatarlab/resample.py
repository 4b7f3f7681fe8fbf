"""Sample-rate conversion for audio input, whole (``resample``) or arriving in pieces (``StreamingResampler``).

Both give the same samples by construction: ``resample`` is one final push. Downsampling low-passes with a
129-tap windowed sinc (cut-off 0.475 of the new rate), then interpolates linearly. Upsampling interpolates with a
windowed sinc of UP_HALF_TAPS input samples each side, band-limited at 0.475 of the old rate: linear
interpolation would leave mirror images of the speech above the old Nyquist frequency (8 kHz audio would
show its 1-4 kHz formants again at 4-7 kHz), which the recognizer and the live network hear as hiss.
An output sample is produced once the input it needs has arrived: at most ``delay_input_samples`` later than
its own time.
"""

from __future__ import annotations

import numpy as np

HALF_TAPS = 64
#: Input samples each side of an upsampled output that its windowed sinc reads.
UP_HALF_TAPS = 16
#: Upsampled outputs computed per block (bounds the (outputs, taps) work array to a few MB).
_BLOCK = 16384
CUTOFF = 0.475


def _kernel(rate: int, target: int) -> np.ndarray | None:
    if target >= rate:
        return None
    cutoff = CUTOFF * target / rate
    taps = np.arange(-HALF_TAPS, HALF_TAPS + 1)
    kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
    return kernel / kernel.sum()


def _sinc_interpolate(values: np.ndarray, first: int, times: np.ndarray) -> np.ndarray:
    """Band-limited values at fractional input ``times``; ``values[i]`` is input sample ``first + i`` and must
    cover every tap (floor(t) - UP_HALF_TAPS + 1 .. floor(t) + UP_HALF_TAPS). Each output's weights are
    normalized to sum to 1, so a constant stays constant."""
    out = np.empty(len(times), np.float64)
    offsets = np.arange(1 - UP_HALF_TAPS, UP_HALF_TAPS + 1)
    for a in range(0, len(times), _BLOCK):
        t = times[a:a + _BLOCK]
        base = np.floor(t).astype(np.int64)
        taps = base[:, None] + offsets[None, :]
        distance = t[:, None] - taps
        weights = (2 * CUTOFF * np.sinc(2 * CUTOFF * distance)
                   * (0.5 + 0.5 * np.cos(np.pi * distance / UP_HALF_TAPS)))
        weights /= weights.sum(axis=1, keepdims=True)
        out[a:a + _BLOCK] = (values[taps - first] * weights).sum(axis=1)
    return out


class StreamingResampler:
    """Resamples mono audio pushed in pieces of any size; the concatenated outputs equal ``resample`` of the
    whole to the last bit."""

    def __init__(self, rate: int, target: int) -> None:
        self.rate, self.target = int(rate), int(target)
        self._kernel = _kernel(self.rate, self.target)
        if self._kernel is not None:
            self._margin = HALF_TAPS
        else:
            self._margin = UP_HALF_TAPS if self.target > self.rate else 0
        self._raw = np.zeros(0, np.float64)
        self._raw_start = 0  # absolute index of _raw[0]
        self._received = 0
        self._emitted = 0

    @property
    def delay_input_samples(self) -> int:
        """Input samples that must arrive after an output sample's time before it can be produced."""
        return self._margin + 2

    def push(self, audio: np.ndarray, final: bool = False) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float64)
        self._raw = np.concatenate([self._raw, audio])
        self._received += len(audio)
        if self.rate == self.target:
            out, self._raw = self._raw.astype(np.float32), np.zeros(0, np.float64)
            self._raw_start = self._received
            self._emitted += len(out)
            return out
        total = int(self._received * self.target / self.rate) if final else None
        if final:
            last = total
        else:
            usable = self._received - self._margin - 2  # input index i is final once i + margin has arrived
            last = int(np.floor(usable * self.target / self.rate)) + 1 if usable >= 0 else 0
            last = min(last, int(self._received * self.target / self.rate))
        if last <= self._emitted:
            return np.zeros(0, np.float32)
        times = np.arange(self._emitted, last) * self.rate / self.target
        lo = int(np.floor(times[0]))
        hi = min(int(np.floor(times[-1])) + 2, self._received)
        if self.target > self.rate:
            m = self._margin
            out = _sinc_interpolate(self._padded(lo - m, hi + m), lo - m, times).astype(np.float32)
        else:
            out = np.interp(times, np.arange(lo, hi), self._filtered(lo, hi)).astype(np.float32)
        self._emitted = last
        keep_from = max(self._raw_start, int(np.floor(last * self.rate / self.target)) - self._margin - 1)
        self._raw = self._raw[keep_from - self._raw_start:]
        self._raw_start = keep_from
        return out

    def _padded(self, start: int, end: int) -> np.ndarray:
        """Input at absolute indices [start, end), zero before the first sample and after the last received."""
        seg = np.zeros(end - start)
        a, b = max(start, self._raw_start), min(end, self._received)
        if b > a:
            seg[a - start:b - start] = self._raw[a - self._raw_start:b - self._raw_start]
        return seg

    def _filtered(self, lo: int, hi: int) -> np.ndarray:
        """Low-passed input at absolute indices [lo, hi), zero beyond both ends like np.convolve 'same'."""
        if self._kernel is None:
            return self._raw[lo - self._raw_start:hi - self._raw_start]
        m = self._margin
        return np.convolve(self._padded(lo - m, hi + m), self._kernel, mode="valid")


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono float32 ``audio`` at ``rate`` Hz converted to ``target`` Hz (``int(len * target / rate)`` samples)."""
    return StreamingResampler(rate, target).push(audio, final=True)
