"""The synchronous Python client of the avatarlab daemon (docs/protocol.md, usage in docs/client.md).

    with Client() as client:
        for message in client.speak("Hello there!", emotion="happy"):
            ...  # Start, Audio, Frames, Events, then End
        utterance = client.speak("Hello there!", seed=1).collect()  # an avatarlab.engine.Utterance
        with client.listen(sample_rate=16000) as live:                # live audio -> face curves
            live.push(block)                                          # float32 -1..1 or int16 PCM
            for message in live.poll():
                ...  # LiveFrames (one per push), Events (visemes), End
            stats = live.finish()

One Client is one DEALER connection; several streams may be open on it at once. It is not
thread-safe: use it from one thread (or one Client per thread).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zmq

from .messages import (
    Audio, DaemonProtocolError, DaemonRestartedError, DaemonTimeoutError, End, Events, Frames, LiveFrames,
    LiveMessage, LiveStart, Message, Pong, RequestError, Start, StatusReply, StreamMessage, VoiceDescription,
    VoicesReply, Welcome,
)
from .protocol import DEFAULT_URL
from .session import (
    DEFAULT_MAX_BUFFER, LiveCollector, LiveHandle, ReplyState, Session, Waiter, check_collectable, configure_socket,
    StreamHandle, listen_fields, speak_fields,
)

if TYPE_CHECKING:
    from ..engine import Utterance

__all__ = [
    "Audio", "Client", "DaemonProtocolError", "DaemonRestartedError", "DaemonTimeoutError", "End", "Events",
    "Frames", "LiveCollector", "LiveFrames", "LiveStart", "LiveStream", "RequestError", "Start", "Stream",
    "VoiceDescription", "Welcome",
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

    # ---- listen ----
    def listen(self, *, sample_rate: int = 16000, fps: int = 60, channels: Sequence[str] | None = None,
               audio_format: str = "pcm16le", emotion: str | None = None, emotion_intensity: float | None = None,
               seed: int | None = None, curve_format: str = "f32", request_id: str | None = None) -> LiveStream:
        """Open a live stream (docs/protocol.md section 5a): push audio, get face curves back.

        ``sample_rate`` is the rate of the audio you will push (8000 to 48000); ``channels`` any of
        ``visemes``, ``blendshapes``, ``head``, ``eyes``, ``events`` (default all); ``audio_format`` how
        samples travel (``pcm16le`` or ``f32le``; push() converts). Waits for the daemon's ``start``, so
        ``max_delay_s`` is known on return; a refused stream (bad sample rate...) raises RequestError here.
        """
        fields = listen_fields(sample_rate=sample_rate, fps=fps, audio_format=audio_format, emotion=emotion,
                               emotion_intensity=emotion_intensity, seed=seed, channels=channels,
                               curve_format=curve_format)
        state = self._session.open_live(request_id, fields)
        self._flush()
        live = LiveStream(self, state)
        while not live._opened():
            self._wait(state)
        return live

    # ---- plumbing ----
    def _reply(self, reply: ReplyState) -> Message:
        self._flush()
        while not reply.done:
            self._wait(reply)
        return reply.value()

    def _wait(self, waiter: Waiter, limit_s: float | None = None) -> None:
        """Wait once for traffic (sending heartbeats as they fall due) and route what arrives.

        ``limit_s`` caps the wait (0: only read what has already arrived).
        """
        self._check_open()
        wait_s = self._session.due(waiter)
        if limit_s is not None:
            wait_s = max(0.0, min(wait_s, limit_s))
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


class _Closing:
    """close() and the context manager, shared by the sync client's stream handles."""

    _state: Any
    _client: Client

    def close(self) -> None:
        """Stop reading: cancel the request if it still runs (without waiting) and forget it."""
        if self._state.done:
            return
        self._client._session.abandon(self._state)
        if not self._client.closed:
            self._client._flush(block=False)

    def __enter__(self):
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Stream(_Closing, StreamHandle):
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



class LiveStream(_Closing, LiveHandle):
    """A live stream: ``push()`` audio, read the replies (``poll``, ``wait`` or iteration), ``finish()``.

    Every push is answered by one ``LiveFrames`` (``num_frames`` may be 0), then an ``Events`` when
    viseme segments closed; the stream ends with ``End``. An ``error`` raises RequestError. Also a
    context manager: leaving it cancels the stream if it still runs.
    """

    def push(self, samples: Any, last: bool = False) -> int:
        """Send mono audio at the stream's ``sample_rate``: float -1..1 or int16 PCM (converted to the
        stream's ``audio_format``). An array longer than the daemon's ``max_push_s`` goes out as several
        pushes; returns how many were sent. ``last=True`` ends the audio (an empty array is fine then).
        Does not wait for the replies.
        """
        count = self._queue_push(samples, last)
        self._client._flush()
        return count

    def poll(self, timeout: float = 0.0) -> list[LiveMessage]:
        """The replies received so far, without waiting; with ``timeout`` > 0, waits up to that many
        seconds for the first one when none has arrived yet."""
        deadline = time.monotonic() + max(0.0, timeout)
        out: list[LiveMessage] = []
        self._client._wait(self._state, 0.0)
        while True:
            self._take(out)
            left = deadline - time.monotonic()
            if out or self._state.done or left <= 0:
                return out
            self._client._wait(self._state, left)

    def wait(self) -> list[LiveMessage]:
        """Read until every push sent so far has its reply; returns the messages read (with any
        ``Events`` that came along)."""
        out: list[LiveMessage] = []
        self._client._wait(self._state, 0.0)
        while True:
            self._take(out)
            state = self._state
            if not state.pending or state.done or state.terminal_received or state.failure is not None:
                return out  # an error that ended the stream is raised by the next call
            self._client._wait(state)

    def __iter__(self) -> Iterator[LiveMessage]:
        return self

    def __next__(self) -> LiveMessage:
        """The next reply, waiting for it (until the stream's End; after it, StopIteration)."""
        while True:
            message = self._state.pop()
            if message is not None:
                return message  # type: ignore[return-value]
            if self._state.done:
                raise StopIteration
            self._client._wait(self._state)

    def finish(self) -> dict[str, Any]:
        """Push the end of the audio (unless a push was marked last) and read up to the stream's ``end``;
        returns its stats. The replies read on the way stay queued: ``poll()`` or iteration yields them."""
        if not self._state.last_sent and not self._state.done and not self._state.terminal_received:
            self.push(np.zeros(0, np.float32), last=True)
        while (stats := self._end_stats()) is None:
            self._client._wait(self._state)
        return stats

    def cancel(self) -> End | None:
        """Cancel the stream and wait for its terminal ``end`` (status "cancelled", or "ok" if it had ended),
        which it returns; replies not read yet are dropped. None if the end had already been read."""
        if self._state.done:
            return None
        self._client._session.cancel(self._state)
        self._client._flush()
        while True:
            message = self._state.pop()
            if isinstance(message, End):
                return message
            if message is None:
                if self._state.done:
                    return None
                self._client._wait(self._state)

