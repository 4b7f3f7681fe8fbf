"""The jobs service behind ``/v1/``: a bounded queue of jobs, worker processes, records on disk, results in the
store, expiry. The bridge's HTTP handlers are thin calls into this (docs/jobs.md)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..output import slugify
from .pool import Event, Task, WorkerPool
from .request import MEDIA_TYPES, Inputs, JobRequest, RequestError
from .storage import LocalStorage, ResultStorage, StorageError
from .store import JobRecord, JobStore, StoredFile, iso, new_id
from .uploads import AvatarLibrary, UploadStore

log = logging.getLogger("avatarlab.jobs")
EXPIRY_CHECK_S = 3600.0


@dataclass(frozen=True)
class JobLimits:
    workers: int = 1
    max_queued: int = 16
    keep_days: float = 7.0
    max_upload_bytes: int = 25 << 20

    def checked(self) -> JobLimits:
        if self.workers < 1 or self.max_queued < 0 or self.keep_days <= 0 or self.max_upload_bytes < 1:
            raise ValueError("job workers must be >= 1, queued jobs >= 0, keep-days > 0, upload size > 0")
        return self


def default_jobs_dir() -> Path:
    """``$XDG_DATA_HOME/avatarlab/jobs`` (``~/.local/share/avatarlab/jobs``)."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "avatarlab" / "jobs"


