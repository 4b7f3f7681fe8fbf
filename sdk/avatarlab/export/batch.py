"""Batch export: dialogue lines -> WAV + curves JSON (+ CSV) + GLB (+ MP4) each, on every core, resumable.

A line is either spoken by a TTS voice or, when its CSV row names an ``audio`` file, a recorded take animated
with ``avatarlab.lipsync`` (its text, if any, is the transcript); both give the same files.
Each worker process loads its Engine once (per voice) and the avatar once. A line counts as done when all its
files exist and its GLB records the same job fingerprint (text, voice, options, the recording's content hash,
avatar, profile), so a rerun skips finished lines and redoes changed ones. Files are written with
write_files_atomically: an interrupted line leaves nothing that looks finished. With ``Settings.video`` each line
also gets an MP4, a stage of its own with its own fingerprint (export/video.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any

from ..errors import AvatarLabError, InvalidOptionError
from ..lipsync.audio_input import InvalidAudioError
from ..options import SynthesisOptions, checked_text
from ..output import check_writable, curves_dict, live_link_csv, name_from, slugify, wav_bytes, write_files_atomically
from ..avatar.gltf import glb_json_chunk
from .columns import CSV_COLUMNS, TTS_ONLY_COLUMNS
from .glb import EXTRAS_KEY, animate_avatar
from .video import VideoOptions, close_renderers, render_line_video, video_done

if TYPE_CHECKING:  # the engine loads onnx: `avatarlab export --help` needs none of it
    from ..engine import Utterance

#: The options lip sync of a recording uses; a recorded line keeps only these (the rest at their defaults).
LIPSYNC_OPTIONS = ("fps", "seed", "emotion", "emotion_intensity")


class ExportError(AvatarLabError):
    """A usage problem with the whole batch (unreadable CSV, unwritable output folder, bad avatar)."""


@dataclass(frozen=True)
class Recording:
    """A recorded take to animate, hashed when the CSV is read so that a re-recorded take is redone."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class Line:
    """One line of dialogue to export, with the options it overrides."""

    name: str  # base file name of its outputs
    text: str  # the words to speak; with ``audio``, the transcript ("" = recognize the words)
    voice: str | None  # None with ``audio``
    options: SynthesisOptions
    row: int | None = None  # CSV row number (1 = header), for messages
    audio: Recording | None = None  # set: lip-sync this recording instead of running TTS


@dataclass(frozen=True)
class BadLine:
    """A CSV row that cannot be exported, and why."""

    name: str
    row: int
    error: str


@dataclass(frozen=True)
class Settings:
    """What every line of a batch shares."""

    out_dir: Path
    avatar: bytes
    avatar_label: str  # file name or "default", recorded in the GLB
    profile: str = "auto"
    csv_too: bool = False
    force: bool = False
    video: VideoOptions | None = None  # also render <name>.mp4

    @property
    def avatar_digest(self) -> str:
        return hashlib.sha256(self.avatar).hexdigest()[:16]


@dataclass
class LineResult:
    """How one line went; times feed the summary and the benchmark."""

    name: str
    status: str  # "done" | "skipped" | "failed"
    error: str | None = None
    audio_s: float = 0.0
    synthesis_s: float = 0.0
    export_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    video_frames: int = 0  # frames of the video rendered for this line (0: none rendered)
    video_s: float = 0.0


@dataclass
class Summary:
    results: list[LineResult] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False
    left: int = 0  # lines an interrupt left unexported

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[LineResult]:
        return [r for r in self.results if r.status == "failed"]

    def text(self) -> str:
        done, skipped, failed = self.count("done"), self.count("skipped"), len(self.failed)
        audio = sum(r.audio_s for r in self.results if r.status == "done")
        videos = [r for r in self.results if r.video_frames]
        rendered = ""
        if videos:
            frames, seconds = sum(r.video_frames for r in videos), sum(r.video_s for r in videos)
            rendered = (f"; {len(videos)} video{'s' if len(videos) != 1 else ''} rendered, {frames} frames at "
                        f"{frames / seconds if seconds > 0 else 0:.1f} frames/s")
        lines = [f"{done} exported, {skipped} already done (skipped), {failed} failed"
                 f" in {self.wall_s:.1f} s ({audio:.1f} s of speech{rendered})"
                 + (f" - interrupted, {self.left} left: run the same command again to export them"
                    if self.interrupted else "")]
        lines += [f"  failed {r.name}: {r.error}" for r in self.failed]
        return "\n".join(lines)


