"""Worker processes that run jobs, one job at a time each.

Each worker is a spawned process with a pipe to the bridge: it receives a task, sends progress and finally a
result. Cancelling a running job kills its worker (a render cannot be stopped mid-frame any other way) and starts
a fresh one; a worker that dies on its own fails its job with ``worker_crashed`` and is replaced the same way.
The queue of waiting jobs is the service's (bounded there); the pool only knows who is idle.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger("avatarlab.jobs")


@dataclass(frozen=True)
class Task:
    job_id: str
    request: dict[str, Any]  # JobRequest.model_dump(): plain data crosses the pipe
    inputs: dict[str, Any]  # request.Inputs as a dict
    scratch: str


@dataclass(frozen=True)
class Event:
    """From a worker: ("progress", stage, done, total), ("done", files, notes) or ("failed", code, message)."""

    job_id: str
    kind: str
    data: tuple


def _error_code(error: BaseException) -> str:
    """invalid_input for what the request's own inputs caused, storage_failed for the disk, else render_failed."""
    from ..errors import InvalidOptionError, InvalidTextError
    from ..lipsync.audio_input import InvalidAudioError

    if isinstance(error, (InvalidAudioError, InvalidOptionError, InvalidTextError)):
        return "invalid_input"
    if isinstance(error, OSError):
        return "storage_failed"
    return "render_failed"


def _message(error: BaseException) -> str:
    from ..errors import AvatarLabError

    if isinstance(error, AvatarLabError):
        return str(error)
    if isinstance(error, OSError):
        return f"cannot write the job's files: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def worker_main(conn: Connection, threads: int | None) -> None:
    """A worker process: run tasks from ``conn`` until it closes."""
    from . import work
    from .request import Inputs, JobRequest

    if threads is not None:
        os.environ.setdefault("LP_NUM_THREADS", str(threads))  # llvmpipe's share of the cores
        work.THREADS = threads  # onnxruntime's
        if threads <= 1:  # recognition would otherwise start a helper process of its own (lipsync/workers.py)
            os.environ.setdefault("AVATARLAB_LIPSYNC_WORKERS", "0")
    while True:
        try:
            task: Task = conn.recv()
        except (EOFError, OSError):
            return

        def progress(stage: str, done: int, total: int, job_id: str = task.job_id) -> None:
            conn.send(Event(job_id, "progress", (stage, done, total)))

        try:
            files, notes = work.run_job(JobRequest.model_validate(task.request), Inputs(**task.inputs),
                                   Path(task.scratch), progress)
            conn.send(Event(task.job_id, "done", (files, notes)))
        except Exception as error:  # noqa: BLE001 - a job's failure is reported, the worker goes on
            traceback.print_exc()
            conn.send(Event(task.job_id, "failed", (_error_code(error), _message(error))))


class Worker:
    """One worker process and the thread that reads its pipe."""

    def __init__(self, index: int, threads: int | None, on_event: Callable[[Event], None],
                 on_exit: Callable[[Worker, str | None, bool], None]) -> None:
        self.index, self.threads, self.on_event, self.on_exit = index, threads, on_event, on_exit
        self.job_id: str | None = None
        self.killed = False
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, threads), daemon=True,
                                       name=f"avatarlab-job-worker-{index}")
        self.process.start()
        child.close()
        self.reader = threading.Thread(target=self._read, daemon=True, name=f"job-worker-{index}-reader")
        self.reader.start()

    def run(self, task: Task) -> None:
        self.job_id = task.job_id
        self.conn.send(task)

    def kill(self) -> None:
        self.killed = True
        self.process.kill()

    def _read(self) -> None:
        while True:
            try:
                event: Event = self.conn.recv()
            except (EOFError, OSError):
                break
            if event.kind in ("done", "failed"):
                self.job_id = None
            self.on_event(event)
        self.process.join(timeout=5)
        job_id, self.job_id = self.job_id, None
        self.on_exit(self, job_id, self.killed)

    def stop(self) -> None:
        self.killed = True
        self.conn.close()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()


class WorkerPool:
    """``count`` workers; ``assign`` hands a task to an idle one; a dead worker is replaced."""

    def __init__(self, count: int, on_event: Callable[[Event], None], on_idle: Callable[[], None],
                 threads: int | None = None) -> None:
        self.count, self.on_event, self.on_idle = count, on_event, on_idle
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 1) // count)
        self.lock = threading.Lock()
        self.workers: list[Worker] = []
        self.stopping = False

    def start(self) -> None:
        self.workers = [self._new(index) for index in range(self.count)]

    def _new(self, index: int) -> Worker:
        return Worker(index, self.threads, self._event, self._exited)

    def _event(self, event: Event) -> None:
        self.on_event(event)
        if event.kind in ("done", "failed"):
            self.on_idle()

    def _exited(self, worker: Worker, job_id: str | None, killed: bool) -> None:
        if self.stopping:
            return
        if job_id is not None and not killed:
            code = worker.process.exitcode
            self.on_event(Event(job_id, "failed", ("worker_crashed", f"the worker process running the job died "
                                                   f"(exit code {code}); the job can be sent again")))
        with self.lock:
            if worker in self.workers:
                self.workers[self.workers.index(worker)] = self._new(worker.index)
        self.on_idle()

    def idle(self) -> Worker | None:
        with self.lock:
            return next((w for w in self.workers if w.job_id is None and w.process.is_alive()), None)

    def assign(self, task: Task) -> bool:
        worker = self.idle()
        if worker is None:
            return False
        worker.run(task)
        return True

    def cancel(self, job_id: str) -> bool:
        """Kill the worker running ``job_id`` (it is replaced); False when no worker runs it."""
        with self.lock:
            worker = next((w for w in self.workers if w.job_id == job_id), None)
        if worker is None:
            return False
        worker.kill()
        return True

    def stop(self) -> None:
        self.stopping = True
        for worker in self.workers:
            worker.stop()
