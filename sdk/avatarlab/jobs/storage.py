"""Where a finished job's files live: the jobs folder (the bridge serves them) or an S3-compatible store
(downloads redirect to presigned URLs). docs/jobs.md, "Storage"."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import AvatarLabError

#: How long a presigned (or signed) download URL stays valid.
URL_LIFETIME_S = 3600


class StorageError(AvatarLabError):
    """The store cannot be reached or written: says which store and what to check."""


class ResultStorage(Protocol):
    """A place for finished files, keyed by job id and a file name from the fixed set (never a request's path)."""

    label: str  # for messages and /health: "the jobs folder" or "s3://bucket/prefix"

    def check(self) -> None:
        """Raise StorageError when the store cannot be written (run once at start)."""

    def put(self, job_id: str, name: str, source: Path, media_type: str) -> None:
        """Store the finished file ``source`` (a file in the job's scratch folder) as ``name`` of ``job_id``."""

    def local_path(self, job_id: str, name: str) -> Path | None:
        """The file on this machine when the bridge serves it itself, else None."""

    def url(self, job_id: str, name: str, filename: str, media_type: str) -> str | None:
        """A presigned URL that serves the file as ``filename`` for URL_LIFETIME_S, or None when served locally."""

    def delete(self, job_id: str) -> None:
        """Remove every stored file of ``job_id`` (missing ones are fine)."""


@dataclass
class LocalStorage:
    """Files stay in ``root/<job id>/files/``, where the job wrote them."""

    root: Path
    label: str = "the jobs folder"

    def _folder(self, job_id: str) -> Path:
        return self.root / job_id / "files"

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create the jobs folder {self.root}: {error.strerror or error}; "
                               "choose another with --jobs-dir") from error

    def put(self, job_id: str, name: str, source: Path, media_type: str) -> None:
        target = self._folder(job_id) / name
        if Path(source).resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), target)

    def local_path(self, job_id: str, name: str) -> Path | None:
        return self._folder(job_id) / name

    def url(self, job_id: str, name: str, filename: str, media_type: str) -> str | None:
        return None

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self._folder(job_id), ignore_errors=True)
