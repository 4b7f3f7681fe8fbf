"""The asyncio twin of ``avatarlab.daemon.client`` on ``zmq.asyncio`` (usage in docs/client.md).

    async with AsyncClient() as client:
        async for message in client.speak("Hello", emotion="happy"):
            ...
        utterance = await client.speak("Hello").collect()
        async with client.listen(sample_rate=16000) as live:       # or: live = await client.listen(...)
            await live.push(block)
            replies = await live.poll()
            stats = await live.finish()

Same API as the synchronous Client, with ``await`` on every call that talks to the daemon. One task
reads the socket and routes messages (through the shared ``Session``); any number of tasks may wait
on replies or streams at once. Use an AsyncClient from one event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zmq
import zmq.asyncio

from .messages import (
    DaemonTimeoutError, End, LiveMessage, Message, Pong, StatusReply, StreamMessage, VoiceDescription, VoicesReply,
    Welcome,
)
from .protocol import DEFAULT_URL
from .session import (
    DEFAULT_MAX_BUFFER, LiveHandle, ReplyState, Session, Waiter, check_collectable, configure_socket,
    StreamHandle, listen_fields, speak_fields,
)

if TYPE_CHECKING:
    from ..engine import Utterance

__all__ = ["AsyncClient", "AsyncLiveStream", "AsyncStream"]


class AsyncClient:
    """An asyncio connection to the daemon; arguments as for ``Client``."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 30.0, server_public_key: str | Path | None = None,
                 client_secret_key: str | Path | None = None, heartbeat_s: float = 1.0,
                 max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self.url = url
        self._session = Session(url, timeout, heartbeat_s, max_buffer)
        self._socket = zmq.asyncio.Context.instance().socket(zmq.DEALER)
        try:
            configure_socket(self._socket, url, heartbeat_s, server_public_key, client_secret_key)
        except BaseException:
            self._socket.close(linger=0)
            raise
        self._reader: asyncio.Task | None = None
        self._reader_error: BaseException | None = None
        self._changed = asyncio.Event()

    # ---- lifetime ----
    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._socket.closed

    @property
    def instance(self) -> str | None:
        return self._session.instance

    async def close(self) -> None:
        """Tell the daemon to drop this client's requests (best effort), stop reading, close the socket."""
        if self._socket.closed:
            return
        self._session.bye()
        try:
            await self._flush(block=False)
        finally:
            if self._reader is not None:
                self._reader.cancel()
                try:
                    await self._reader
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                    pass
            self._socket.close(linger=0)

    # ---- simple requests ----
    async def hello(self, timeout: float | None = None) -> Welcome:
        return await self._reply(self._session.hello(timeout))  # type: ignore[return-value]

    async def ping(self, timeout: float | None = None) -> float:
        began = time.perf_counter()
        await self._reply(self._session.request("ping", Pong, timeout, t=began))
        return time.perf_counter() - began

    async def status(self, timeout: float | None = None) -> dict[str, Any]:
        reply = await self._reply(self._session.request("status", StatusReply, timeout))
        return dict(reply.fields)  # type: ignore[union-attr]

    async def voices(self, timeout: float | None = None) -> list[VoiceDescription]:
        reply = await self._reply(self._session.request("voices", VoicesReply, timeout))
        return list(reply.voices)  # type: ignore[union-attr]

    def speak(self, text: str | bytes, *, voice: str | None = None, fps: int | None = None,
              emotion: str | None = None, emotion_intensity: float | None = None, seed: int | None = None,
              speed: float | None = None, noise_scale: float | None = None, noise_w: float | None = None,
              speaker: int | str | None = None, sentence_silence: float | None = None,
              channels: Sequence[str] | None = None, curve_format: str = "f32",
              request_id: str | None = None) -> AsyncStream:
        """Queue a speak request and return its stream (sent when the stream is first awaited)."""
        fields = speak_fields(voice=voice, fps=fps, emotion=emotion, emotion_intensity=emotion_intensity, seed=seed,
                              speed=speed, noise_scale=noise_scale, noise_w=noise_w, speaker=speaker,
                              sentence_silence=sentence_silence, channels=channels, curve_format=curve_format)
        return AsyncStream(self, self._session.open_stream(text, request_id, fields))

    def listen(self, *, sample_rate: int = 16000, fps: int = 60, channels: Sequence[str] | None = None,
               audio_format: str = "pcm16le", emotion: str | None = None, emotion_intensity: float | None = None,
               seed: int | None = None, curve_format: str = "f32", request_id: str | None = None) -> AsyncLiveStream:
        """Queue a listen request (see ``Client.listen``); ``await`` the returned stream (or enter it with
        ``async with``) to wait for its start, after which ``max_delay_s`` is known."""
        fields = listen_fields(sample_rate=sample_rate, fps=fps, audio_format=audio_format, emotion=emotion,
                               emotion_intensity=emotion_intensity, seed=seed, channels=channels,
                               curve_format=curve_format)
        return AsyncLiveStream(self, self._session.open_live(request_id, fields))

    # ---- plumbing ----
    async def _reply(self, reply: ReplyState) -> Message:
        while not reply.done:
            await self._wait(reply)
        return reply.value()

    async def _wait(self, waiter: Waiter, limit_s: float | None = None) -> None:
        """Send what is queued, then wait once for traffic or the next heartbeat (at most ``limit_s``)."""
        if self._socket.closed:
            raise RuntimeError("this AsyncClient is closed")
        if self._reader_error is not None:
            raise self._reader_error
        self._start_reader()
        changed = self._changed
        wait_s = self._session.due(waiter)
        if limit_s is not None:
            wait_s = max(0.0, min(wait_s, limit_s))
        await self._flush()
        if wait_s <= 0:
            await asyncio.sleep(0)  # let the reader route what has arrived
            return
        try:
            await asyncio.wait_for(changed.wait(), wait_s)
        except asyncio.TimeoutError:
            pass

    def _start_reader(self) -> None:
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                frames = await self._socket.recv_multipart()
                self._session.feed(frames)
                self._changed.set()
                self._changed = asyncio.Event()
                await self._flush(block=False)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001 - handed to the waiters
            self._reader_error = error
            self._changed.set()

    async def _flush(self, block: bool = True) -> None:
        outbox, self._session.outbox = self._session.outbox, []
        for frames in outbox:
            try:
                await self._socket.send_multipart(frames, 0 if block else zmq.NOBLOCK)
            except zmq.Again:
                if block:
                    raise DaemonTimeoutError(f"cannot queue a message to the daemon at {self.url}") from None