# ---- input ---------------------------------------------------------------------------------------------------
def output_paths(out_dir: Path, name: str, csv_too: bool) -> dict[str, Path]:
    paths = {"wav": out_dir / f"{name}.wav", "json": out_dir / f"{name}.json", "glb": out_dir / f"{name}.glb"}
    if csv_too:
        paths["csv"] = out_dir / f"{name}.csv"
    return paths


def video_path(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}.mp4"


def _line_name(raw_id: str, text: str, taken: set[str]) -> str:
    """The id when it is a safe file name, else a slug of it (or of the text); made unique with a suffix."""
    base = name_from(raw_id) if raw_id else slugify(text)
    name, k = base, 2
    while name.lower() in taken:
        name, k = f"{base}-{k}", k + 1
    taken.add(name.lower())
    return name


def _row_options(row: dict[str, str], base: SynthesisOptions) -> SynthesisOptions:
    overrides: dict[str, Any] = {}
    if (emotion := (row.get("emotion") or "").strip()):
        overrides["emotion"] = emotion
    if (speed := (row.get("speed") or "").strip()):
        try:
            overrides["speed"] = float(speed)
        except ValueError:
            raise InvalidOptionError(f"speed must be a number, got {speed!r}") from None
    return replace(base, **overrides).checked()


def _lipsync_options(options: SynthesisOptions) -> SynthesisOptions:
    """Only what lip sync uses, so --speed and the like neither show in a recorded line's curves nor redo it."""
    return SynthesisOptions(**{name: getattr(options, name) for name in LIPSYNC_OPTIONS})


