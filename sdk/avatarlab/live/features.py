"""Log-mel features of 16 kHz speech, computed the same way offline (training) and live (streaming).

Frame ``i`` covers samples [i * HOP, i * HOP + WINDOW): it exists once those samples have arrived,
and its label is the phone at its centre, ``CENTRE_S`` + i * HOP_S seconds into the audio.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
N_FFT = 512
N_MELS = 40
F_MIN, F_MAX = 60.0, 7600.0
HOP_S = HOP / SAMPLE_RATE
CENTRE_S = WINDOW / 2 / SAMPLE_RATE
LOG_FLOOR = 1e-6
#: Frame j is decided for 16 kHz samples [HOP * j + SPAN_OFFSET, HOP * (j + 1) + SPAN_OFFSET): its centre's hop.
SPAN_OFFSET = WINDOW // 2 - HOP // 2


#: Frames per mel projection. OpenBLAS runs a matrix product of more than 4 x 65,536 multiply-adds on every core and
#: keeps those threads spinning for a while after it; on 2 cores that slowed the pocketsphinx passes running next
#: (lipsync's recognized path, heard_closures.py) by about 20 ms a line. 24 frames x 257 bins x 40 bands stays
#: on one thread.
_PROJECT_FRAMES = 24


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """(N_FFT // 2 + 1, N_MELS) triangular filters, HTK mel scale."""
    return warped_filterbank(1.0)


def warped_filterbank(warp: float) -> np.ndarray:
    """Filters that hear the spectrum stretched by ``warp`` (vocal tract length perturbation, for training)."""
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE) * warp
    edges = _hz(np.linspace(_mel(np.array(F_MIN)), _mel(np.array(F_MAX)), N_MELS + 2))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.hanning(WINDOW + 2)[1:-1].astype(np.float32)


def frame_count(samples: int) -> int:
    return 0 if samples < WINDOW else (samples - WINDOW) // HOP + 1


def log_mel(audio: np.ndarray, warp: float = 1.0) -> np.ndarray:
    """(frames, N_MELS) float32 log-mel energies of mono float audio at SAMPLE_RATE (``warp``: training only)."""
    audio = np.asarray(audio, dtype=np.float32)
    count = frame_count(len(audio))
    if count == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    index = np.arange(WINDOW)[None, :] + HOP * np.arange(count)[:, None]
    spectrum = np.fft.rfft(audio[index] * _window(), n=N_FFT, axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    bank = mel_filterbank() if warp == 1.0 else warped_filterbank(warp)
    mel = np.concatenate([power[a:a + _PROJECT_FRAMES] @ bank for a in range(0, count, _PROJECT_FRAMES)])
    return np.log(mel + LOG_FLOOR).astype(np.float32)


class StreamingLogMel:
    """log_mel over audio that arrives in pieces: the same frames as one log_mel call (to float rounding)."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)  # samples not yet past every frame that needs them
        self.frames_out = 0

    def push(self, audio: np.ndarray) -> np.ndarray:
        """New complete frames, (k, N_MELS)."""
        self._pending = np.concatenate([self._pending, np.asarray(audio, dtype=np.float32)])
        frames = log_mel(self._pending)
        if len(frames):
            self._pending = self._pending[len(frames) * HOP:]
            self.frames_out += len(frames)
        return frames