class _AsyncClosing:
    """close(), shared by the async client's stream handles."""

    _state: Any
    _client: AsyncClient

    async def close(self) -> None:
        """Stop reading: cancel the request if it still runs (without waiting) and forget it."""
        if self._state.done:
            return
        self._client._session.abandon(self._state)
        if not self._client.closed:
            await self._client._flush(block=False)


class AsyncStream(_AsyncClosing, StreamHandle):
    """The messages of one speak request: ``async for`` them, or ``await collect()``."""

    def __aiter__(self) -> AsyncIterator[StreamMessage]:
        return self

    async def __anext__(self) -> StreamMessage:
        message = await self._next()
        if message is None:
            raise StopAsyncIteration
        return message

    async def _next(self) -> StreamMessage | None:
        while True:
            message = self._state.pop()
            if message is not None:
                self._collector.add(message)
                return message  # type: ignore[return-value]
            if self._state.done:
                return None
            await self._client._wait(self._state)

    async def cancel(self) -> End | None:
        """Cancel and wait for the terminal ``end`` (see ``Stream.cancel``)."""
        if self._state.done:
            return None
        self._client._session.cancel(self._state)
        while (message := await self._next()) is not None:
            if isinstance(message, End):
                return message
        return None

    async def collect(self) -> Utterance:
        """Read the rest of the stream and rebuild its ``avatarlab.engine.Utterance`` (see ``Stream.collect``)."""
        check_collectable(self._state.request)
        async for _ in self:
            pass
        return self._collector.utterance(self._state.text, self._state.request)


    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class AsyncLiveStream(_AsyncClosing, LiveHandle):
    """A live stream on an AsyncClient: the API of ``LiveStream`` with ``await`` (``async for`` the replies)."""

    def __await__(self) -> Generator[Any, None, AsyncLiveStream]:
        return self._open().__await__()

    async def _open(self) -> AsyncLiveStream:
        while not self._opened():
            await self._client._wait(self._state)
        return self

    async def push(self, samples: Any, last: bool = False) -> int:
        """Send audio (see ``LiveStream.push``); returns how many push messages went out."""
        if self.start is None:
            await self._open()
        count = self._queue_push(samples, last)
        await self._client._flush()
        self._client._start_reader()
        return count

    async def poll(self, timeout: float = 0.0) -> list[LiveMessage]:
        """The replies received so far; with ``timeout`` > 0, waits up to that long for the first one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        out: list[LiveMessage] = []
        await self._client._wait(self._state, 0.0)
        while True:
            self._take(out)
            left = deadline - loop.time()
            if out or self._state.done or left <= 0:
                return out
            await self._client._wait(self._state, left)

    async def wait(self) -> list[LiveMessage]:
        """Read until every push sent so far has its reply (see ``LiveStream.wait``)."""
        out: list[LiveMessage] = []
        await self._client._wait(self._state, 0.0)
        while True:
            self._take(out)
            state = self._state
            if not state.pending or state.done or state.terminal_received or state.failure is not None:
                return out
            await self._client._wait(state)

    def __aiter__(self) -> AsyncIterator[LiveMessage]:
        return self

    async def __anext__(self) -> LiveMessage:
        while True:
            message = self._state.pop()
            if message is not None:
                return message  # type: ignore[return-value]
            if self._state.done:
                raise StopAsyncIteration
            await self._client._wait(self._state)

    async def finish(self) -> dict[str, Any]:
        """Push the end of the audio and read up to ``end``; returns its stats (see ``LiveStream.finish``)."""
        if self.start is None:
            await self._open()
        if not self._state.last_sent and not self._state.done and not self._state.terminal_received:
            await self.push(np.zeros(0, np.float32), last=True)
        while (stats := self._end_stats()) is None:
            await self._client._wait(self._state)
        return stats

    async def cancel(self) -> End | None:
        """Cancel and wait for the terminal ``end`` (see ``LiveStream.cancel``)."""
        if self._state.done:
            return None
        self._client._session.cancel(self._state)
        while True:
            message = self._state.pop()
            if isinstance(message, End):
                return message
            if message is None:
                if self._state.done:
                    return None
                await self._client._wait(self._state)


    async def __aenter__(self) -> AsyncLiveStream:
        return await self._open()

    async def __aexit__(self, *_: object) -> None:
        await self.close()
