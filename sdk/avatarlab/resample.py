"""Sample-rate conversion for audio input, whole (``resample``) or arriving in pieces (``StreamingResampler``).

Both give the same samples by construction: ``resample`` is one final push. Downsampling low-passes with a
129-tap windowed sinc (cut-off 0.475 of the new rate), then interpolates linearly. Upsampling interpolates with a
windowed sinc of UP_HALF_TAPS input samples each side, band-limited at 0.475 of the old rate: linear
interpolation would leave mirror images of the speech above the old Nyquist frequency (8 kHz audio would
show its 1-4 kHz formants again at 4-7 kHz, only about 6 dB down). The live network trains on band-cut
speech for such input (models/audio2face, ``--narrowband``) and hears it this way; pocketsphinx's acoustic
model scored 8 kHz speech better with the images (lipsync/pipeline.py), so its paths ask for linear
interpolation (``band_limited=False``).
An output sample is produced once the input it needs has arrived: at most ``delay_input_samples`` later than
its own time.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

HALF_TAPS = 64
#: Input samples each side of an upsampled output that its windowed sinc reads.
UP_HALF_TAPS = 16
#: Upsampled outputs computed per block (bounds the (outputs, taps) work array to a few MB).
_BLOCK = 16384
#: Up to this many output phases, each phase is one np.correlate over the input.
_FEW_PHASES = 16
CUTOFF = 0.475


def _kernel(rate: int, target: int) -> np.ndarray | None:
    if target >= rate:
        return None
    cutoff = CUTOFF * target / rate
    taps = np.arange(-HALF_TAPS, HALF_TAPS + 1)
    kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
    return kernel / kernel.sum()


@lru_cache(maxsize=8)
def _phase_weights(rate: int, target: int) -> np.ndarray:
    """(phases, 2 * UP_HALF_TAPS) windowed-sinc weights, one row per output phase ``(j * rate) % target`` (an
    output's position between two input samples repeats every target / gcd outputs: 2 rows for 8 -> 16 kHz).
    Each row sums to 1, so a constant stays constant."""
    step = math.gcd(rate, target)
    fraction = np.arange(0, target, step, dtype=np.float64) / target  # distance past the tap at floor(t)
    distance = fraction[:, None] - np.arange(1 - UP_HALF_TAPS, UP_HALF_TAPS + 1)[None, :]
    weights = 2 * CUTOFF * np.sinc(2 * CUTOFF * distance) * (0.5 + 0.5 * np.cos(np.pi * distance / UP_HALF_TAPS))
    return weights / weights.sum(axis=1, keepdims=True)


def _sinc_interpolate(values: np.ndarray, first: int, outputs: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited values at output indices ``outputs`` (time ``j * rate / target`` in input samples);
    ``values[i]`` is input sample ``first + i`` and covers every tap (floor(t) - UP_HALF_TAPS + 1 ..
    floor(t) + UP_HALF_TAPS). Integer arithmetic picks the taps and the phase, so pieces agree exactly."""
    weights = _phase_weights(rate, target)
    out = np.empty(len(outputs), np.float64)
    base, phase = np.divmod(outputs.astype(np.int64) * rate, target)
    start = base - UP_HALF_TAPS + 1 - first  # each output's first tap in ``values``
    row = phase // math.gcd(rate, target)  # its row of weights
    if len(weights) <= _FEW_PHASES:  # 8 and 12 kHz: one correlation per phase, in C
        for q in np.unique(row):
            mine = row == q
            out[mine] = np.correlate(values, weights[q], mode="valid")[start[mine]]
        return out
    for a in range(0, len(outputs), _BLOCK):  # 11.025 kHz and other rates: 640 phases or more
        taps = start[a:a + _BLOCK, None] + np.arange(2 * UP_HALF_TAPS)[None, :]
        out[a:a + _BLOCK] = (values[taps] * weights[row[a:a + _BLOCK]]).sum(axis=1)
    return out


class StreamingResampler:
    """Resamples mono audio pushed in pieces of any size; the concatenated outputs equal ``resample`` of the
    whole to the last bit."""

    def __init__(self, rate: int, target: int, band_limited: bool = True) -> None:
        self.rate, self.target = int(rate), int(target)
        self._kernel = _kernel(self.rate, self.target)
        self._sinc = band_limited and self.target > self.rate
        if self._kernel is not None:
            self._margin = HALF_TAPS
        else:
            self._margin = UP_HALF_TAPS if self._sinc else 0
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
        if final:
            last = int(self._received * self.target / self.rate)
        else:
            usable = self._received - self._margin - 2  # input index i is final once i + margin has arrived
            last = int(np.floor(usable * self.target / self.rate)) + 1 if usable >= 0 else 0
            last = min(last, int(self._received * self.target / self.rate))
        if last <= self._emitted:
            return np.zeros(0, np.float32)
        if self._sinc:
            first = self._emitted * self.rate // self.target - UP_HALF_TAPS + 1  # the first output's first tap
            end = (last - 1) * self.rate // self.target + UP_HALF_TAPS + 1  # past the last output's last tap
            outputs = np.arange(self._emitted, last)
            out = _sinc_interpolate(self._padded(first, end), first, outputs, self.rate, self.target)
            out = out.astype(np.float32)
        else:
            times = np.arange(self._emitted, last) * self.rate / self.target
            lo = int(np.floor(times[0]))
            hi = min(int(np.floor(times[-1])) + 2, self._received)
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


def resample(audio: np.ndarray, rate: int, target: int, band_limited: bool = True) -> np.ndarray:
    """Mono float32 ``audio`` at ``rate`` Hz converted to ``target`` Hz (``int(len * target / rate)`` samples).

    ``band_limited=False`` upsamples by linear interpolation, mirror images and all (pocketsphinx's paths: see
    lipsync/pipeline.py)."""
    return StreamingResampler(rate, target, band_limited).push(audio, final=True)