class JobService:
    """Everything the API does with jobs, avatars and uploads; thread-safe (workers report from their threads)."""

    def __init__(self, root: Path, limits: JobLimits = JobLimits(), storage: ResultStorage | None = None,
                 resume: bool = False, wav2lip_checkpoint: Path | None = None) -> None:
        self.root = Path(root)
        self.limits = limits.checked()
        self.storage = storage or LocalStorage(self.root / "jobs")
        self.resume = resume
        self.wav2lip_checkpoint = wav2lip_checkpoint
        self.store = JobStore(self.root)
        self.avatars = AvatarLibrary(self.root)
        self.uploads = UploadStore(self.root)
        self.lock = threading.RLock()
        self.jobs: dict[str, JobRecord] = {}
        self.queue: deque[str] = deque()
        self.run_times: deque[float] = deque(maxlen=10)
        self.pool = WorkerPool(self.limits.workers, self._on_event, self._dispatch)
        self._stop = threading.Event()
        self._expiry: threading.Thread | None = None

    # ---- life -------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Check the store, reload the records (interrupted jobs failed, or queued again with ``resume``), expire
        old ones, start the workers."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage.check()
        for record in sorted(self.store.load_all(), key=lambda r: r.created):
            if not record.is_finished:
                self._interrupted(record)
            self.jobs[record.id] = record
        self.expire()
        self.pool.start()
        self._expiry = threading.Thread(target=self._expire_hourly, daemon=True, name="jobs-expiry")
        self._expiry.start()
        self._dispatch()

    def _interrupted(self, record: JobRecord) -> None:
        self.storage.delete(record.id)
        if self.resume:
            record.state, record.stage, record.done, record.total, record.started = "queued", "queued", 0, 0, None
            record.files = []
            self.queue.append(record.id)
            log.info("job %s was interrupted by the last stop: queued again (--resume)", record.id)
        else:
            record.state, record.finished = "failed", time.time()
            record.error = {"code": "interrupted", "message": "the bridge stopped while this job was queued or "
                            "running; send it again (or start the bridge with --resume to re-queue such jobs)"}
        self.store.save(record)

    def stop(self) -> None:
        self._stop.set()
        self.pool.stop()

    def _expire_hourly(self) -> None:
        while not self._stop.wait(EXPIRY_CHECK_S):
            try:
                self.expire()
            except Exception:  # noqa: BLE001 - expiry must never take the bridge down
                log.exception("expiring old jobs failed")

    def expire(self, now: float | None = None) -> int:
        """Delete finished jobs and uploads older than keep_days; how many jobs went."""
        before = (now if now is not None else time.time()) - self.limits.keep_days * 86400
        with self.lock:
            old = [r.id for r in self.jobs.values() if r.is_finished and (r.finished or r.created) < before]
        for job_id in old:
            self._remove(job_id)
        self.uploads.expire(before)
        if old:
            log.info("deleted %d jobs older than %g days", len(old), self.limits.keep_days)
        return len(old)

    # ---- jobs -------------------------------------------------------------------------------------------------
    def submit(self, request: JobRequest) -> JobRecord:
        """Queue a job; RequestError when an id it names is unknown or the queue is full (429)."""
        inputs = self._inputs(request)
        with self.lock:
            if len(self.queue) >= self.limits.max_queued and self.pool.idle() is None:
                wait = self.retry_after()
                raise RequestError("queue_full", f"{len(self.queue)} jobs are already waiting (the bridge's "
                                   f"--max-queued-jobs); try again in {wait} s", status=429,
                                   headers={"Retry-After": str(wait)})
            record = JobRecord(new_id(), request.model_dump(), asdict(inputs))
            self.jobs[record.id] = record
            self.store.save(record)
            self.queue.append(record.id)
        self._dispatch()
        return record

    def retry_after(self) -> int:
        """Seconds until a queue place is likely free: the recent mean run time per worker."""
        mean = sum(self.run_times) / len(self.run_times) if self.run_times else 10.0
        return max(1, min(600, math.ceil(mean / self.limits.workers)))

    def _inputs(self, request: JobRequest) -> Inputs:
        avatar = self.avatars.get(request.avatar)
        if avatar is None:
            raise RequestError("invalid_value", f"no avatar {request.avatar!r}; GET /v1/avatars lists them", "avatar")
        audio = None
        if request.audio_id is not None:
            upload = self.uploads.get(request.audio_id)
            if upload is None:
                raise RequestError("invalid_value", f"no upload {request.audio_id!r} (uploads are kept "
                                   f"{self.limits.keep_days:g} days); POST /v1/uploads first", "audio_id")
            audio = str(self.uploads.path(upload))
        if request.voice is not None:
            from ..voice import list_voices

            names = [voice.name for voice in list_voices()]
            if request.voice not in names and request.voice != "default":
                raise RequestError("invalid_value", f"no voice {request.voice!r}; GET /voices lists them "
                                   f"({', '.join(names)})", "voice")
        photo = self.avatars.photo_path(avatar)
        if request.renderer == "wav2lip":
            if self.wav2lip_checkpoint is None:
                raise RequestError("wav2lip_unavailable", "this bridge has no Wav2Lip checkpoint: start it with "
                                   "--wav2lip CKPT (docs/wav2lip.md)", "renderer", status=409)
            if photo is None:
                raise RequestError("wav2lip_unavailable", "renderer wav2lip needs an avatar made from a photo "
                                   "(POST /v1/avatars with a photo)", "avatar", status=409)
        glb = self.avatars.glb_path(avatar)
        name = slugify(request.text) if request.text is not None else f"recording-{request.audio_id[:8]}"
        return Inputs(str(glb) if glb else None, str(photo) if photo else None, audio,
                      str(self.wav2lip_checkpoint) if self.wav2lip_checkpoint else None, name)

    def _dispatch(self) -> None:
        """Hand queued jobs to idle workers."""
        with self.lock:
            while self.queue:
                job_id = self.queue[0]
                record = self.jobs.get(job_id)
                if record is None or record.state != "queued":
                    self.queue.popleft()
                    continue
                task = Task(job_id, record.request, record.inputs, str(self.store.scratch(job_id)))
                if not self.pool.assign(task):
                    return
                self.queue.popleft()
                record.state, record.stage, record.started = "running", "starting", time.time()
                self.store.save(record)

    def _on_event(self, event: Event) -> None:
        with self.lock:
            record = self.jobs.get(event.job_id)
            if record is None or record.state != "running":
                return  # cancelled or deleted meanwhile
            if event.kind == "progress":
                stage, record.done, record.total = event.data
                if stage != record.stage:
                    record.stage = stage
                    self.store.save(record)
                return
            if event.kind == "failed":
                code, message = event.data
                self._finish(record, "failed", {"code": code, "message": message})
                return
            record.stage = "storing"
            self.store.save(record)
        files, notes = event.data
        self._store_files(record, files, notes)

    def _store_files(self, record: JobRecord, names: list[str], notes: list[str]) -> None:
        scratch = self.store.scratch(record.id)
        stored = []
        try:
            for name in names:
                path = scratch / name
                size = path.stat().st_size
                self.storage.put(record.id, name, path, MEDIA_TYPES[name])
                stored.append(StoredFile(name, size, MEDIA_TYPES[name]))
                if self.storage.local_path(record.id, name) is None:
                    path.unlink(missing_ok=True)  # the store holds it now: no copy kept here
        except (OSError, StorageError) as error:
            with self.lock:
                self._finish(record, "failed", {"code": "storage_failed", "message": f"cannot store the job's "
                                                f"files in {self.storage.label}: {error}"})
            return
        with self.lock:
            if record.state != "running":
                self.storage.delete(record.id)  # cancelled while storing
                return
            record.files, record.notes = stored, notes
            self._finish(record, "done", None)

    def _finish(self, record: JobRecord, state: str, error: dict[str, str] | None) -> None:
        record.state, record.error, record.finished = state, error, time.time()
        record.stage = state
        if state == "done" and record.started is not None:
            self.run_times.append(record.finished - record.started)
        self.store.save(record)

    def get(self, job_id: str) -> JobRecord:
        with self.lock:
            record = self.jobs.get(job_id)
        if record is None:
            raise RequestError("not_found", f"no job {job_id!r} (jobs are kept {self.limits.keep_days:g} days)",
                               status=404)
        return record

    def all(self) -> list[JobRecord]:
        with self.lock:
            return sorted(self.jobs.values(), key=lambda r: r.created, reverse=True)

    def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a queued or running job (its record stays, state cancelled); delete a finished one (None)."""
        record = self.get(job_id)
        with self.lock:
            if record.is_finished:
                self._remove(job_id)
                return None
            was_running = record.state == "running"
            if record.id in self.queue:
                self.queue.remove(record.id)
            self._finish(record, "cancelled", None)
        if was_running:
            self.pool.cancel(job_id)
        self.storage.delete(job_id)
        return record

    def _remove(self, job_id: str) -> None:
        self.storage.delete(job_id)
        self.store.remove(job_id)
        with self.lock:
            self.jobs.pop(job_id, None)

    def file(self, job_id: str, name: str) -> tuple[StoredFile, str, Path | None, str | None]:
        """(the file, the name to save it as, its local path or None, a presigned URL or None); RequestError when
        it is not there (yet). The download is named after the line: ``welcome-back-captain.mp4``."""
        record = self.get(job_id)
        if record.state != "done":
            raise RequestError("not_ready", f"job {job_id} is {record.state}; its files are there once it is done",
                               status=409)
        stored = next((f for f in record.files if f.name == name), None)
        if stored is None:
            names = ", ".join(f.name for f in record.files)
            raise RequestError("not_found", f"job {job_id} has no file {name!r}; it has: {names}", status=404)
        filename = f"{record.inputs.get('name') or 'line'}{Path(name).suffix}"
        url = self.storage.url(job_id, name, filename, stored.media_type)
        return stored, filename, (None if url else self.storage.local_path(job_id, name)), url

    def public(self, record: JobRecord, file_url=None) -> dict[str, Any]:
        """The Job object of docs/jobs.md; ``file_url(job_id, name)`` makes each file's URL (signed if needed)."""
        url = file_url or (lambda job_id, name: f"/v1/jobs/{job_id}/files/{name}")
        return {
            "id": record.id, "state": record.state, "created": iso(record.created), "started": iso(record.started),
            "finished": iso(record.finished),
            "progress": {"stage": record.stage, "done": record.done, "total": record.total,
                         "fraction": record.fraction()},
            "request": record.request, "error": record.error, "notes": record.notes,
            "files": [{"name": f.name, "size": f.size, "media_type": f.media_type, "url": url(record.id, f.name)}
                      for f in record.files],
            "queue_position": self._position(record.id),
        }

    def _position(self, job_id: str) -> int | None:
        with self.lock:
            try:
                return self.queue.index(job_id) + 1
            except ValueError:
                return None