def file_sha256(path: Path) -> str:
    """Content hash of a recording, streamed (takes can be long); InvalidAudioError when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise InvalidAudioError(f"cannot read audio file {path}: {error.strerror or error}") from error
    return digest.hexdigest()


def _recording(cell: str, folder: Path) -> Recording:
    """The row's audio file, relative to the CSV's folder; checked and hashed now, so a bad path fails its row."""
    path = Path(cell).expanduser()
    where = ""
    if not path.is_absolute():
        path = (folder / path).absolute()
        where = f" (looked for {path}, relative to the CSV's folder)"
    if not path.exists():
        raise InvalidAudioError(f"audio file {cell!r} not found{where}")
    if not path.is_file():
        raise InvalidAudioError(f"audio {cell!r} is not a file{where}")
    return Recording(path, file_sha256(path))


def _row_line(name: str, row: dict[str, str], row_number: int, base: SynthesisOptions, default_voice: str | None,
              folder: Path) -> Line | BadLine:
    """A TTS line, a recorded line (the row names ``audio``), or a BadLine saying what is wrong with the row."""
    cells = {key: (row.get(key) or "").strip() for key in CSV_COLUMNS}
    text, audio = cells["text"], cells["audio"]
    if not text and not audio:
        return BadLine(name, row_number, "no text or audio (give the text to speak, or an audio file to animate)")
    try:
        if not audio:
            return Line(name, checked_text(text), cells["voice"] or default_voice, _row_options(row, base), row_number)
        given = [key for key in TTS_ONLY_COLUMNS if cells[key]]
        if given:
            verb, pronoun = ("apply", "them") if len(given) > 1 else ("applies", "it")
            raise InvalidOptionError(f"{' and '.join(given)} only {verb} to TTS rows (rows without audio); "
                                     f"leave {pronoun} empty on a row with an audio file")
        options = _lipsync_options(_row_options(row, base))
        transcript = checked_text(text) if text else ""
        return Line(name, transcript, None, options, row_number, _recording(audio, folder))
    except AvatarLabError as error:
        return BadLine(name, row_number, str(error))


def _csv_records(content: str, path: Path) -> Iterator[list[str]]:
    """The non-blank records of a CSV, strictly parsed: broken quoting is an ExportError naming its lines
    (a lenient parser would swallow the following rows into one field and report them as something else)."""
    reader = csv.reader(io.StringIO(content), strict=True)
    while True:
        first = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            lines = f"line {first}" if reader.line_num <= first else f"lines {first}-{reader.line_num}"
            problem = ("a field opened with a double quote is never closed" if "end of data" in str(error)
                       else f"{error}: a quoted field must end with a double quote just before a comma or a line end")
            raise ExportError(f"{path}, {lines}: broken CSV quoting ({problem}); write a double quote inside a "
                              'quoted field as two (""). Nothing was exported') from error
        if record:
            yield record


def read_csv_lines(path: Path, base: SynthesisOptions, default_voice: str | None) -> list[Line | BadLine]:
    """Lines of a CSV with a header row: id, text and/or audio, optional voice, emotion, speed. Bad rows: BadLine."""
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ExportError(f"cannot read {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ExportError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from error
    records = _csv_records(content, path)
    header = [h.strip().lower() for h in next(records, [])]
    if "text" not in header and "audio" not in header:
        raise ExportError(f"{path}: the header row must name a 'text' or 'audio' column "
                          f"(columns: {', '.join(CSV_COLUMNS)})")
    lines: list[Line | BadLine] = []
    taken: set[str] = set()
    for row_number, record in enumerate(records, start=2):
        row = dict(zip(header, record))
        audio = (row.get("audio") or "").strip()
        raw_id = (row.get("id") or "").strip() or (Path(audio).stem if audio else f"line-{row_number - 1:04d}")
        name = _line_name(raw_id, (row.get("text") or "").strip(), taken)
        if len(record) > len(header):  # most often text with an unquoted comma, which shifts every later cell
            lines.append(BadLine(name, row_number, f"{len(record)} cells but the header names {len(header)} columns; "
                                 "put text that holds a comma in double quotes"))
            continue
        lines.append(_row_line(name, row, row_number, base, default_voice, path.parent))
    return _check_voices(lines)


def _check_voices(lines: list[Line | BadLine]) -> list[Line | BadLine]:
    """A TTS row naming a voice that does not exist fails now, with the list of voices, not when it is spoken."""
    from ..voice import resolve_voice

    problems: dict[str | None, str | None] = {}
    for line in lines:
        if isinstance(line, Line) and line.audio is None and line.voice not in problems:
            try:
                resolve_voice(line.voice)
                problems[line.voice] = None
            except AvatarLabError as error:
                problems[line.voice] = str(error)
    return [BadLine(line.name, line.row or 0, problems[line.voice])
            if isinstance(line, Line) and line.audio is None and problems.get(line.voice) else line for line in lines]


def job_fingerprint(line: Line, settings: Settings) -> str:
    """Everything that decides a line's files; a changed option or re-recorded take means the line is redone."""
    key = {"text": line.text, "voice": line.voice, "options": asdict(line.options), "avatar": settings.avatar_digest,
           "profile": settings.profile, "csv": settings.csv_too, "version": 1}
    if line.audio is not None:  # only then: TTS keys stay as they were, so earlier exports are not all redone
        key["audio"] = line.audio.sha256
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _finished_extras(line: Line, settings: Settings) -> dict[str, Any] | None:
    """The GLB's avatarlab extras when every file of the line is on disk from this very job, else None."""
    paths = output_paths(settings.out_dir, line.name, settings.csv_too)
    if not all(p.is_file() for p in paths.values()):
        return None
    document = glb_json_chunk(paths["glb"]) or {}
    recorded = ((document.get("asset") or {}).get("extras") or {}).get(EXTRAS_KEY, {})
    return recorded if recorded.get("job") == job_fingerprint(line, settings) else None


