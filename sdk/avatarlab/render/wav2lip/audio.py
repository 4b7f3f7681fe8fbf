"""The audio side of Wav2Lip: the paper's mel spectrogram (Wav2Lip's audio.py and hparams.py, in numpy) and the
16-frame mel window each video frame sees.

Settings, as the public checkpoints were trained with: 16 kHz mono, pre-emphasis 0.97, STFT with n_fft 800, hop 200,
Hann window 800 (centred, reflect padding: librosa 0.7's stft), 80 Slaney mel bands 55-7600 Hz (area-normalised,
librosa.filters.mel), amplitude to dB with a floor at -100 dB, minus the 20 dB reference level, then scaled
symmetrically to [-4, 4] with clipping. Mel frames run at 16000 / 200 = 80 per second, so video frame i (at
``fps``) starts its window at mel frame int(i * 80 / fps), as the original inference does.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from .errors import Wav2LipError

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WINDOW = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS_VALUE = 4.0
#: Mel frames the model sees per video frame, and mel frames per second.
MEL_STEP = 16
MEL_FPS = SAMPLE_RATE / HOP
#: Longest audio a render accepts (seconds): a 25 fps render of it is 3000 frames (minutes on a CPU).
MAX_AUDIO_SECONDS = 120.0


class Wav2LipAudioError(Wav2LipError, ValueError):
    """The audio cannot drive a Wav2Lip render: empty, too long, not numbers, a bad sample rate."""


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_region = hz >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def mel_basis() -> np.ndarray:
    """(80, 401) triangular filters as librosa.filters.mel(16000, 800, 80, 55, 7600) makes them (norm='slaney')."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_freqs = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    gaps = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / gaps[:-1, None]
    upper = ramps[2:] / gaps[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2:] - mel_freqs[:-2]))[:, None]
    return weights


_BASIS: np.ndarray | None = None


