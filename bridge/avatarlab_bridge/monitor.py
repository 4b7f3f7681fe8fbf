"""Watches the daemon: pings it, notices when it is down or restarted, answers the bridge's HTTP queries."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

import msgpack
import zmq
import zmq.asyncio

from avatarlab.daemon.transport import needs_ipv6

log = logging.getLogger("avatarlab_bridge")


class DaemonMonitor:
    """One DEALER of the bridge's own: ``ping`` every ``interval_s``; down after ``timeout_s`` without a reply.

    ``state`` is ``"unknown"`` (no answer yet), ``"up"`` or ``"down"``. Listeners get
    ``("down", None)`` and ``("restarted", new_instance)``.
    """

    def __init__(self, url: str, interval_s: float = 0.5, timeout_s: float = 2.0) -> None:
        self.url, self.interval_s, self.timeout_s = url, interval_s, timeout_s
        self.state = "unknown"
        self.instance: str | None = None
        self.welcome: dict[str, Any] = {}
        self.last_reply = 0.0
        self._ids = itertools.count()
        self._waiting: dict[str, asyncio.Future] = {}
        self._listeners: list[Callable[[str, str | None], None]] = []
        self._socket: zmq.asyncio.Socket | None = None
        self._tasks: list[asyncio.Task] = []
        self._t0 = 0.0

    def listen(self, callback: Callable[[str, str | None], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    async def start(self) -> None:
        self._socket = new_dealer(self.url)
        self._t0 = time.monotonic()
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._ping())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        if self._socket is not None:
            self._socket.close(linger=0)

    async def request(self, kind: str, timeout_s: float = 3.0, **fields: Any) -> dict[str, Any]:
        """Send a simple request (``voices``, ``status``...) and wait for its reply header."""
        assert self._socket is not None
        request_id = f"bridge-{next(self._ids)}"
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            try:
                await self._socket.send(msgpack.packb({"v": 1, "type": kind, "id": request_id, **fields}),
                                        zmq.NOBLOCK)
            except zmq.Again:
                raise TimeoutError("the daemon is not connected") from None
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiting.pop(request_id, None)

    def _emit(self, event: str, value: str | None) -> None:
        for callback in list(self._listeners):
            try:
                callback(event, value)
            except Exception:  # noqa: BLE001 - one listener must not stop the others
                log.exception("monitor listener failed")

    async def _ping(self) -> None:
        assert self._socket is not None
        while True:
            if self.state != "up" or not self.welcome:
                try:  # (re)learn the limits from welcome
                    await self._socket.send(msgpack.packb({"v": 1, "type": "hello", "versions": [1],
                                                           "client": "avatarlab-bridge/0.1", "id": "bridge-hello"}),
                                            zmq.NOBLOCK)
                except zmq.Again:
                    pass
            try:
                await self._socket.send(msgpack.packb({"v": 1, "type": "ping", "id": "bridge-ping",
                                                       "t": time.monotonic()}), zmq.NOBLOCK)
            except zmq.Again:
                pass
            await asyncio.sleep(self.interval_s)
            if self.state != "down" and time.monotonic() - max(self.last_reply, self._t0) > self.timeout_s:
                self.state = "down"
                log.warning("daemon at %s does not answer", self.url)
                self._emit("down", None)

    async def _read(self) -> None:
        assert self._socket is not None
        while True:
            frames = await self._socket.recv_multipart()
            try:
                header = msgpack.unpackb(frames[0], raw=False, strict_map_key=False)
            except Exception:  # noqa: BLE001 - never crash on what the daemon sends
                continue
            if not isinstance(header, dict):
                continue
            self.last_reply = time.monotonic()
            instance = header.get("instance")
            if header.get("type") == "welcome":
                self.welcome = header
            if isinstance(instance, str):
                previous, self.instance = self.instance, instance
                restarted = previous is not None and previous != instance
                if restarted and header.get("type") != "welcome":
                    self.welcome = {}  # a restarted daemon's limits are learnt again (the next ping sends hello)
                # up once its welcome is known: a pong that overtook a hello sent before the connection was made
                # would otherwise leave /health "up" with no limits, and no hello sent again
                if self.welcome and self.state != "up":
                    log.info("daemon at %s is up (instance %s)", self.url, instance)
                    self.state = "up"
                if restarted:
                    log.warning("daemon at %s restarted (instance %s -> %s)", self.url, previous, instance)
                    self._emit("restarted", instance)
            future = self._waiting.get(header.get("id"))
            if future is not None and not future.done():
                future.set_result(header)


def new_dealer(url: str, hwm: int = 64) -> zmq.asyncio.Socket:
    """A DEALER as the Python client sets it up, plus IMMEDIATE: nothing is queued while the daemon is away."""
    socket = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.IMMEDIATE, 1)
    socket.setsockopt(zmq.SNDHWM, hwm)
    socket.setsockopt(zmq.RCVHWM, hwm)
    socket.setsockopt(zmq.RECONNECT_IVL, 100)
    socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
    socket.setsockopt(zmq.HEARTBEAT_IVL, 1000)
    socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 30000)
    if needs_ipv6(url):  # tcp://[::1]:5555: ZeroMQ connects to an IPv6 address only with this on
        socket.setsockopt(zmq.IPV6, 1)
    socket.connect(url)
    return socket
