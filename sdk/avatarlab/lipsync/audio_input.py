"""Decode any audio format ffmpeg reads (WAV, FLAC, OGG, MP3, M4A...) to mono float32 at a chosen rate.

Uses the ffmpeg binary bundled with the ``imageio-ffmpeg`` package, so nothing has to be installed system-wide.
Integer PCM WAV files, mono or stereo, already at the requested rate are read with the stdlib ``wave`` module
instead (the same samples ffmpeg gives, without starting a process: ~1 ms instead of ~25 ms).
"""

from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import numpy as np

from ..errors import AvatarLabError

#: Longest input accepted, in seconds (10 minutes): longer files are refused before any alignment starts.
MAX_AUDIO_SECONDS = 600.0
_MIN_RATE, _MAX_RATE = 8000, 192000
#: What to tell a user who gave something else (an image, a document...).
AUDIO_FORMATS = "a WAV, FLAC, OGG, MP3 or M4A file (any format ffmpeg decodes, with a sound track)"


class InvalidAudioError(AvatarLabError, ValueError):
    """The audio is missing, unreadable, corrupt or has no samples."""


class AudioTooLongError(InvalidAudioError):
    """The audio is longer than MAX_AUDIO_SECONDS."""


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as error:  # pragma: no cover - it is a dependency
        raise InvalidAudioError("decoding audio needs the imageio-ffmpeg package: pip install imageio-ffmpeg") from error
    return imageio_ffmpeg.get_ffmpeg_exe()


def load_audio(path: str | os.PathLike, sample_rate: int, max_seconds: float = MAX_AUDIO_SECONDS) -> np.ndarray:
    """The file's audio, downmixed to mono and resampled to ``sample_rate``, as float32 in [-1, 1].

    Raises InvalidAudioError (missing, unreadable, corrupt or empty) or AudioTooLongError.
    """
    if not isinstance(sample_rate, int) or not _MIN_RATE <= sample_rate <= _MAX_RATE:
        raise InvalidAudioError(f"sample_rate must be a whole number of Hz from {_MIN_RATE} to {_MAX_RATE}, "
                                f"got {sample_rate!r}")
    path = Path(path)
    if not path.is_file():
        raise InvalidAudioError(f"audio file {path} does not exist or is not a file; check the path")
    if path.stat().st_size == 0:
        raise InvalidAudioError(f"audio file {path} is empty (0 bytes); record or export the line again")
    audio = _read_pcm_wav(path, sample_rate, max_seconds)
    if audio is not None:
        return _checked(audio, path, sample_rate, max_seconds)
    limit = max_seconds + 0.05  # decode a little past the limit so an over-long file is recognised as such
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{limit:.3f}", "-vn",
               "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=300, check=False)
    except subprocess.TimeoutExpired as error:
        raise InvalidAudioError(f"decoding {path} took over 300 s; convert it to WAV first") from error
    if result.returncode != 0:
        raise InvalidAudioError(_decode_failure(path, result.stderr.decode("utf-8", "replace"), result.returncode))
    return _checked(np.frombuffer(result.stdout, dtype=np.float32), path, sample_rate, max_seconds)


def _decode_failure(path: Path, stderr: str, returncode: int) -> str:
    """Why ffmpeg could not decode ``path``, in words a user can act on (not ffmpeg's last line)."""
    if "does not contain any stream" in stderr:  # -vn left nothing to decode
        return (f"{path} is not an audio file: it has no sound track (an image or a silent video?); "
                f"give {AUDIO_FORMATS}")
    if "Error opening input" in stderr or "Invalid data found when processing input" in stderr:
        return (f"{path} is not an audio file ffmpeg can read (another kind of file, or a damaged one); "
                f"give {AUDIO_FORMATS}")
    detail = stderr.strip().splitlines()
    reason = detail[-1] if detail else f"ffmpeg exit status {returncode}"
    return f"cannot decode {path} as audio ({reason}); give {AUDIO_FORMATS}"


#: ffmpeg's stereo-to-mono downmix (-ac 1): both channels at -3 dB.
_STEREO_GAIN = np.float32(np.sqrt(0.5))


def _read_pcm_wav(path: Path, sample_rate: int, max_seconds: float) -> np.ndarray | None:
    """Mono float32 samples of an integer PCM WAV at ``sample_rate`` (1 or 2 channels), as ffmpeg would decode
    them (at most one sample past ``max_seconds``); None for anything else (other rates, float or compressed
    WAV, other formats, odd headers): ffmpeg decodes those."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, frames = wav.getnchannels(), wav.getsampwidth(), wav.getnframes()
            if wav.getframerate() != sample_rate or channels not in (1, 2) or frames <= 0:
                return None
            raw = wav.readframes(min(frames, int(max_seconds * sample_rate) + 1))
    except (wave.Error, EOFError, OSError, ValueError, RuntimeError):  # RuntimeError: a chunk cut short
        return None
    count = len(raw) // (width * channels)
    if count == 0:
        return None
    raw = raw[: count * width * channels]
    if width == 1:
        audio = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        audio = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        audio = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 8388608.0
    elif width == 4:
        audio = (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        return None
    if channels == 2:
        audio = audio.reshape(-1, 2)
        audio = audio[:, 0] * _STEREO_GAIN + audio[:, 1] * _STEREO_GAIN
    return audio


def _checked(audio: np.ndarray, path: Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    if audio.size == 0:
        raise InvalidAudioError(f"{path} has no audio samples; give a file with a speech track")
    if audio.size > max_seconds * sample_rate:
        raise AudioTooLongError(f"{path} is longer than the {max_seconds:g} s limit; "
                                "split it into shorter lines (for example at pauses) and lip-sync each")
    audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)
