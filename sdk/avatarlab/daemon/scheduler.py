"""Fair, bounded hand-out of work to the daemon's worker threads.

Round-robin over clients first, then over each client's requests, so a client
with four requests gets the same share as a client with one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Any, Hashable


class FairScheduler:
    """Requests ready for their next step, grouped by client; ``take`` blocks until one is ready."""

    def __init__(self) -> None:
        self._ready: OrderedDict[Hashable, deque[Any]] = OrderedDict()
        self._condition = threading.Condition()
        self._closed = False

    def add(self, client: Hashable, request: Any) -> None:
        """Queue a request for one step (ignored if it is already queued or being worked on)."""
        with self._condition:
            if request.in_worker or request.finished:
                return
            queue = self._ready.setdefault(client, deque())
            if request not in queue:
                queue.append(request)
                self._condition.notify()

    def take(self, timeout: float | None = None) -> Any | None:
        """The next request in fair order, marked as being worked on; None once closed."""
        with self._condition:
            while not self._ready and not self._closed:
                if not self._condition.wait(timeout):
                    return None
            if self._closed:
                return None
            client, queue = self._ready.popitem(last=False)
            request = queue.popleft()
            if queue:
                self._ready[client] = queue  # back of the line: the next client goes first
            request.in_worker = True
            return request

    def discard(self, request: Any) -> None:
        with self._condition:
            for client, queue in list(self._ready.items()):
                if request in queue:
                    queue.remove(request)
                    if not queue:
                        del self._ready[client]

    def queued(self) -> int:
        with self._condition:
            return sum(len(q) for q in self._ready.values())

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
