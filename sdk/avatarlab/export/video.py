"""``avatarlab export --video``: an MP4 of the avatar saying each line, beside its WAV, curves JSON and GLB.

A line's video is a stage of its own: it is done when ``<name>.mp4`` exists and carries, in its ``comment`` tag,
the video fingerprint (the line's job fingerprint plus every setting that changes the picture). So a finished
video is not redone, a video whose settings changed is redone without speaking the line again (it is drawn from
the line's curves JSON and WAV on disk), and an interrupted one leaves nothing under the final name (the render
writes a hidden temporary file and renames it only when ffmpeg has finished).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidOptionError
from ..render.settings import FPS_CHOICES, RenderSettings

#: Bump when the renderer draws differently enough that finished videos should be redone.
RENDER_VERSION = 1
TAG_PREFIX = "avatarlab-video-job:"
_MAX_MOOV = 256 << 20  # the index box of a long video is a few MB; anything far bigger is not ours


@dataclass(frozen=True)
class VideoOptions:
    """How every line's video looks; ``key`` names the picture settings for the fingerprint (the background image
    by its content, so a replaced image redoes the videos)."""

    render: RenderSettings
    key: str


def video_options(size: tuple[int, int], fps: int, background: str, camera: str, profile: str) -> VideoOptions:
    """Checked settings for export's videos; InvalidOptionError (exit 2) names the option at fault."""
    from ..render.settings import Background

    if fps not in FPS_CHOICES:
        raise InvalidOptionError(f"with --video, --fps is also the video's frame rate: one of "
                                 f"{', '.join(map(str, FPS_CHOICES))}, got {fps}", "fps")
    settings = RenderSettings(size=size, fps=fps, background=Background.parse(background), camera=camera,
                              profile=profile).checked()
    picture = settings.background.image
    key = {"size": list(settings.size), "fps": settings.fps, "camera": settings.camera, "crf": settings.crf,
           "antialias": settings.antialias, "renderer": RENDER_VERSION,
           "background": _file_sha256(picture) if picture is not None else list(settings.background.colour)}
    return VideoOptions(settings, json.dumps(key, sort_keys=True))


def _file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as error:
        raise InvalidOptionError(f"cannot read --background {path}: {error.strerror or error}", "background") \
            from error


def video_fingerprint(job: str, options: VideoOptions) -> str:
    """The line's job fingerprint and the picture settings together."""
    return hashlib.sha256(f"{job}\n{options.key}".encode()).hexdigest()[:24]


def video_tag(path: Path) -> str | None:
    """The fingerprint in an MP4's ``comment`` tag (read from its index box, which +faststart puts first), or None
    when the file is missing, not an MP4 or not ours."""
    moov = _moov(path)
    if moov is None:
        return None
    start = moov.find(TAG_PREFIX.encode())
    if start < 0:
        return None
    value = moov[start + len(TAG_PREFIX):start + len(TAG_PREFIX) + 24]
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if all(c in "0123456789abcdef" for c in text) and len(text) == 24 else None


def _moov(path: Path) -> bytes | None:
    """The MP4's top-level ``moov`` box, walking the box headers (size, type; 64-bit sizes too)."""
    try:
        with open(path, "rb") as handle:
            end = os.fstat(handle.fileno()).st_size
            offset = 0
            while offset + 8 <= end:
                handle.seek(offset)
                size, kind = struct.unpack(">I4s", handle.read(8))
                header = 8
                if size == 1:
                    size, header = struct.unpack(">Q", handle.read(8))[0], 16
                elif size == 0:
                    size = end - offset
                if size < header:
                    return None
                if kind == b"moov":
                    return handle.read(size - header) if size - header <= _MAX_MOOV else None
                offset += size
    except OSError:
        return None
    return None


def video_done(path: Path, job: str, options: VideoOptions) -> bool:
    return video_tag(path) == video_fingerprint(job, options)


# ---- rendering, in the worker that exports the line -------------------------------------------------------------
_RENDERERS: dict[tuple[str, str, str], Any] = {}


def _renderer(avatar: bytes, digest: str, options: VideoOptions):
    """One Renderer per avatar and picture settings per process, made on first use (a GL context and the avatar's
    buffers take a moment; every line of a batch shares them)."""
    key = (digest, options.key, options.render.profile)
    if key not in _RENDERERS:
        from ..render import Avatar, Renderer

        _RENDERERS[key] = Renderer(Avatar.load(avatar, options.render.profile), options.render)
    return _RENDERERS[key]


def close_renderers() -> None:
    """Release the GL contexts this process made (the batch ran in-process)."""
    while _RENDERERS:
        _RENDERERS.popitem()[1].close()


def render_line_video(curves_source: Any, out: Path, job: str, avatar: bytes, digest: str, options: VideoOptions,
                      frames_done: Callable[[int], None] | None = None) -> tuple[int, float]:
    """Render one line's MP4 (from an Utterance, or the path of its curves JSON with the WAV it names) with the
    fingerprint in its comment tag; (frames, seconds taken). ``frames_done(n)`` hears of frames as they are drawn."""
    from ..render import render_video

    started = time.perf_counter()
    last = [0]

    def progress(done: int, total: int) -> None:
        if frames_done is not None:
            frames_done(done - last[0])
            last[0] = done

    result = render_video(curves_source, out, options.render, renderer=_renderer(avatar, digest, options),
                          progress=progress, metadata={"comment": TAG_PREFIX + video_fingerprint(job, options)})
    return result.frames, time.perf_counter() - started
