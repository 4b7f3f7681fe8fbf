"""Typed errors: each says what went wrong and what to do next."""

from __future__ import annotations


class AvatarLabError(Exception):
    """Base class of every error the library raises on purpose."""


class InvalidTextError(AvatarLabError, ValueError):
    """The text is empty, too long, or not valid UTF-8."""


class InvalidOptionError(AvatarLabError, ValueError):
    """An option (fps, speed, emotion, speaker...) is out of its documented range."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option  # the option's name, when one option is at fault


class VoiceNotFoundError(AvatarLabError, LookupError):
    """No voice matches the given name or path."""


class VoiceConfigError(AvatarLabError, ValueError):
    """A voice's .onnx.json config or .onnx graph is missing, unreadable or not a Piper VITS voice."""
