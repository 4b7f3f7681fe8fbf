"""Hand-out of work to the daemon's worker threads: earliest deadline first.

A running stream is due when the audio it has sent so far runs out at the
listener (first audio sent + seconds of audio sent); a new request is due the
moment it arrives, so first chunks come quickly. Taking the most urgent stream
each time keeps as many streams real-time as the CPU allows, and no stream can be
starved: every step it waits, its deadline only gets relatively earlier.
"""

from __future__ import annotations

import threading
from typing import Any, Hashable


class DeadlineScheduler:
    """Requests ready for their next step; ``take`` blocks until one is ready and returns the most urgent."""

    def __init__(self) -> None:
        self._ready: dict[int, Any] = {}
        self._condition = threading.Condition()
        self._closed = False

    def add(self, client: Hashable, request: Any) -> None:
        """Queue a request for one step (ignored if it is already queued, being worked on, or over)."""
        with self._condition:
            if request.in_worker or request.finished or id(request) in self._ready:
                return
            self._ready[id(request)] = request
            self._condition.notify()

    def take(self, timeout: float | None = None) -> Any | None:
        """The ready request with the earliest deadline, marked as being worked on; None once closed."""
        with self._condition:
            while not self._ready and not self._closed:
                if not self._condition.wait(timeout):
                    return None
            if self._closed:
                return None
            key = min(self._ready, key=lambda k: self._ready[k].deadline())
            request = self._ready.pop(key)
            request.in_worker = True
            return request

    def discard(self, request: Any) -> None:
        with self._condition:
            self._ready.pop(id(request), None)

    def queued(self) -> int:
        with self._condition:
            return len(self._ready)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
