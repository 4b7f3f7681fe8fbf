"""Batch export: dialogue lines -> WAV + curves JSON (+ CSV) + GLB each, on every core, resumable.

Each worker process loads its Engine once (per voice) and the avatar once. A line counts as done when all its
files exist and its GLB records the same job fingerprint (text, voice, options, avatar, profile), so a rerun
skips finished lines and redoes changed ones. Files are written with write_files_atomically: an interrupted
line leaves nothing that looks finished.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..errors import AvatarLabError, InvalidOptionError
from ..options import SynthesisOptions
from ..output import curves_dict, live_link_csv, slugify, wav_bytes, write_files_atomically
from ..avatar.gltf import glb_json_chunk
from .glb import EXTRAS_KEY, animate_avatar

CSV_COLUMNS = ("id", "text", "voice", "emotion", "speed")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ExportError(AvatarLabError):
    """A usage problem with the whole batch (unreadable CSV, unwritable output folder, bad avatar)."""


@dataclass(frozen=True)
class Line:
    """One line of dialogue to export, with the options it overrides."""

    name: str  # base file name of its outputs
    text: str
    voice: str | None
    options: SynthesisOptions
    row: int | None = None  # CSV row number (1 = header), for messages


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


@dataclass
class Summary:
    results: list[LineResult] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[LineResult]:
        return [r for r in self.results if r.status == "failed"]

    def text(self) -> str:
        done, skipped, failed = self.count("done"), self.count("skipped"), len(self.failed)
        audio = sum(r.audio_s for r in self.results if r.status == "done")
        lines = [f"{done} exported, {skipped} already done (skipped), {failed} failed"
                 f" in {self.wall_s:.1f} s ({audio:.1f} s of speech)" + (" - interrupted" if self.interrupted else "")]
        lines += [f"  failed {r.name}: {r.error}" for r in self.failed]
        return "\n".join(lines)


# ---- input ---------------------------------------------------------------------------------------------------
def output_paths(out_dir: Path, name: str, csv_too: bool) -> dict[str, Path]:
    paths = {"wav": out_dir / f"{name}.wav", "json": out_dir / f"{name}.json", "glb": out_dir / f"{name}.glb"}
    if csv_too:
        paths["csv"] = out_dir / f"{name}.csv"
    return paths


def _line_name(raw_id: str, text: str, taken: set[str]) -> str:
    """The id when it is a safe file name, else a slug of it (or of the text); made unique with a suffix."""
    base = raw_id if _SAFE_ID.match(raw_id or "") else slugify(raw_id or text)
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


def read_csv_lines(path: Path, base: SynthesisOptions, default_voice: str | None) -> list[Line | BadLine]:
    """Lines of a CSV with a header row: id, text, and optional voice, emotion, speed. Bad rows become BadLine."""
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ExportError(f"cannot read {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ExportError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from error
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "text" not in header:
        raise ExportError(f"{path}: the header row must name a 'text' column (columns: {', '.join(CSV_COLUMNS)})")
    reader.fieldnames = header
    lines: list[Line | BadLine] = []
    taken: set[str] = set()
    for row_number, row in enumerate(reader, start=2):
        raw_id = (row.get("id") or "").strip() or f"line-{row_number - 1:04d}"
        text = (row.get("text") or "").strip()
        name = _line_name(raw_id, text, taken)
        if not text:
            lines.append(BadLine(name, row_number, "no text"))
            continue
        try:
            options = _row_options(row, base)
        except AvatarLabError as error:
            lines.append(BadLine(name, row_number, str(error)))
            continue
        lines.append(Line(name, text, (row.get("voice") or "").strip() or default_voice, options, row_number))
    return lines


def job_fingerprint(line: Line, settings: Settings) -> str:
    """Everything that decides a line's files; a changed option means the line is redone."""
    key = {"text": line.text, "voice": line.voice, "options": asdict(line.options), "avatar": settings.avatar_digest,
           "profile": settings.profile, "csv": settings.csv_too, "version": 1}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]


def is_done(line: Line, settings: Settings) -> bool:
    paths = output_paths(settings.out_dir, line.name, settings.csv_too)
    if not all(p.is_file() for p in paths.values()):
        return False
    document = glb_json_chunk(paths["glb"]) or {}
    recorded = ((document.get("asset") or {}).get("extras") or {}).get(EXTRAS_KEY, {})
    return recorded.get("job") == job_fingerprint(line, settings)


