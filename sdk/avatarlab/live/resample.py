"""Resampling of audio that arrives in pieces, equal to ``lipsync.audio_input.resample`` on the whole.

Downsampling low-passes with the same 129-tap windowed sinc, then both directions interpolate
linearly. An output sample is produced once the input it needs has arrived: at most
``delay_input_samples`` later than its own time.
"""

from __future__ import annotations

import numpy as np

HALF_TAPS = 64


def _kernel(rate: int, target: int) -> np.ndarray | None:
    if target >= rate:
        return None
    cutoff = 0.475 * target / rate
    taps = np.arange(-HALF_TAPS, HALF_TAPS + 1)
    kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
    return kernel / kernel.sum()


class StreamingResampler:
    def __init__(self, rate: int, target: int) -> None:
        self.rate, self.target = int(rate), int(target)
        self._kernel = _kernel(self.rate, self.target)
        self._margin = HALF_TAPS if self._kernel is not None else 0
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
        values = self._filtered(lo, hi)
        out = np.interp(times, np.arange(lo, hi), values).astype(np.float32)
        self._emitted = last
        keep_from = max(self._raw_start, int(np.floor(last * self.rate / self.target)) - self._margin - 1)
        self._raw = self._raw[keep_from - self._raw_start:]
        self._raw_start = keep_from
        return out

    def _filtered(self, lo: int, hi: int) -> np.ndarray:
        """Low-passed input at absolute indices [lo, hi), zero beyond both ends like np.convolve 'same'."""
        if self._kernel is None:
            return self._raw[lo - self._raw_start:hi - self._raw_start]
        m = self._margin
        start, end = lo - m, hi + m
        seg = np.zeros(end - start)
        a, b = max(start, self._raw_start), min(end, self._received)
        seg[a - start:b - start] = self._raw[a - self._raw_start:b - self._raw_start]
        return np.convolve(seg, self._kernel, mode="valid")
