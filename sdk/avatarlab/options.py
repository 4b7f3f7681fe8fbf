"""Synthesis options and their documented limits, checked in one place."""

from __future__ import annotations

from dataclasses import dataclass

from .animation.animator import MAX_FPS, MIN_FPS
from .animation.emotion import EMOTIONS
from .errors import InvalidOptionError, InvalidTextError
from .voice import VoiceConfig

MAX_TEXT_CHARS = 5000
DEFAULT_FPS = 60
MIN_SPEED, MAX_SPEED = 0.25, 4.0
MAX_NOISE = 2.0
MAX_SENTENCE_SILENCE_S = 10.0


@dataclass(frozen=True)
class SynthesisOptions:
    """How to speak a line. ``None`` means the voice config's own default."""

    speed: float = 1.0  # > 1 speaks faster (divides the voice's length_scale)
    noise_scale: float | None = None  # voice variation (VITS noise_scale)
    noise_w: float | None = None  # duration variation (VITS noise_w)
    speaker: int | str | None = None  # id or name, multi-speaker voices only
    sentence_silence: float = 0.0  # seconds of silence added between sentences
    fps: int = DEFAULT_FPS
    seed: int = 0  # same seed, same audio and animation
    emotion: str = "neutral"
    emotion_intensity: float = 1.0

    def checked(self) -> SynthesisOptions:
        """Return self, or raise InvalidOptionError naming the option and its allowed range."""
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or not MIN_FPS <= self.fps <= MAX_FPS:
            raise InvalidOptionError(f"fps must be a whole number from {MIN_FPS} to {MAX_FPS}, got {self.fps!r}", "fps")
        _check_range("speed", self.speed, MIN_SPEED, MAX_SPEED)
        if self.noise_scale is not None:
            _check_range("noise_scale", self.noise_scale, 0.0, MAX_NOISE)
        if self.noise_w is not None:
            _check_range("noise_w", self.noise_w, 0.0, MAX_NOISE)
        _check_range("sentence_silence", self.sentence_silence, 0.0, MAX_SENTENCE_SILENCE_S)
        _check_range("emotion_intensity", self.emotion_intensity, 0.0, 1.0)
        if self.emotion not in EMOTIONS:
            raise InvalidOptionError(f"unknown emotion {self.emotion!r}; choose one of {', '.join(EMOTIONS)}", "emotion")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise InvalidOptionError(f"seed must be a non-negative whole number below 2**63, got {self.seed!r}", "seed")
        return self

    def scales(self, config: VoiceConfig) -> tuple[float, float, float]:
        """VITS [noise_scale, length_scale, noise_w] for this voice."""
        noise = config.noise_scale if self.noise_scale is None else self.noise_scale
        noise_w = config.noise_w if self.noise_w is None else self.noise_w
        return (float(noise), float(config.length_scale / self.speed), float(noise_w))

    def speaker_id(self, config: VoiceConfig) -> int | None:
        """The model's speaker id, or None for single-speaker voices."""
        if config.num_speakers <= 1:
            if self.speaker not in (None, 0, "0"):
                raise InvalidOptionError(f"this voice has one speaker; speaker {self.speaker!r} is not available", "speaker")
            return None
        if self.speaker is None:
            return 0
        if isinstance(self.speaker, str) and not self.speaker.isdigit():
            if self.speaker not in config.speaker_id_map:
                names = ", ".join(sorted(config.speaker_id_map)) or "none"
                raise InvalidOptionError(f"unknown speaker {self.speaker!r}; this voice has: {names}", "speaker")
            return config.speaker_id_map[self.speaker]
        speaker = int(self.speaker)
        if not 0 <= speaker < config.num_speakers:
            raise InvalidOptionError(f"speaker id must be from 0 to {config.num_speakers - 1}, got {speaker}", "speaker")
        return speaker


def _check_range(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidOptionError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}", name)


def checked_text(text: str | bytes) -> str:
    """The text to speak, or InvalidTextError for empty, oversize, non-UTF-8 or NUL-holding input.

    Every entry point (CLI, export rows, the daemon, the library) checks text here, so they agree.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidTextError(f"text is not valid UTF-8 (byte {error.start}); re-encode it as UTF-8") from error
    if not isinstance(text, str):
        raise InvalidTextError(f"text must be a string, got {type(text).__name__}")
    if "\ud800" <= max(text, default=" ") and any("\ud800" <= ch <= "\udfff" for ch in text):
        raise InvalidTextError("text is not valid UTF-8 (it holds unpaired surrogates)")
    if "\x00" in text:
        raise InvalidTextError(
            f"text holds a NUL character (at character {text.index(chr(0))}); remove it. A file full of them is "
            "probably UTF-16 or binary: save it as UTF-8 text"
        )
    if not text.strip():
        raise InvalidTextError("text is empty; give at least one word to speak")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidTextError(
            f"text has {len(text)} characters, over the limit of {MAX_TEXT_CHARS}; split it into several requests"
        )
    return text