def _video_done(line: Line, settings: Settings) -> bool:
    return settings.video is None or video_done(video_path(settings.out_dir, line.name),
                                                job_fingerprint(line, settings), settings.video)


def is_done(line: Line, settings: Settings) -> bool:
    return _finished_extras(line, settings) is not None and _video_done(line, settings)


def _remove_stale_parts(out_dir: Path, name: str) -> None:
    """Temporary files a killed run left for this line (write_files_atomically and the video encoder clean up on
    errors and Ctrl-C, not on kill): ``.<file>.*.part``, and the encoder's ``.<name>.mp4.*.audio``."""
    for pattern in (f".{glob_escape(name)}.*.part", f".{glob_escape(name)}.mp4.*.audio"):
        for stale in out_dir.glob(pattern):
            stale.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", name)


# ---- one line ------------------------------------------------------------------------------------------------
_ENGINES: dict[str | None, Any] = {}
_THREADS: int | None = None
_STOP: Any = None  # in a worker: the batch's stop Event, set when it is interrupted
_FRAMES: Any = None  # where rendered frame counts go: a callable (in-process) or a Queue (worker processes)
#: A worker sends its frame count to the batch's progress bar at most this often (seconds).
FRAME_REPORT_S = 0.25


def _engine(voice: str | None):
    """One Engine per voice per process, loaded on first use."""
    if voice not in _ENGINES:
        from ..engine import Engine

        _ENGINES[voice] = Engine(voice=voice, threads=_THREADS)
    return _ENGINES[voice]


def _init_worker(threads: int | None, preload_voices: tuple[str | None, ...], stop: Any = None,
                 frames: Any = None) -> None:
    """Load the voices up front (none when every line is a recording: lip sync needs no Engine); share the cores
    among the workers' llvmpipe threads too (read when a worker makes its GL context), unless the user chose."""
    global _THREADS, _STOP, _FRAMES
    _THREADS, _STOP, _FRAMES = threads, stop, frames
    if threads is not None:
        os.environ.setdefault("LP_NUM_THREADS", str(threads))
        if threads <= 1:  # a worker per core: no lip sync helper process of its own (lipsync/workers.py)
            os.environ.setdefault("AVATARLAB_LIPSYNC_WORKERS", "0")
    for voice in preload_voices:
        try:
            _engine(voice)
        except AvatarLabError:
            pass  # reported per line


def _speak(line: Line) -> tuple[Utterance, list[str]]:
    """The line's Utterance: TTS, or lip sync of its recording (whose warnings come back as notes)."""
    if line.audio is None:
        return _engine(line.voice).speak(line.text, line.options), []
    from ..lipsync import lipsync

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        utterance = lipsync(line.audio.path, line.text or None, line.options)
    if file_sha256(line.audio.path) != line.audio.sha256:  # else the GLB would record the wrong fingerprint
        raise InvalidAudioError(f"audio file {line.audio.path} changed during the export; run the batch again")
    return utterance, [f"{line.audio.path.name}: {caught_warning.message}" for caught_warning in caught]


def export_line(line: Line, settings: Settings) -> LineResult:
    """Synthesize (or lip-sync) one line and write its files atomically, then render its video (from the files on
    disk when only the video is missing or stale); errors come back as a failed result."""
    try:
        extras = None if settings.force else _finished_extras(line, settings)
        if extras is None:
            result, utterance = _export_files(line, settings)
        else:
            result, utterance = LineResult(line.name, "done", audio_s=float(extras.get("duration_s") or 0.0)), None
        if settings.video is not None:
            source = utterance if utterance is not None else \
                output_paths(settings.out_dir, line.name, settings.csv_too)["json"]
            with _FrameReport() as report:
                result.video_frames, result.video_s = render_line_video(
                    source, video_path(settings.out_dir, line.name), job_fingerprint(line, settings),
                    settings.avatar, settings.avatar_digest, settings.video, report)
        return result
    except AvatarLabError as error:
        return LineResult(line.name, "failed", error=str(error))
    except OSError as error:
        return LineResult(line.name, "failed", error=f"cannot write files: {error.strerror or error}"
                          + (f" ({error.filename})" if error.filename else ""))
    except Exception as error:  # noqa: BLE001 - a batch reports every line's error and goes on
        return LineResult(line.name, "failed", error=f"{type(error).__name__}: {error}")


