"""Errors of the renderer: each says what is wrong and what to do next (the CLI prints them, exit code 2)."""

from __future__ import annotations

from ..errors import AvatarLabError


class RenderError(AvatarLabError):
    """Rendering or encoding cannot go on (no OpenGL, ffmpeg stopped, unwritable output...)."""


class AvatarFileError(RenderError, ValueError):
    """The avatar file is not glTF 2.0, is damaged, or has no face the retarget profiles can drive."""


class CurvesError(RenderError, ValueError):
    """A curves JSON is malformed or does not match its audio."""
