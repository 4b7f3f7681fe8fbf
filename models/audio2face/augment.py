"""Audio augmentation for the audio-to-viseme training set; every change keeps phone timings known.

Only ``speed`` moves time, and it returns the factor so the labels can be scaled with it. Reverb keeps
the direct path at lag 0 and codec round trips are re-aligned by cross-correlation, so neither shifts
the labels.
"""

from __future__ import annotations

import subprocess

import numpy as np

RATE = 16000


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch and formants move with it, like a tape): len / factor samples."""
    n = int(len(audio) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(audio)), audio).astype(np.float32)


def gain_db(audio: np.ndarray, db: float) -> np.ndarray:
    return (audio * 10.0 ** (db / 20.0)).astype(np.float32)


def coloured_noise(rng: np.random.Generator, n: int, slope: float) -> np.ndarray:
    """Noise whose power falls as f^-slope (0 white, 1 pink, 2 brown), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    noise = np.fft.irfft(spectrum / f ** (slope / 2.0), n)
    return (noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)).astype(np.float32)


def add_noise(audio: np.ndarray, rng: np.random.Generator, snr_db: float, slope: float) -> np.ndarray:
    speech_rms = np.sqrt(np.mean(audio ** 2)) + 1e-9
    return (audio + coloured_noise(rng, len(audio), slope) * speech_rms * 10.0 ** (-snr_db / 20.0)).astype(np.float32)


def _fft_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]


def reverb(audio: np.ndarray, rng: np.random.Generator, rt60_s: float, wet: float) -> np.ndarray:
    """A synthetic room: the direct sound at lag 0 plus exponentially decaying diffuse noise."""
    length = int(rt60_s * RATE)
    t = np.arange(length) / RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.003 * RATE)] = 0.0  # first reflections arrive a few ms late
    tail *= wet / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    tail[0] = 1.0
    out = _fft_convolve(audio, tail)[: len(audio)]
    return (out * np.sqrt(np.mean(audio ** 2)) / (np.sqrt(np.mean(out ** 2)) + 1e-12)).astype(np.float32)


def band_limit(audio: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Zero-phase band pass with smooth (1/3-octave) skirts."""
    spectrum = np.fft.rfft(audio)
    f = np.fft.rfftfreq(len(audio), 1.0 / RATE)
    gain = np.clip(np.log2(np.maximum(f, 1.0) / low_hz) * 3.0 + 1.0, 0.0, 1.0)
    gain *= np.clip(np.log2(high_hz / np.maximum(f, 1.0)) * 3.0 + 1.0, 0.0, 1.0)
    return np.fft.irfft(spectrum * gain, len(audio)).astype(np.float32)


def _lag(reference: np.ndarray, other: np.ndarray, max_lag: int) -> int:
    """Samples by which ``other`` trails ``reference``."""
    n = min(len(reference), len(other))
    corr = _fft_convolve(other[:n], reference[:n][::-1])
    centre = n - 1
    window = corr[centre - max_lag: centre + max_lag + 1]
    return int(np.argmax(window)) - max_lag


def codec(audio: np.ndarray, ffmpeg: str, codec_args: list[str], container: str) -> np.ndarray:
    """Encode and decode through ffmpeg (mp3, ogg/vorbis, ...), then undo any codec delay."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
    raw = ["-f", "s16le", "-ar", str(RATE), "-ac", "1"]
    encoded = subprocess.run([ffmpeg, "-v", "error", *raw, "-i", "-", *codec_args, "-f", container, "-"],
                             input=pcm, capture_output=True, check=True).stdout
    decoded = subprocess.run([ffmpeg, "-v", "error", "-i", "-", *raw, "-"],
                             input=encoded, capture_output=True, check=True).stdout
    out = np.frombuffer(decoded, dtype=np.int16).astype(np.float32) / 32767.0
    lag = _lag(audio, out, int(0.1 * RATE))
    out = out[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), out])
    if len(out) < len(audio):
        out = np.concatenate([out, np.zeros(len(audio) - len(out), np.float32)])
    return out[: len(audio)]


CODECS = (
    (["-c:a", "libmp3lame", "-b:a", "32k"], "mp3"),
    (["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"),
    (["-c:a", "libvorbis", "-q:a", "0"], "ogg"),
)


def augment(audio: np.ndarray, rng: np.random.Generator, ffmpeg: str | None) -> tuple[np.ndarray, float]:
    """One random chain of the above; returns the audio and its speed factor (time scale 1 / factor)."""
    factor = float(rng.uniform(0.88, 1.12)) if rng.random() < 0.6 else 1.0
    if factor != 1.0:
        audio = speed(audio, factor)
    if rng.random() < 0.35:
        audio = reverb(audio, rng, float(rng.uniform(0.15, 0.7)), float(rng.uniform(0.2, 0.8)))
    if rng.random() < 0.4:
        low, high = [(300, 3400), (100, 4000), (150, 5500), (60, 7000)][int(rng.integers(4))]
        audio = band_limit(audio, low, high)
    if ffmpeg and rng.random() < 0.25:
        args, container = CODECS[int(rng.integers(len(CODECS)))]
        audio = codec(audio, ffmpeg, args, container)
    if rng.random() < 0.6:
        audio = add_noise(audio, rng, float(rng.uniform(5, 35)), float(rng.choice([0.0, 1.0, 2.0])))
    audio = gain_db(audio, float(rng.uniform(-20, 6)))
    return np.clip(audio, -1, 1).astype(np.float32), factor