def _export_files(line: Line, settings: Settings) -> tuple[LineResult, Utterance]:
    """Speak the line and write its WAV, curves JSON, GLB (and CSV) together; the Utterance comes back for the
    video."""
    started = time.perf_counter()
    utterance, notes = _speak(line)
    synthesized = time.perf_counter()
    paths = output_paths(settings.out_dir, line.name, settings.csv_too)
    extras = {"audio": paths["wav"].name, "curves": paths["json"].name, "text": line.text or utterance.text,
              "voice": utterance.voice, "fps": line.options.fps, "sample_rate": utterance.sample_rate,
              "duration_s": round(utterance.duration_s, 6), "avatar": settings.avatar_label,
              "job": job_fingerprint(line, settings)}
    if line.audio is not None:
        extras.update(recording=line.audio.path.name, method=utterance.method)
    glb, info = animate_avatar(settings.avatar, utterance.frames, settings.profile, line.name, extras)
    files = {
        paths["wav"]: wav_bytes(utterance.audio, utterance.sample_rate),
        paths["json"]: (json.dumps(curves_dict(utterance, paths["wav"].name), ensure_ascii=False) + "\n").encode(),
        paths["glb"]: glb,
    }
    if settings.csv_too:
        files[paths["csv"]] = live_link_csv(utterance).encode("utf-8")
    write_files_atomically(files)
    result = LineResult(line.name, "done", audio_s=utterance.duration_s, synthesis_s=synthesized - started,
                        export_s=time.perf_counter() - synthesized, warnings=notes + info.warnings())
    return result, utterance


class _FrameReport:
    """Counts rendered frames for the batch's progress bar: straight to it in-process, through the workers' queue
    (a few times a second) from a worker process."""

    def __init__(self) -> None:
        self.pending = 0
        self.sent = time.monotonic()

    def __call__(self, frames: int) -> None:
        if callable(_FRAMES):
            _FRAMES(frames)
        elif _FRAMES is not None:
            self.pending += frames
            if time.monotonic() - self.sent >= FRAME_REPORT_S:
                self.flush()

    def flush(self) -> None:
        if self.pending and _FRAMES is not None and not callable(_FRAMES):
            _FRAMES.put(self.pending)
        self.pending, self.sent = 0, time.monotonic()

    def __enter__(self) -> _FrameReport:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


def _export_queued(line: Line, settings: Settings) -> LineResult:
    """export_line in a worker, unless the batch was interrupted while the line waited in the pool's queue
    (lines already handed to a worker cannot be cancelled, and would go on being written after the interrupt)."""
    if _STOP is not None and _STOP.is_set():
        return LineResult(line.name, "failed", error="not started: the batch was interrupted")
    return export_line(line, settings)


def _finished_on_disk(todo: list[Line], reported: set[str], settings: Settings) -> list[LineResult]:
    """After an interrupt: the lines whose results never came back but whose files are all on disk from this job
    (finished while the interrupt was handled), so the summary counts what really is there."""
    results = []
    for line in todo:
        if line.name not in reported and (extras := _finished_extras(line, settings)) is not None \
                and _video_done(line, settings):
            results.append(LineResult(line.name, "done", audio_s=float(extras.get("duration_s") or 0.0)))
    return results


