"""The synchronous Python client of the avatarlab daemon (docs/protocol.md, usage in docs/client.md).

    with Client() as client:
        for message in client.speak("Hello there!", emotion="happy"):
            ...  # Start, Audio, Frames, Events, then End
        utterance = client.speak("Hello there!", seed=1).collect()  # an avatarlab.engine.Utterance

One Client is one DEALER connection; several streams may be open on it at once. It is not
thread-safe: use it from one thread (or one Client per thread).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq

from .messages import (
    Audio, DaemonProtocolError, DaemonRestartedError, DaemonTimeoutError, End, Events, Frames, Message, Pong,
    RequestError, Start, StatusReply, StreamMessage, VoiceDescription, VoicesReply, Welcome,
)
from .protocol import DEFAULT_URL
from .session import (
    DEFAULT_MAX_BUFFER, ReplyState, Session, Waiter, check_collectable, configure_socket,
    StreamHandle, speak_fields,
)

if TYPE_CHECKING:
    from ..engine import Utterance

__all__ = [
    "Audio", "Client", "DaemonProtocolError", "DaemonRestartedError", "DaemonTimeoutError", "End", "Events",
    "Frames", "RequestError", "Start", "Stream", "VoiceDescription", "Welcome",
]

#: Messages read from the socket in one go before the waiting stream looks at its buffer again.
_DRAIN_BATCH = 256


class Client:
    """A connection to the daemon at ``url``.

    ``timeout``: seconds a reply or a stream may stay silent before DaemonTimeoutError.
    ``heartbeat_s``: while waiting, a ``ping`` goes out after this many seconds without traffic, so a
    daemon restart is noticed (DaemonRestartedError) long before the timeout.
    ``server_public_key`` / ``client_secret_key``: paths of ZeroMQ certificate files for CURVE.
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 30.0, server_public_key: str | Path | None = None,
                 client_secret_key: str | Path | None = None, heartbeat_s: float = 1.0,
                 max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self.url = url
        self._session = Session(url, timeout, heartbeat_s, max_buffer)
        self._socket = zmq.Context.instance().socket(zmq.DEALER)
        try:
            self._socket.setsockopt(zmq.SNDTIMEO, max(1, int(timeout * 1000)))
            configure_socket(self._socket, url, heartbeat_s, server_public_key, client_secret_key)
        except BaseException:
            self._socket.close(linger=0)
            raise

    # ---- lifetime ----
    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._socket.closed

    @property
    def instance(self) -> str | None:
        """The daemon instance last heard from (changes when the daemon restarts)."""
        return self._session.instance

    def close(self) -> None:
        """Tell the daemon to drop this client's requests (best effort) and close the socket."""
        if self._socket.closed:
            return
        self._session.bye()
        try:
            self._flush(block=False)
        finally:
            self._socket.close(linger=0)

    # ---- simple requests ----
    def hello(self, timeout: float | None = None) -> Welcome:
        """Negotiate the version; the Welcome holds the daemon's name, instance and limits."""
        return self._reply(self._session.hello(timeout))  # type: ignore[return-value]

    def ping(self, timeout: float | None = None) -> float:
        """Round-trip time to the daemon in seconds."""
        import time

        began = time.perf_counter()
        self._reply(self._session.request("ping", Pong, timeout, t=began))
        return time.perf_counter() - began

    def status(self, timeout: float | None = None) -> dict[str, Any]:
        """The daemon's status fields (instance, uptime_s, clients, active_requests, workers, voices, limits...)."""
        reply = self._reply(self._session.request("status", StatusReply, timeout))
        return dict(reply.fields)  # type: ignore[union-attr]

    def voices(self, timeout: float | None = None) -> list[VoiceDescription]:
        """The voices the daemon has loaded."""
        reply = self._reply(self._session.request("voices", VoicesReply, timeout))
        return list(reply.voices)  # type: ignore[union-attr]

    # ---- speak ----
    def speak(self, text: str | bytes, *, voice: str | None = None, fps: int | None = None,
              emotion: str | None = None, emotion_intensity: float | None = None, seed: int | None = None,
              speed: float | None = None, noise_scale: float | None = None, noise_w: float | None = None,
              speaker: int | str | None = None, sentence_silence: float | None = None,
              channels: Sequence[str] | None = None, curve_format: str = "f32",
              request_id: str | None = None) -> Stream:
        """Start synthesizing ``text``; iterate the returned Stream for its messages, or ``collect()`` it.

        Options left as None take the daemon's defaults (docs/protocol.md section 4). The request is
        sent at once; errors (bad option, busy daemon...) raise RequestError while iterating.
        """
        fields = speak_fields(voice=voice, fps=fps, emotion=emotion, emotion_intensity=emotion_intensity, seed=seed,
                              speed=speed, noise_scale=noise_scale, noise_w=noise_w, speaker=speaker,
                              sentence_silence=sentence_silence, channels=channels, curve_format=curve_format)
        state = self._session.open_stream(text, request_id, fields)
        self._flush()
        return Stream(self, state)

    # ---- plumbing ----
    def _reply(self, reply: ReplyState) -> Message:
        self._flush()
        while not reply.done:
            self._wait(reply)
        return reply.value()

    def _wait(self, waiter: Waiter) -> None:
        """Wait once for traffic (sending heartbeats as they fall due) and route what arrives."""
        self._check_open()
        wait_s = self._session.due(waiter)
        self._flush()
        if self._socket.poll(math.ceil(wait_s * 1000), zmq.POLLIN):
            for _ in range(_DRAIN_BATCH):
                try:
                    frames = self._socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._session.feed(frames)
            self._flush()

    def _flush(self, block: bool = True) -> None:
        outbox, self._session.outbox = self._session.outbox, []
        for frames in outbox:
            try:
                self._socket.send_multipart(frames, 0 if block else zmq.NOBLOCK)
            except zmq.Again:
                if block:
                    raise DaemonTimeoutError(f"cannot queue a message to the daemon at {self.url}; "
                                             "its connection is saturated") from None

    def _check_open(self) -> None:
        if self._socket.closed:
            raise RuntimeError("this Client is closed")