def _stft_magnitude(samples: np.ndarray) -> np.ndarray:
    """|STFT| (401, 1 + len // 200): periodic Hann window, frames centred by reflect-padding n_fft / 2 each side."""
    padded = np.pad(samples, N_FFT // 2, mode="reflect" if len(samples) > N_FFT // 2 else "constant")
    count = 1 + (len(padded) - N_FFT) // HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)
    frames = np.lib.stride_tricks.as_strided(padded, (count, N_FFT), (padded.strides[0] * HOP, padded.strides[0]))
    return np.abs(np.fft.rfft(frames * window, axis=1)).T


def melspectrogram(samples: np.ndarray) -> np.ndarray:
    """16 kHz mono samples -> (80, 1 + len // 200) float32 in [-4, 4] (Wav2Lip's audio.melspectrogram)."""
    global _BASIS
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    if len(samples) == 0:
        raise Wav2LipAudioError("the audio has no samples")
    emphasised = np.concatenate([samples[:1], samples[1:] - PREEMPHASIS * samples[:-1]])
    if _BASIS is None:
        _BASIS = mel_basis()
    mel = _BASIS @ _stft_magnitude(emphasised)
    floor = np.exp(MIN_LEVEL_DB / 20 * np.log(10))
    decibels = 20 * np.log10(np.maximum(floor, mel)) - REF_LEVEL_DB
    scaled = 2 * MAX_ABS_VALUE * ((decibels - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS_VALUE
    return np.clip(scaled, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def mel_start(index: int, fps: float) -> int:
    """The first mel frame of video frame ``index``'s window: int(index * 80 / fps), as Wav2Lip's inference."""
    return int(index * (MEL_FPS / fps))


def mel_chunks(mel: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """(frames, 1, 80, 16) windows, frame i's starting at mel_start(i, fps). Windows running past the end are
    padded with silence (-4, the floor), so every video frame of the audio gets one."""
    starts = np.array([mel_start(index, fps) for index in range(frames)], dtype=np.int64)
    needed = int(starts[-1]) + MEL_STEP if frames else 0
    if needed > mel.shape[1]:
        mel = np.pad(mel, ((0, 0), (0, needed - mel.shape[1])), constant_values=-MAX_ABS_VALUE)
    columns = starts[:, None] + np.arange(MEL_STEP)[None, :]
    return np.ascontiguousarray(mel[:, columns].transpose(1, 0, 2)[:, None], dtype=np.float32)


def video_frames(num_samples: int, sample_rate: int, fps: float) -> int:
    """ceil(num_samples * fps / sample_rate): every frame whose time i / fps falls inside the audio."""
    return max(1, int(np.ceil(num_samples * fps / sample_rate - 1e-9)))


def resample(samples: np.ndarray, sample_rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float samples from any rate to ``target`` with ffmpeg's resampler (the one load_audio uses)."""
    from ..images import ffmpeg_exe

    samples = np.ascontiguousarray(samples, dtype="<f4").reshape(-1)
    if sample_rate == target:
        return samples.copy()
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(sample_rate), "-ac", "1",
               "-i", "pipe:0", "-ar", str(target), "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    result = subprocess.run(command, input=samples.tobytes(), capture_output=True, timeout=300, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["unknown error"]
        raise Wav2LipAudioError(f"cannot resample the audio from {sample_rate} Hz: {detail[0]}")
    return np.frombuffer(result.stdout, dtype=np.float32).copy()


def checked_samples(samples: np.ndarray, sample_rate: int, max_seconds: float = MAX_AUDIO_SECONDS) -> np.ndarray:
    """Mono float32 samples, refused when empty, not finite, at a silly rate or longer than ``max_seconds``."""
    if not isinstance(sample_rate, (int, np.integer)) or not 8000 <= sample_rate <= 192000:
        raise Wav2LipAudioError(f"sample_rate must be a whole number of Hz from 8000 to 192000, got {sample_rate!r}")
    array = np.asarray(samples)
    if array.ndim == 2:  # (n, channels): mixed down
        array = array.mean(axis=1)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
        raise Wav2LipAudioError(f"audio must be mono samples (n,) or (n, channels), got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        array = array / float(np.iinfo(array.dtype).max)
    if len(array) == 0:
        raise Wav2LipAudioError("the audio has no samples")
    seconds = len(array) / sample_rate
    if seconds > max_seconds:
        raise Wav2LipAudioError(f"the audio is {seconds:.1f} s long; a Wav2Lip render takes at most "
                                f"{max_seconds:g} s: split the line")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise Wav2LipAudioError("the audio holds NaN or infinite samples")
    return array


def load(audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
         max_seconds: float = MAX_AUDIO_SECONDS) -> tuple[np.ndarray, int]:
    """(samples, rate) from a file any format ffmpeg reads (kept at its own rate, mono) or from samples + rate."""
    if isinstance(audio, (str, os.PathLike)):
        from ...lipsync.audio_input import AudioTooLongError, load_audio

        path = Path(audio)
        rate = sample_rate or _file_rate(path)
        try:
            samples = load_audio(path, rate, max_seconds)
        except AudioTooLongError as error:
            raise Wav2LipAudioError(f"{error}; a Wav2Lip render takes at most {max_seconds:g} s: split the line"
                                    ) from error
        return checked_samples(samples, rate, max_seconds), rate
    if sample_rate is None:
        raise Wav2LipAudioError("give the sample rate with audio samples (sample_rate=...)")
    return checked_samples(audio, sample_rate, max_seconds), int(sample_rate)


def _file_rate(path: Path) -> int:
    """The file's own sample rate (so the video carries its audio unchanged), 16 kHz when it cannot be read."""
    import re

    from ..images import ffmpeg_exe

    if not path.is_file():
        return SAMPLE_RATE  # load_audio says what is wrong
    result = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)], capture_output=True,
                            timeout=60, check=False)
    found = re.search(r"Audio: .*?, (\d+) Hz", result.stderr.decode("utf-8", "replace"))
    rate = int(found.group(1)) if found else SAMPLE_RATE
    return rate if 8000 <= rate <= 192000 else SAMPLE_RATE