def check_writable(out_dir: Path) -> None:
    """Fail the whole batch early (a usage error) when the output folder cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".avatarlab-probe-", dir=out_dir)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ExportError(f"cannot write to output folder {out_dir}: {error.strerror or error}") from error


def _remove_stale_parts(out_dir: Path, name: str) -> None:
    """Temporary files a killed run left for this line (write_files_atomically cleans up on errors, not on kill)."""
    for stale in out_dir.glob(f".{glob_escape(name)}.*.part"):
        stale.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", name)


# ---- one line ------------------------------------------------------------------------------------------------
_ENGINES: dict[str | None, Any] = {}
_THREADS: int | None = None


def _engine(voice: str | None):
    """One Engine per voice per process, loaded on first use."""
    if voice not in _ENGINES:
        from ..engine import Engine

        _ENGINES[voice] = Engine(voice=voice, threads=_THREADS)
    return _ENGINES[voice]


def _init_worker(threads: int | None, preload_voice: str | None) -> None:
    global _THREADS
    _THREADS = threads
    try:
        _engine(preload_voice)
    except AvatarLabError:
        pass  # reported per line


def export_line(line: Line, settings: Settings) -> LineResult:
    """Synthesize one line and write its files atomically; errors come back as a failed result."""
    started = time.perf_counter()
    try:
        engine = _engine(line.voice)
        utterance = engine.speak(line.text, line.options)
        synthesized = time.perf_counter()
        paths = output_paths(settings.out_dir, line.name, settings.csv_too)
        extras = {"audio": paths["wav"].name, "curves": paths["json"].name, "text": line.text,
                  "voice": utterance.voice, "fps": line.options.fps, "sample_rate": utterance.sample_rate,
                  "duration_s": round(utterance.duration_s, 6), "avatar": settings.avatar_label,
                  "job": job_fingerprint(line, settings)}
        glb, info = animate_avatar(settings.avatar, utterance.frames, settings.profile, line.name, extras)
        files = {
            paths["wav"]: wav_bytes(utterance.audio, utterance.sample_rate),
            paths["json"]: (json.dumps(curves_dict(utterance, paths["wav"].name), ensure_ascii=False) + "\n").encode(),
            paths["glb"]: glb,
        }
        if settings.csv_too:
            files[paths["csv"]] = live_link_csv(utterance).encode("utf-8")
        write_files_atomically(files)
        return LineResult(line.name, "done", audio_s=utterance.duration_s, synthesis_s=synthesized - started,
                          export_s=time.perf_counter() - synthesized, warnings=info.warnings())
    except AvatarLabError as error:
        return LineResult(line.name, "failed", error=str(error))
    except OSError as error:
        return LineResult(line.name, "failed", error=f"cannot write files: {error.strerror or error}"
                          + (f" ({error.filename})" if error.filename else ""))
    except Exception as error:  # noqa: BLE001 - a batch reports every line's error and goes on
        return LineResult(line.name, "failed", error=f"{type(error).__name__}: {error}")


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
    try:
        for result in _run(todo, settings, jobs):
            summary.results.append(result)
            if bar is not None:
                bar.update(1)
                if result.status == "failed":
                    bar.write(f"failed {result.name}: {result.error}", file=sys.stderr)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    summary.wall_s = time.perf_counter() - started
    return summary


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="line", desc="exporting", file=sys.stderr, dynamic_ncols=True)


def _run(todo: list[Line], settings: Settings, jobs: int) -> Iterator[LineResult]:
    if not todo:
        return
    preload = todo[0].voice
    if jobs == 1:
        _init_worker(None, preload)
        for line in todo:
            yield export_line(line, settings)
        return
    # spawn, not fork: the parent may hold threads (tqdm) and worker ONNX sessions must start clean
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(max(1, (os.cpu_count() or jobs) // jobs), preload)) as pool:
        pending: dict[Future, Line] = {}
        queue = iter(todo)
        try:
            for line in queue:  # keep a short queue per worker so an interrupt loses little
                pending[pool.submit(export_line, line, settings)] = line
                if len(pending) >= 2 * jobs:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    line = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as error:  # noqa: BLE001 - a crashed worker fails its line only
                        yield LineResult(line.name, "failed", error=f"worker failed: {error}")
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(export_line, nxt, settings)] = nxt
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