class Stream(StreamHandle):
    """The messages of one speak request: iterate it (Start, Audio/Frames/Events..., End), or collect() it.

    An ``error`` message raises RequestError. Also a context manager: leaving it cancels the request
    if it is still running.
    """

    def __iter__(self) -> Iterator[StreamMessage]:
        return self

    def __next__(self) -> StreamMessage:
        message = self._next()
        if message is None:
            raise StopIteration
        return message

    def _next(self) -> StreamMessage | None:
        while True:
            message = self._state.pop()
            if message is not None:
                self._collector.add(message)
                return message  # type: ignore[return-value]
            if self._state.done:
                return None
            self._client._wait(self._state)

    def cancel(self) -> End | None:
        """Cancel the request and wait for its terminal ``end``; nothing else is yielded afterwards.

        Returns that End (``status`` "cancelled", or "ok" if the line had finished first), or None if the
        stream had already been read to its end.
        """
        if self._state.done:
            return None
        self._client._session.cancel(self._state)
        self._client._flush()
        while (message := self._next()) is not None:
            if isinstance(message, End):
                return message
        return None

    def collect(self) -> Utterance:
        """Read the rest of the stream and rebuild the ``avatarlab.engine.Utterance`` it describes.

        Needs the default channels (audio, every curve group and the events). The audio, written
        with ``avatarlab.output.write_utterance``, is identical to the offline engine's; the curves
        are equal to float32 precision (f32) or half precision (f16).
        """
        check_collectable(self._state.request)
        for _ in self:
            pass
        return self._collector.utterance(self._state.text, self._state.request)

    def close(self) -> None:
        """Stop reading: cancel the request if it still runs (without waiting) and forget it."""
        if self._state.done:
            return
        self._client._session.abandon(self._state)
        if not self._client.closed:
            self._client._flush(block=False)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
