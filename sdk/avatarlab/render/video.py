"""Render a line to frames or to a video file: the library API behind ``avatarlab render``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidOptionError
from .avatar import Avatar
from .curves import Curves, load_curves
from .encoder import VideoEncoder
from .renderer import Renderer
from .settings import RenderSettings

Source = Any  # Curves, an Engine/lipsync Utterance, or the path of a curves JSON


@dataclass
class Frame:
    """One video frame: index i, its time i / fps in the audio, and its pixels (height, width, 3 or 4 uint8)."""

    index: int
    time: float
    image: np.ndarray


@dataclass
class VideoResult:
    path: Path
    frames: int
    fps: int
    duration_s: float  # of the audio
    elapsed_s: float
    device: str

    @property
    def render_fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    @property
    def realtime_factor(self) -> float:
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def summary(self) -> str:
        return (f"{self.frames} frames at {self.fps} fps ({self.duration_s:.2f} s) rendered in {self.elapsed_s:.1f} s: "
                f"{self.render_fps:.1f} frames/s, {self.realtime_factor:.2f}x real time on {self.device}")


def as_curves(source: Source, audio: str | os.PathLike | None = None) -> Curves:
    """Curves from a Curves, an Utterance (Engine.speak, lipsync) or a curves JSON path (with ``audio``)."""
    if isinstance(source, Curves):
        return source
    if isinstance(source, (str, os.PathLike)):
        return load_curves(source, audio)
    if hasattr(source, "frames") and hasattr(source, "audio") and hasattr(source, "sample_rate"):
        return Curves.from_utterance(source)
    raise TypeError(f"render source must be Curves, an Utterance or a curves JSON path, got {type(source).__name__}")


def _avatar(avatar: Avatar | str | os.PathLike | bytes | None, settings: RenderSettings) -> Avatar:
    return avatar if isinstance(avatar, Avatar) else Avatar.load(avatar, settings.profile)


def iter_frames(source: Source, settings: RenderSettings | None = None, *, audio: str | os.PathLike | None = None,
                avatar: Avatar | str | os.PathLike | bytes | None = None, renderer: Renderer | None = None
                ) -> Iterator[Frame]:
    """Yield the video's frames in order (RGBA; straight alpha when ``settings.transparent``), for compositing.

    Frame i shows the curves at t = i / fps of the audio; there are ceil(num_samples * fps / sample_rate) frames.
    """
    settings = (settings or RenderSettings()).checked()
    curves = as_curves(source, audio)
    _check_renderer(renderer, settings)
    own = renderer is None
    renderer = renderer or Renderer(_avatar(avatar, settings), settings)
    try:
        yield from _frames(curves, renderer, settings.fps)
    finally:
        if own:
            renderer.close()


def _check_renderer(renderer: Renderer | None, settings: RenderSettings) -> None:
    """A reused Renderer must draw what the settings ask for (its size, background and transparency are fixed)."""
    if renderer is None:
        return
    fixed = ("size", "background", "transparent", "camera", "antialias")
    different = [name for name in fixed if getattr(renderer.settings, name) != getattr(settings, name)]
    if different:
        raise InvalidOptionError(f"the renderer was made with other {', '.join(different)} than these settings; "
                                 "make a Renderer with the same settings", different[0])


def _frames(curves: Curves, renderer: Renderer, fps: int) -> Iterator[Frame]:
    for index in range(curves.video_frames(fps)):
        t = index / fps
        yield Frame(index, t, renderer.render(curves.at(t)))


def _progress(progress: bool | Callable[[int, int], None], total: int):
    """A tqdm bar (frames and frames per second) or the caller's callback(done, total)."""
    if callable(progress):
        return None, progress
    if not progress:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc="rendering", unit="frame", dynamic_ncols=True)
    return bar, lambda done, _: bar.update(1)


def render_video(source: Source, out: str | os.PathLike, settings: RenderSettings | None = None, *,
                 audio: str | os.PathLike | None = None, avatar: Avatar | str | os.PathLike | bytes | None = None,
                 renderer: Renderer | None = None, progress: bool | Callable[[int, int], None] = False,
                 metadata: Mapping[str, str] | None = None) -> VideoResult:
    """Render ``source`` with its audio to ``out`` (.mp4: H.264 + AAC; .webm when ``settings.transparent``: VP9 with
    alpha + Vorbis). Nothing is left under ``out`` unless the whole video was written.

    ``avatar``: an Avatar, a .glb/.vrm/.gltf path or GLB bytes (default: the default head); ``renderer``: reuse
    one across videos of the same size (e.g. a batch). ``progress``: True for a progress bar on stderr, or a
    callback(done, total). ``metadata``: tags for the file (``{"title": ..., "comment": ...}``).
    """
    settings = (settings or RenderSettings()).checked()
    out = Path(out)
    if out.suffix.lower() != settings.video_suffix:
        raise InvalidOptionError(f"the output of a {'transparent' if settings.transparent else 'normal'} render is a "
                                 f"{settings.video_suffix} file, got {out.name!r}", "out")
    curves = as_curves(source, audio)
    _check_renderer(renderer, settings)
    own = renderer is None
    renderer = renderer or Renderer(_avatar(avatar, settings), settings)
    started = time.perf_counter()
    total = curves.video_frames(settings.fps)
    bar, report = _progress(progress, total)
    try:
        with VideoEncoder(out, settings.size, settings.fps, curves.audio, curves.sample_rate, settings.transparent,
                          settings.crf, bottom_up=True, metadata=metadata) as encoder:
            for index in range(total):  # read back bottom row first into reused buffers: no copy per frame
                encoder.write(renderer.draw_frame(curves.at(index / settings.fps), out=encoder.frame_buffer()))
                if report is not None:
                    report(index + 1, total)
            encoder.finish()
    finally:
        if bar is not None:
            bar.close()
        device = renderer.gl.label if renderer.gl is not None else "?"
        if own:
            renderer.close()
    return VideoResult(out, total, settings.fps, curves.duration_s, time.perf_counter() - started, device)