# ---- the batch -----------------------------------------------------------------------------------------------
def run_batch(items: Iterable[Line | BadLine], settings: Settings, jobs: int | None = None,
              progress: bool = True) -> Summary:
    """Export every line on ``jobs`` processes (default: every core); bad rows and failures are reported, not fatal."""
    started = time.perf_counter()
    check_writable(settings.out_dir)
    summary = Summary()
    todo: list[Line] = []
    for item in items:
        if isinstance(item, BadLine):
            summary.results.append(LineResult(item.name, "failed", error=f"CSV row {item.row}: {item.error}"))
        elif not settings.force and is_done(item, settings):
            summary.results.append(LineResult(item.name, "skipped"))
        else:
            _remove_stale_parts(settings.out_dir, item.name)
            todo.append(item)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    bar = _progress_bar(len(summary.results) + len(todo), len(summary.results), progress)
    frames_bar = _frames_bar(progress and settings.video is not None and bool(todo))
    results = _run(todo, settings, jobs, frames_bar.update if frames_bar is not None else None)
    reported: set[str] = set()
    try:
        for result in results:
            summary.results.append(result)
            reported.add(result.name)
            if bar is not None:
                bar.update(1)
                if result.status == "failed":
                    bar.write(f"failed {result.name}: {result.error}", file=sys.stderr)
    except KeyboardInterrupt:
        summary.interrupted = True
        results.close()  # stops the workers and waits for them, so the files on disk are final
        finished = _finished_on_disk(todo, reported, settings)
        summary.results += finished
        summary.left = len(todo) - len(reported) - len(finished)
    finally:
        for shown in (frames_bar, bar):
            if shown is not None:
                shown.close()
        close_renderers()
    summary.wall_s = time.perf_counter() - started
    return summary


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="line", desc="exporting", file=sys.stderr, dynamic_ncols=True)


def _frames_bar(enabled: bool):
    """With --video, a second bar under the lines: video frames rendered so far, across workers, and their rate."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit="frame", desc="rendering", file=sys.stderr, dynamic_ncols=True, position=1, leave=False)


def _run(todo: list[Line], settings: Settings, jobs: int, frames_done: Callable[[int], None] | None = None
         ) -> Iterator[LineResult]:
    """Results as lines finish; ``frames_done(n)`` hears of rendered video frames as they are drawn."""
    if not todo:
        return
    preload = next(((line.voice,) for line in todo if line.audio is None), ())  # the first TTS line's voice
    if jobs == 1:
        _init_worker(None, preload, None, frames_done)
        for line in todo:
            yield export_line(line, settings)
        return
    # spawn, not fork: the parent may hold threads (tqdm) and worker ONNX sessions must start clean
    context = get_context("spawn")
    stop = context.Event()
    frames = context.Queue() if frames_done is not None else None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(max(1, (os.cpu_count() or jobs) // jobs), preload, stop, frames)) as pool:
        pending: dict[Future, Line] = {}
        queue = iter(todo)
        try:
            for line in queue:  # keep a short queue per worker so an interrupt loses little
                pending[pool.submit(_export_queued, line, settings)] = line
                if len(pending) >= 2 * jobs:
                    break
            while pending:
                finished, _ = wait(pending, timeout=FRAME_REPORT_S if frames is not None else None,
                                   return_when=FIRST_COMPLETED)
                _drain(frames, frames_done)
                for future in finished:
                    line = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as error:  # noqa: BLE001 - a crashed worker fails its line only
                        yield LineResult(line.name, "failed", error=f"worker failed: {error}")
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(_export_queued, nxt, settings)] = nxt
        except BaseException:  # an interrupt, or the caller closing the generator: start no other line
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    _drain(frames, frames_done)  # what the workers sent last, now that they have exited


def _drain(frames: Any, frames_done: Callable[[int], None] | None) -> None:
    """Hand the frame counts the workers sent to the progress bar."""
    while frames is not None and frames_done is not None:
        try:
            frames_done(frames.get_nowait())
        except Empty:
            return
