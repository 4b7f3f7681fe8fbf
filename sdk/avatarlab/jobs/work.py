"""One job's work, in a worker process: the same library calls as ``avatarlab render`` and ``avatarlab export``.

Engines (one per voice) and the last renderer stay loaded between jobs, so a worker pays for them once.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .request import OUTPUT_FILES, Inputs, JobRequest

#: progress(stage, done, total)
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY_S = 0.25  # frame counts go to the bridge at most this often

THREADS: int | None = None  # onnxruntime threads per Engine: the worker's share of the cores (None: all)
_ENGINES: dict[str | None, Any] = {}
_AVATARS: dict[str | None, bytes] = {}
_RENDERER: list = []  # [(avatar path, settings), Renderer]: the last one, reused by the next job that matches


def _engine(voice: str | None):
    from ..engine import Engine

    if voice not in _ENGINES:
        _ENGINES[voice] = Engine(voice=voice, threads=THREADS)
    return _ENGINES[voice]


def _avatar_bytes(path: str | None) -> bytes:
    if path not in _AVATARS:
        from ..avatar import default_avatar_glb

        _AVATARS.clear()  # one avatar kept: uploaded ones are many, and each is read in a few ms
        _AVATARS[path] = Path(path).read_bytes() if path is not None else default_avatar_glb()
    return _AVATARS[path]


def make_utterance(request: JobRequest, inputs: Inputs, progress: Progress) -> tuple[Any, list[str]]:
    """Speak the text with the voice, or lip-sync the uploaded recording (as render and lipsync do)."""
    options = request.options()
    if request.text is not None:
        progress("speaking", 0, 0)
        return _engine(request.voice).speak(request.text, options), []
    from ..lipsync import lipsync

    progress("listening", 0, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        utterance = lipsync(Path(str(inputs.audio)), request.transcript, options)
    return utterance, [str(warning.message) for warning in caught]


def side_files(request: JobRequest, inputs: Inputs, utterance: Any) -> dict[str, bytes]:
    """The requested wav, json, csv and glb files, as ``avatarlab export`` writes them."""
    from ..export.glb import animate_avatar
    from ..output import curves_dict, live_link_csv, wav_bytes

    files: dict[str, bytes] = {}
    wav_name = OUTPUT_FILES["wav"]
    if "wav" in request.outputs:
        files[wav_name] = wav_bytes(utterance.audio, utterance.sample_rate)
    if "json" in request.outputs:
        files[OUTPUT_FILES["json"]] = (json.dumps(curves_dict(utterance, wav_name), ensure_ascii=False)
                                       + "\n").encode()
    if "csv" in request.outputs:
        files[OUTPUT_FILES["csv"]] = live_link_csv(utterance).encode("utf-8")
    if "glb" in request.outputs:
        extras = {"audio": wav_name, "curves": OUTPUT_FILES["json"], "text": request.text or utterance.text,
                  "voice": utterance.voice, "fps": request.fps, "sample_rate": utterance.sample_rate,
                  "duration_s": round(utterance.duration_s, 6), "avatar": request.avatar}
        glb, _ = animate_avatar(_avatar_bytes(inputs.avatar_glb), utterance.frames, "auto", inputs.name, extras)
        files[OUTPUT_FILES["glb"]] = glb
    return files


def _frame_reporter(progress: Progress) -> Callable[[int, int], None]:
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            progress("rendering", done, total)

    return report


def render_mp4(request: JobRequest, inputs: Inputs, utterance: Any, out: Path, progress: Progress) -> None:
    """The video: the avatar drawn by the renderer (as ``avatarlab render``), or the photo by Wav2Lip."""
    report = _frame_reporter(progress)
    if request.renderer == "wav2lip":
        from ..render.wav2lip import Wav2LipRenderer

        renderer = Wav2LipRenderer(str(inputs.wav2lip_checkpoint))
        renderer.render(str(inputs.avatar_photo), utterance.audio, out, sample_rate=utterance.sample_rate,
                        fps=request.fps, progress=report)
        return
    from ..render.curves import Curves
    from ..render.settings import Background, RenderSettings, parse_size
    from ..render.video import render_video

    settings = RenderSettings(size=parse_size(request.size), fps=request.fps,
                              background=Background.parse(request.background), camera=request.camera).checked()
    render_video(Curves.from_utterance(utterance, inputs.name), out, settings,
                 renderer=_renderer(inputs.avatar_glb, settings), progress=report)


def _renderer(avatar_glb: str | None, settings: Any):
    """The worker's renderer for this avatar and these settings: made once, kept for the next job like it (a new
    one costs an avatar load and a GL context, 0.1-0.2 s)."""
    from ..render.avatar import Avatar
    from ..render.renderer import Renderer

    key = (avatar_glb, settings)
    if _RENDERER and _RENDERER[0] == key:
        return _RENDERER[1]
    if _RENDERER:
        _RENDERER[1].close()
        _RENDERER.clear()
    renderer = Renderer(Avatar.load(avatar_glb, settings.profile), settings)
    _RENDERER.extend([key, renderer])
    return renderer


def run_job(request: JobRequest, inputs: Inputs, scratch: Path, progress: Progress) -> tuple[list[str], list[str]]:
    """Make the request's files in ``scratch`` (the job's own folder); (file names, notes for the user)."""
    from ..output import write_files_atomically

    scratch.mkdir(parents=True, exist_ok=True)
    utterance, notes = make_utterance(request, inputs, progress)
    files = side_files(request, inputs, utterance)
    write_files_atomically({scratch / name: data for name, data in files.items()})
    if "mp4" in request.outputs:
        render_mp4(request, inputs, utterance, scratch / OUTPUT_FILES["mp4"], progress)
    return request.file_names(), notes
