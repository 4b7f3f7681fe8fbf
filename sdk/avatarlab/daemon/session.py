"""The client side of docs/protocol.md without any I/O: request building, demultiplexing, heartbeats.

``Session`` holds everything the synchronous ``Client`` and the asyncio ``AsyncClient`` share: which
requests are open, the messages buffered for each stream, the daemon instance each request was sent
to, and when to ping or give up. The clients only move frames between it and their socket: they
send what ``Session.outbox`` holds, pass every received message to ``Session.feed``, and sleep for
as long as ``Session.due`` says.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zmq

from .. import __version__
from ..options import SynthesisOptions
from .messages import (
    Audio, DaemonProtocolError, DaemonRestartedError, DaemonTimeoutError, End, ErrorMessage, Events, Frames, Message,
    Pong, RequestError, Start, StatusReply, UnknownMessage, Welcome, decode_message,
)
from .protocol import GROUPS, HEARTBEAT_TIMEOUT_MS, STREAM_CHANNELS, SUPPORTED_VERSIONS, VERSION, Limits, pack

if TYPE_CHECKING:
    from ..engine import Utterance

_LOG = logging.getLogger(__name__)

CLIENT_NAME = f"avatarlab-python/{__version__}"
#: Messages buffered for one stream that nobody reads before the client cancels it.
DEFAULT_MAX_BUFFER = 4096
#: ZeroMQ receive queue of the client socket (messages); the daemon's own queue is 64 per client.
RECEIVE_HWM = 1000
_MAX_ID_CHARS = Limits().max_id_chars
#: ``speak`` fields passed through as given (None means "the daemon's default").
SPEAK_FIELDS = ("voice", "fps", "emotion", "emotion_intensity", "seed", "speed", "noise_scale", "noise_w",
                "speaker", "sentence_silence", "channels", "curve_format")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def configure_socket(socket: zmq.Socket, url: str, heartbeat_s: float, server_public_key: str | Path | None,
                     client_secret_key: str | Path | None) -> None:
    """DEALER options (linger 0, bounded queues, ZMTP heartbeats, optional CURVE), then connect."""
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVHWM, RECEIVE_HWM)
    socket.setsockopt(zmq.RECONNECT_IVL, 100)
    socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
    # ZMTP heartbeats find a dead TCP connection (peer host gone) so that ZeroMQ re-dials. The timeout is the
    # daemon's: a client that pauses reading stops reading PONGs too, and must not drop its own connection
    # (and with it its streams) before the daemon would.
    socket.setsockopt(zmq.HEARTBEAT_IVL, max(1, int(heartbeat_s * 1000)))
    socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
    if server_public_key is not None or client_secret_key is not None:
        _use_curve(socket, server_public_key, client_secret_key)
    socket.connect(url)


def _use_curve(socket: zmq.Socket, server_public_key: str | Path | None, client_secret_key: str | Path | None) -> None:
    import zmq.auth

    from .messages import AvatarLabError

    if server_public_key is None or client_secret_key is None:
        raise AvatarLabError("CURVE needs both server_public_key (the daemon's .key file) and client_secret_key "
                             "(this client's .key_secret file)")
    try:
        server_public, _ = zmq.auth.load_certificate(str(server_public_key))
        client_public, client_secret = zmq.auth.load_certificate(str(client_secret_key))
    except (OSError, ValueError) as error:
        raise AvatarLabError(f"cannot load ZeroMQ certificate: {error}") from error
    if client_secret is None:
        raise AvatarLabError(f"{client_secret_key} holds no secret key; pass the .key_secret file")
    socket.curve_serverkey = server_public
    socket.curve_publickey = client_public
    socket.curve_secretkey = client_secret


def speak_fields(**given: Any) -> dict[str, Any]:
    """The ``speak`` header fields among ``given`` that are not None, checked for type where cheap."""
    unknown = set(given) - set(SPEAK_FIELDS)
    if unknown:
        raise TypeError(f"unknown speak option(s): {', '.join(sorted(unknown))}")
    result = {name: value for name, value in given.items() if value is not None}
    if "channels" in result:
        result["channels"] = list(result["channels"])
    return result


def options_of(request: dict[str, Any], fps: int) -> SynthesisOptions:
    """The SynthesisOptions a speak request asked for (daemon defaults where it gave none)."""
    names = {f.name for f in fields(SynthesisOptions)}
    return SynthesisOptions(**{k: v for k, v in request.items() if k in names and k != "fps"}, fps=fps)


# ---- waiters -------------------------------------------------------------------------------


@dataclass(eq=False)
class Waiter:
    """Something the client waits for: a reply or a stream. ``last_activity`` restarts its timeout."""

    id: str
    timeout: float
    last_activity: float
    answered: bool = False


@dataclass(eq=False)
class ReplyState(Waiter):
    """A one-message answer (welcome, pong, status, voices)."""

    expected: type = object
    result: Message | None = None
    error: Exception | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def value(self) -> Message:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass(eq=False)
class StreamState(Waiter):
    """One speak request: its buffered messages and what the client has seen of it."""

    request: dict[str, Any] = field(default_factory=dict)
    text: str | bytes = ""
    ping_id: str = ""
    instance: str | None = None  # daemon instance that runs it, from the pong of its own ping
    start: Start | None = None
    next_seq: int = 0
    queue: deque = field(default_factory=deque)
    terminal_received: bool = False
    cancel_sent: bool = False
    failure: Exception | None = None
    done: bool = False  # the terminal message (or failure) has been handed to the caller
    end: End | None = None

    def pop(self) -> Message | None:
        """The next message for the caller, None if none is buffered; raises the stream's error."""
        if self.done:
            return None
        if self.queue:
            message = self.queue.popleft()
            if isinstance(message, ErrorMessage):
                self.done = True
                raise message.to_exception()
            if isinstance(message, End):
                self.done, self.end = True, message
            return message
        if self.failure is not None:
            self.done = True
            raise self.failure
        return None


