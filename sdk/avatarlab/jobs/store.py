"""Job records on disk: ``<jobs dir>/jobs/<id>/job.json`` (written atomically) beside the job's files, so a
restarted bridge finds every job it had."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .request import is_id

log = logging.getLogger("avatarlab.jobs")
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


def new_id() -> str:
    """A random 128-bit id as 32 hex digits: nobody can guess another user's job, upload or avatar."""
    return secrets.token_hex(16)


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json_atomically(path: Path, value: Any) -> None:
    """Write to a hidden temporary file beside ``path``, then rename: a crash leaves the old record or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(value, stream, ensure_ascii=False, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class StoredFile:
    name: str
    size: int
    media_type: str


@dataclass
class JobRecord:
    id: str
    request: dict[str, Any]
    inputs: dict[str, Any]
    created: float = field(default_factory=time.time)
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    stage: str = "queued"
    done: int = 0
    total: int = 0
    error: dict[str, str] | None = None
    files: list[StoredFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED

    def fraction(self) -> float:
        """0 to 1: speaking a tenth, the frames most of the rest, storing the last few percent."""
        if self.state == "done":
            return 1.0
        video = "mp4" in self.request.get("outputs", ())
        if self.stage == "rendering" and self.total > 0:
            return round(0.1 + 0.85 * self.done / self.total, 3)
        return {"queued": 0.0, "speaking": 0.02, "listening": 0.02,
                "storing": 0.95 if video else 0.9}.get(self.stage, 0.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> JobRecord:
        value = dict(value)
        value["files"] = [StoredFile(**item) for item in value.get("files", [])]
        return cls(**value)


class JobStore:
    """The jobs folder's ``jobs/`` part: one folder per job."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "jobs"

    def folder(self, job_id: str) -> Path:
        if not is_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.root / job_id

    def scratch(self, job_id: str) -> Path:
        """Where the worker writes the job's files (the local store keeps them there)."""
        return self.folder(job_id) / "files"

    def save(self, record: JobRecord) -> None:
        write_json_atomically(self.folder(record.id) / "job.json", record.to_json())

    def load_all(self) -> list[JobRecord]:
        records = []
        if not self.root.is_dir():
            return records
        for folder in sorted(self.root.iterdir()):
            if not is_id(folder.name):
                continue
            try:
                records.append(JobRecord.from_json(json.loads((folder / "job.json").read_text("utf-8"))))
            except (OSError, ValueError, TypeError) as error:
                log.warning("skipping the unreadable job record in %s: %s", folder, error)
        return records

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)