# ---- the session ---------------------------------------------------------------------------


class Session:
    """Open requests of one client connection, and the messages to send next (``outbox``)."""

    def __init__(self, url: str, timeout: float, heartbeat_s: float, max_buffer: int = DEFAULT_MAX_BUFFER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if timeout <= 0 or heartbeat_s <= 0:
            raise ValueError("timeout and heartbeat_s must be positive")
        self.url, self.timeout, self.heartbeat_s, self.max_buffer, self.clock = (
            url, timeout, heartbeat_s, max_buffer, clock)
        self.instance: str | None = None
        self.outbox: list[list[bytes]] = []
        self.streams: dict[str, StreamState] = {}
        self.replies: dict[str, ReplyState] = {}
        self._stream_pings: dict[str, StreamState] = {}
        self.last_traffic = self.last_ping = clock()

    # ---- requests ----
    def _send(self, header: dict[str, Any]) -> None:
        self.outbox.append(pack({"v": VERSION, **header}))

    def _ping(self, ping_id: str) -> None:
        self._send({"type": "ping", "id": ping_id, "t": time.time()})
        self.last_ping = self.clock()

    def request(self, kind: str, expected: type, timeout: float | None = None, **extra: Any) -> ReplyState:
        """Queue a ``hello`` / ``ping`` / ``status`` / ``voices`` and return what to wait on."""
        reply = ReplyState(f"{kind}-{new_request_id()}", timeout or self.timeout, self.clock(), expected=expected)
        self.replies[reply.id] = reply
        self._send({"type": kind, "id": reply.id, **extra})
        if kind == "ping":
            self.last_ping = self.clock()
        return reply

    def hello(self, timeout: float | None = None) -> ReplyState:
        return self.request("hello", Welcome, timeout, versions=list(SUPPORTED_VERSIONS), client=CLIENT_NAME)

    def open_stream(self, text: str | bytes, request_id: str | None, fields_: dict[str, Any]) -> StreamState:
        """Queue a ping (to learn which daemon instance takes the request) and the ``speak`` itself."""
        request_id = new_request_id() if request_id is None else request_id
        if not isinstance(request_id, str) or not 1 <= len(request_id) <= _MAX_ID_CHARS:
            raise RequestError("invalid_field", f"request_id must be a string of 1 to {_MAX_ID_CHARS} characters",
                               field="id")
        if request_id in self.streams:
            raise RequestError("duplicate_id", f"request {request_id!r} is still running on this client")
        if isinstance(text, (bytes, bytearray)):
            try:  # the daemon reports bytes that are not UTF-8 as invalid_text
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                text = bytes(text)
        state = StreamState(request_id, self.timeout, self.clock(), request=fields_, text=text,
                            ping_id=f"p-{new_request_id()}")
        self.streams[request_id] = state
        self._stream_pings[state.ping_id] = state
        self._ping(state.ping_id)
        self._send({"type": "speak", "id": request_id, "text": text, **fields_})
        return state

    def cancel(self, state: StreamState) -> None:
        """Queue a ``cancel`` (unless the stream already ended) and drop buffered non-terminal messages."""
        state.queue = deque(m for m in state.queue if isinstance(m, (End, ErrorMessage)))
        if state.cancel_sent or state.terminal_received or state.failure is not None or state.done:
            return
        state.cancel_sent = True
        state.last_activity = self.clock()
        self._send({"type": "cancel", "id": state.id})

    def abandon(self, state: StreamState) -> None:
        """The caller stops reading: cancel the request if it runs and forget it."""
        if not state.done:
            self.cancel(state)
            state.done = True
        self._forget(state)

    def bye(self) -> None:
        self._send({"type": "bye"})

    def _forget(self, waiter: Waiter) -> None:
        if isinstance(waiter, StreamState):
            if self.streams.get(waiter.id) is waiter:
                del self.streams[waiter.id]
            self._stream_pings.pop(waiter.ping_id, None)
        elif self.replies.get(waiter.id) is waiter:
            del self.replies[waiter.id]

    # ---- timing ----
    def due(self, waiter: Waiter) -> float:
        """Seconds to wait for traffic before calling again; queues a heartbeat ping when one is due.

        Raises DaemonTimeoutError once ``waiter`` has had no message for its timeout.
        """
        now = self.clock()
        deadline = waiter.last_activity + waiter.timeout
        if now >= deadline:
            if isinstance(waiter, StreamState):
                self.cancel(waiter)  # a request still queued in the socket must not run when a daemon appears
                waiter.done = True
            self._forget(waiter)
            raise DaemonTimeoutError(self._timeout_message(waiter))
        quiet_since = max(self.last_traffic, self.last_ping)
        if now - quiet_since >= self.heartbeat_s:
            self._ping(f"hb-{new_request_id()}")
            quiet_since = now
        return max(0.0, min(deadline, quiet_since + self.heartbeat_s) - now)

    def _timeout_message(self, waiter: Waiter) -> str:
        what = f"request {waiter.id}"
        if waiter.answered:
            return (f"the daemon at {self.url} sent nothing for {what} in {waiter.timeout:g} s "
                    "(it may have stopped or be overloaded)")
        return (f"no answer from the avatarlab daemon at {self.url} within {waiter.timeout:g} s ({what}); "
                "is it running? Start it with `avatarlab serve` first")

    # ---- incoming ----
    def feed(self, frames: list[bytes]) -> None:
        """Route one received message to its stream or reply; never raises (failures go to waiters)."""
        now = self.clock()
        self.last_traffic = now
        starts = {rid: s.start for rid, s in self.streams.items() if s.start is not None}
        try:
            message = decode_message(frames, starts)
        except DaemonProtocolError as error:
            self._protocol_failure(frames, error)
            return
        if isinstance(message, UnknownMessage):
            _LOG.debug("ignoring unknown daemon message type %r", message.type)
            return
        instance = message.instance if isinstance(message, (Pong, Welcome, StatusReply)) else None
        if instance is not None:
            self._observe(instance, message.id)
        if message.id is None and isinstance(message, ErrorMessage):
            self._orphan_error(message)
            return
        stream = self.streams.get(message.id) if message.id is not None else None
        if stream is not None:
            self._to_stream(stream, message, now)
            return
        reply = self.replies.get(message.id) if message.id is not None else None
        if reply is not None:
            self._to_reply(reply, message)

    def _observe(self, instance: str, reply_id: str | None) -> None:
        """A daemon instance was seen; requests sent to an earlier instance are gone."""
        own = self._stream_pings.pop(reply_id, None) if reply_id is not None else None
        if own is not None and own.instance is None:
            own.instance = instance
        for stream in list(self.streams.values()):
            if stream.instance is not None and stream.instance != instance and not stream.terminal_received:
                stream.failure = DaemonRestartedError(
                    f"the daemon at {self.url} restarted (instance {stream.instance} is now {instance}); "
                    f"request {stream.id} is gone, send it again")
                self._forget(stream)
        self.instance = instance

    def _to_stream(self, stream: StreamState, message: Message, now: float) -> None:
        stream.answered, stream.last_activity = True, now
        terminal = isinstance(message, (End, ErrorMessage))
        if not isinstance(message, ErrorMessage):
            seq = getattr(message, "seq", -1)
            # A terminal `end` may skip numbers: a cancel discards chunks the daemon had already numbered.
            if seq != stream.next_seq and not (terminal and seq > stream.next_seq):
                stream.failure = DaemonProtocolError(
                    f"request {stream.id}: message {seq} arrived where {stream.next_seq} was due (messages lost)")
                self._forget(stream)
                return
            stream.next_seq = seq + 1
        if isinstance(message, Start):
            stream.start = message
        if terminal:
            stream.terminal_received = True
            self._forget(stream)
        elif stream.cancel_sent:
            return  # nothing but the terminal message after a cancel
        if not terminal and len(stream.queue) >= self.max_buffer:
            stream.queue.clear()
            self.cancel(stream)
            stream.failure = RequestError(
                "slow_consumer", f"request {stream.id}: {self.max_buffer} messages were buffered and not read; "
                "the client cancelled it", retryable=True)
            self._forget(stream)
            return
        stream.queue.append(message)

    def _to_reply(self, reply: ReplyState, message: Message) -> None:
        reply.answered = True
        if isinstance(message, ErrorMessage):
            reply.error = message.to_exception()
        elif isinstance(message, reply.expected):
            reply.result = message
        else:
            reply.error = DaemonProtocolError(f"expected a {reply.expected.__name__} for {reply.id}, "
                                              f"got {type(message).__name__}")
        self._forget(reply)

    def _orphan_error(self, message: ErrorMessage) -> None:
        """An error with no id answers the one request still waiting for its first message, if only one is."""
        waiting = [w for w in (*self.streams.values(), *self.replies.values()) if not w.answered]
        if len(waiting) != 1:
            _LOG.warning("daemon error without a request id: %s (%s)", message.message, message.code)
            return
        waiter = waiting[0]
        if isinstance(waiter, StreamState):
            self._to_stream(waiter, message, self.clock())
        else:
            self._to_reply(waiter, message)

    def _protocol_failure(self, frames: list[bytes], error: DaemonProtocolError) -> None:
        try:
            import msgpack

            request_id = msgpack.unpackb(bytes(frames[0]), raw=False).get("id")
        except Exception:  # noqa: BLE001 - the header is garbage; nobody to blame
            request_id = None
        stream = self.streams.get(request_id) if isinstance(request_id, str) else None
        if stream is None:
            _LOG.warning("dropping a malformed daemon message: %s", error)
            return
        stream.failure = error
        self._forget(stream)


# ---- rebuilding an Utterance ----------------------------------------------------------------

REQUIRED_FOR_COLLECT = STREAM_CHANNELS


@dataclass
class Collector:
    """Keeps what a stream delivered so that ``utterance()`` can rebuild the offline engine's result."""

    start: Start | None = None
    audio: list[Audio] = field(default_factory=list)
    frames: list[Frames] = field(default_factory=list)
    events: list[Events] = field(default_factory=list)
    end: End | None = None

    def add(self, message: Message) -> None:
        if isinstance(message, Start):
            self.start = message
        elif isinstance(message, Audio):
            self.audio.append(message)
        elif isinstance(message, Frames):
            self.frames.append(message)
        elif isinstance(message, Events):
            self.events.append(message)
        elif isinstance(message, End):
            self.end = message

    def utterance(self, text: str | bytes, request: dict[str, Any]) -> Utterance:
        """An ``avatarlab.engine.Utterance`` equal to what ``Engine.speak`` returns for the same request."""
        from ..animation import FaceFrames
        from ..engine import Utterance, VisemeEvent
        from ..timeline import PhonemeTimeline, TimedPhoneme, TimedWord

        start = self.start
        if start is None or self.end is None:
            raise DaemonProtocolError("the stream ended without its start or end message")
        if self.end.status != "ok":
            raise RequestError("cancelled", f"request {start.id} was cancelled; there is no utterance to collect")
        groups = [name for name, _ in start.groups]
        if groups != list(GROUPS):
            raise ValueError(f"collect() needs all curve groups ({', '.join(GROUPS)}); this stream has "
                             f"{', '.join(groups) or 'none'}")
        position = 0
        for part in self.audio:
            if part.sample_offset != position:
                raise DaemonProtocolError(f"audio gap: a chunk starts at sample {part.sample_offset}, not {position}")
            position += part.num_samples
        pcm = np.concatenate([a.pcm for a in self.audio]) if self.audio else np.zeros(0, np.int16)
        audio = pcm.astype(np.float32) / np.float32(32767.0)
        phonemes = [TimedPhoneme(p.symbol, p.start, p.end, p.word, p.stress, p.sentence)
                    for e in self.events for p in e.phonemes]
        words = [TimedWord(w.i, w.text, w.start, w.end, w.stressed, w.sentence) for e in self.events for w in e.words]
        visemes = [VisemeEvent(v.viseme, v.start, v.end, v.phoneme) for e in self.events for v in e.visemes]
        text_str = text.decode("utf-8") if isinstance(text, bytes) else text
        return Utterance(
            text=text_str, voice=start.voice, options=options_of(request, start.fps), sample_rate=start.sample_rate,
            audio=audio, timeline=PhonemeTimeline(start.sample_rate, phonemes, words),
            frames=self._face_frames(FaceFrames, start), visemes=visemes,
        )

    def _face_frames(self, face_frames: type, start: Start) -> Any:
        if not self.frames:
            return face_frames.empty(0, start.fps)
        expected = self.frames[0].start_frame
        for part in self.frames:
            if part.start_frame != expected:
                raise DaemonProtocolError(f"frame gap: a chunk starts at frame {part.start_frame}, not {expected}")
            expected += part.num_frames
        values = np.concatenate([f.values for f in self.frames])
        columns = start.columns()
        return face_frames(self.frames[0].start_frame, start.fps,
                           *(np.ascontiguousarray(values[:, columns[name]]) for name in GROUPS))


def check_collectable(request: dict[str, Any]) -> None:
    """collect() needs audio, every curve group and the events; raise ValueError early if a request lacks them."""
    channels = request.get("channels")
    if channels is not None and set(REQUIRED_FOR_COLLECT) - set(channels):
        missing = ", ".join(sorted(set(REQUIRED_FOR_COLLECT) - set(channels)))
        raise ValueError(f"collect() needs every channel; this request left out {missing}")


class StreamHandle:
    """What the sync and async stream objects share: identity, start/end, cancel-on-drop."""

    def __init__(self, client: Any, state: StreamState) -> None:
        self._client, self._state, self._collector = client, state, Collector()

    def __del__(self) -> None:
        """A stream dropped unread is cancelled (queued; it goes out with the client's next message)."""
        try:
            if not self._state.done:
                self._client._session.abandon(self._state)
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    @property
    def id(self) -> str:
        return self._state.id

    @property
    def start(self) -> Start | None:
        """The start message, once it has been read."""
        return self._collector.start

    @property
    def end(self) -> End | None:
        """The terminal end message, once it has been read."""
        return self._state.end
