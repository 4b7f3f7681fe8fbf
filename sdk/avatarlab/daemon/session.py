"""The client side of docs/protocol.md without any I/O: request building, demultiplexing, heartbeats.

``Session`` holds everything the synchronous ``Client`` and the asyncio ``AsyncClient`` share: which
requests are open, the messages buffered for each stream, the daemon instance each request was sent
to, and when to ping or give up. The clients only move frames between it and their socket: they
send what ``Session.outbox`` holds, pass every received message to ``Session.feed``, and sleep for
as long as ``Session.due`` says. ``LiveHandle`` and ``LiveCollector`` do the same for ``listen``
streams (section 5a): sample conversion, splitting, matching replies to pushes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zmq

from .. import __version__
from ..errors import InvalidOptionError
from ..options import SynthesisOptions
from .messages import (
    Audio, DaemonProtocolError, DaemonRestartedError, DaemonTimeoutError, End, ErrorMessage, Events, Frames,
    LiveFrames, LiveMessage, LiveStart, Message, Pong, RequestError, Start, StatusReply, UnknownMessage, VisemeMark,
    Welcome, decode_message,
)
from .protocol import (
    GROUPS, HEARTBEAT_TIMEOUT_MS, LIVE_AUDIO_FORMATS, STREAM_CHANNELS, SUPPORTED_VERSIONS, VERSION, Limits, pack,
)
from .transport import needs_ipv6

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
#: ``listen`` header fields passed through as given (None means "the daemon's default").
LISTEN_FIELDS = ("sample_rate", "fps", "audio_format", "emotion", "emotion_intensity", "seed", "channels",
                 "curve_format")
#: Bytes of a push message left for its header below the daemon's whole-message limit.
_PUSH_HEADER_ROOM = 4096


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
    if needs_ipv6(url):  # tcp://[::1]:5555: ZeroMQ connects to an IPv6 address only with this on
        socket.setsockopt(zmq.IPV6, 1)
    if server_public_key is not None or client_secret_key is not None:
        _use_curve(socket, server_public_key, client_secret_key)
    socket.connect(url)


def _use_curve(socket: zmq.Socket, server_public_key: str | Path | None, client_secret_key: str | Path | None) -> None:
    from .keys import load_public_key, load_secret_key
    from .messages import AvatarLabError

    if server_public_key is None or client_secret_key is None:
        raise AvatarLabError("CURVE needs both server_public_key (the daemon's .key file) and client_secret_key "
                             "(this client's .key_secret file)")
    server_public = load_public_key(Path(server_public_key))
    client_public, client_secret = load_secret_key(Path(client_secret_key))  # refused if others can read it
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


def listen_fields(**given: Any) -> dict[str, Any]:
    """The ``listen`` header fields among ``given`` that are not None."""
    unknown = set(given) - set(LISTEN_FIELDS)
    if unknown:
        raise TypeError(f"unknown listen option(s): {', '.join(sorted(unknown))}")
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


@dataclass(eq=False)
class LiveState(StreamState):
    """One listen request: besides the stream's messages, the pushes sent and the replies they got."""

    limits: Limits | None = None  # the daemon's, from the welcome that answers this stream's hello
    pushes: int = 0  # push messages sent
    replies: int = 0  # frames replies received (one per push)
    samples_pushed: int = 0
    next_frame: int = 0  # the frame the next reply must start at
    expected: deque = field(default_factory=deque)  # samples_in each unanswered push must report
    last_sent: bool = False

    @property
    def pending(self) -> int:
        """Pushes sent whose ``frames`` reply has not arrived yet."""
        return self.pushes - self.replies

    @property
    def idle(self) -> bool:
        """Started, every push answered and more audio may come: silence is no sign of trouble."""
        return self.start is not None and not self.pending and not self.last_sent and not self.terminal_received


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

    def _new_id(self, request_id: str | None) -> str:
        request_id = new_request_id() if request_id is None else request_id
        if not isinstance(request_id, str) or not 1 <= len(request_id) <= _MAX_ID_CHARS:
            raise RequestError("invalid_field", f"request_id must be a string of 1 to {_MAX_ID_CHARS} characters",
                               field="id")
        if request_id in self.streams:
            raise RequestError("duplicate_id", f"request {request_id!r} is still running on this client")
        return request_id

    def open_stream(self, text: str | bytes, request_id: str | None, fields_: dict[str, Any]) -> StreamState:
        """Queue a ping (to learn which daemon instance takes the request) and the ``speak`` itself."""
        request_id = self._new_id(request_id)
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

    def open_live(self, request_id: str | None, fields_: dict[str, Any]) -> LiveState:
        """Queue a ``hello`` (its welcome gives the daemon instance and the push limits) and the ``listen``."""
        request_id = self._new_id(request_id)
        state = LiveState(request_id, self.timeout, self.clock(), request=fields_, ping_id=f"h-{new_request_id()}")
        self.streams[request_id] = state
        self._stream_pings[state.ping_id] = state
        self._send({"type": "hello", "id": state.ping_id, "versions": list(SUPPORTED_VERSIONS),
                    "client": CLIENT_NAME})
        self.last_ping = self.clock()
        self._send({"type": "listen", "id": request_id, **fields_})
        return state

    def push(self, state: LiveState, payload: bytes, count: int, last: bool) -> None:
        """Queue one ``push`` of ``count`` samples (``payload``, already in the stream's audio format)."""
        self.outbox.append(pack({"v": VERSION, "type": "push", "id": state.id, "last": last}, payload))
        state.pushes += 1
        state.samples_pushed += count
        state.expected.append(state.samples_pushed)
        state.last_sent = state.last_sent or last
        state.last_activity = self.clock()

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
        if isinstance(waiter, LiveState) and waiter.idle:
            waiter.last_activity = now  # a live stream waiting for its next push expects nothing
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
            self._observe(instance, message)
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

    def _observe(self, instance: str, message: Message) -> None:
        """A daemon instance was seen; requests sent to an earlier instance are gone."""
        reply_id = message.id
        own = self._stream_pings.pop(reply_id, None) if reply_id is not None else None
        if own is not None and own.instance is None:
            own.instance = instance
        if isinstance(own, LiveState) and isinstance(message, Welcome):
            own.limits = message.limits
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
        if not isinstance(message, ErrorMessage):  # errors may come from the bridge, with no seq
            seq = getattr(message, "seq", -1)
            if seq != stream.next_seq:  # 0, 1, 2, ... with no gap, even after a cancel (section 5)
                stream.failure = DaemonProtocolError(
                    f"request {stream.id}: message {seq} arrived where {stream.next_seq} was due (messages lost)")
                self._forget(stream)
                return
            stream.next_seq = seq + 1
        if isinstance(message, Start):
            stream.start = message
        if isinstance(stream, LiveState) and isinstance(message, LiveFrames) and not self._matches_push(stream, message):
            return
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

    def _matches_push(self, stream: LiveState, message: LiveFrames) -> bool:
        """Count a push's reply; a reply that answers no push, or the wrong one, breaks the protocol."""
        expected = stream.expected.popleft() if stream.expected else None
        stream.replies += 1
        problem = None
        if expected is None:
            problem = "a frames reply arrived for no push"
        elif message.samples_in != expected:
            problem = f"the reply to a push reports {message.samples_in} samples in, {expected} were pushed"
        elif message.start_frame != stream.next_frame:
            problem = f"frames start at {message.start_frame}, not at {stream.next_frame} (frames lost)"
        if problem is None:
            stream.next_frame += message.num_frames
            return True
        stream.failure = DaemonProtocolError(f"request {stream.id}: {problem}")
        self._forget(stream)
        return False

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
        """An error with no id answers the one request still waiting for its first message, if only one is.

        One with ``about`` refused a message about a running request (docs/protocol.md section 8) and
        answers no waiting request: this client checks ids and pushes itself, so it is only logged.
        """
        if message.about is not None:
            _LOG.warning("daemon refused a message about request %s: %s (%s)", message.about, message.message,
                         message.code)
            return
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


# ---- live audio (listen / push) -------------------------------------------------------------

#: ``Utterance.voice`` of a take animated from pushed audio (as ``avatarlab lipsync`` labels its input).
LIVE_VOICE_LABEL = "input audio"


def encode_samples(samples: Any, audio_format: str) -> np.ndarray:
    """Mono audio as the stream's wire samples: float arrays are -1..1, int16 arrays are PCM.

    Returns a little-endian array of ``audio_format`` (``pcm16le`` or ``f32le``); raises InvalidOptionError
    for anything else (a 2-D array, integers other than int16, complex numbers).
    """
    array = np.asarray(samples)
    if array.ndim != 1:
        raise InvalidOptionError(f"push() takes mono audio, a 1-D array; got shape {array.shape} "
                                 "(average or pick the channels first)", option="samples")
    if array.dtype == np.int16:
        if audio_format == "pcm16le":
            return array.astype("<i2", copy=False)
        return (array.astype(np.float32) / np.float32(32768.0)).astype("<f4", copy=False)
    if array.dtype.kind != "f":
        raise InvalidOptionError(f"push() takes float audio in -1..1 or int16 PCM; got {array.dtype} "
                                 "(convert it, e.g. int32 PCM / 2**31)", option="samples")
    clean = np.clip(np.nan_to_num(array.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    if audio_format == "pcm16le":
        return (clean * np.float32(32767.0)).round().astype("<i2")
    return clean.astype("<f4", copy=False)


def push_size(limits: Limits, sample_rate: int, audio_format: str) -> int:
    """The most samples one push may carry: ``max_push_s`` of audio, within the whole-message limit."""
    itemsize = LIVE_AUDIO_FORMATS[audio_format].itemsize if audio_format in LIVE_AUDIO_FORMATS else 4
    by_time = int(limits.max_push_s * sample_rate)
    by_bytes = (limits.max_message_bytes - _PUSH_HEADER_ROOM) // itemsize
    return max(1, min(by_time, by_bytes))


@dataclass
class LiveCollector:
    """Joins the replies of a listen stream: one curve matrix, the viseme events, the end.

    Feed it every message read (``add``); it checks that the frames are contiguous. ``utterance()``
    turns the take into an ``avatarlab.engine.Utterance`` that ``avatarlab.output.write_utterance`` writes
    like ``avatarlab speak`` (it needs every curve group).
    """

    start: LiveStart
    parts: list[np.ndarray] = field(default_factory=list)
    visemes: list[VisemeMark] = field(default_factory=list)
    num_frames: int = 0
    replies: int = 0
    end: End | None = None

    def add(self, message: LiveMessage) -> None:
        if isinstance(message, LiveFrames):
            if message.start_frame != self.num_frames:
                raise DaemonProtocolError(f"frame gap: a reply starts at frame {message.start_frame}, "
                                          f"not {self.num_frames}")
            self.replies += 1
            self.num_frames += message.num_frames
            if message.num_frames:
                self.parts.append(message.values)
        elif isinstance(message, Events):
            self.visemes.extend(message.visemes)
        elif isinstance(message, End):
            self.end = message

    def values(self) -> np.ndarray:
        """Every frame so far, (num_frames, num_channels) float32, frame 0 first."""
        if not self.parts:
            return np.zeros((0, self.start.num_channels), np.float32)
        return np.concatenate(self.parts)

    def group(self, name: str) -> np.ndarray:
        columns = self.start.columns()
        if name not in columns:
            raise KeyError(f"group {name!r} is not in this stream; it has {', '.join(columns) or 'none'}")
        return self.values()[:, columns[name]]

    def utterance(self, audio: np.ndarray, options: SynthesisOptions | None = None, text: str = "") -> Utterance:
        """The take as an Utterance: ``audio`` is what was pushed (float32 at the stream's rate)."""
        from ..animation import FaceFrames
        from ..engine import Utterance, VisemeEvent
        from ..timeline import PhonemeTimeline

        start = self.start
        groups = [name for name, _ in start.groups]
        if groups != list(GROUPS):
            raise ValueError(f"an utterance needs all curve groups ({', '.join(GROUPS)}); this stream has "
                             f"{', '.join(groups) or 'none'}")
        values, columns = self.values(), start.columns()
        frames = FaceFrames(0, start.fps, *(np.ascontiguousarray(values[:, columns[name]]) for name in GROUPS))
        options = replace(options or SynthesisOptions(), fps=start.fps)
        audio = np.asarray(audio, dtype=np.float32)
        return Utterance(
            text=text, voice=LIVE_VOICE_LABEL, options=options, sample_rate=start.sample_rate, audio=audio,
            timeline=PhonemeTimeline(start.sample_rate, [], []), frames=frames,
            visemes=[VisemeEvent(v.viseme, v.start, v.end, v.phoneme) for v in self.visemes],
        )


class LiveHandle(StreamHandle):
    """What the sync and async live streams share: the stream's terms, sample handling, reading buffered replies."""

    _state: LiveState

    # ---- the stream's terms (valid once opened) ----
    @property
    def start(self) -> LiveStart | None:
        return self._collector.start  # type: ignore[return-value]

    def _started(self) -> LiveStart:
        if self.start is None:
            raise RuntimeError("this live stream is not open yet: await it (AsyncClient) first")
        return self.start

    @property
    def max_delay_s(self) -> float:
        """A frame arrives at the latest with the push after which this much audio beyond its moment was pushed."""
        return self._started().max_delay_s

    @property
    def max_delay_samples(self) -> int:
        return self._started().max_delay_samples

    @property
    def sample_rate(self) -> int:
        return self._started().sample_rate

    @property
    def fps(self) -> int:
        return self._started().fps

    @property
    def audio_format(self) -> str:
        return self._started().audio_format

    @property
    def max_push_samples(self) -> int:
        """The most samples one push message carries (longer arrays are split)."""
        start = self._started()
        return push_size(self._state.limits or Limits(), start.sample_rate, start.audio_format)

    @property
    def pushes(self) -> int:
        """Push messages sent so far (one array may take several)."""
        return self._state.pushes

    @property
    def pending(self) -> int:
        """Pushes whose ``frames`` reply has not been received yet."""
        return self._state.pending

    @property
    def samples_pushed(self) -> int:
        return self._state.samples_pushed

    @property
    def finished(self) -> bool:
        """The push marked last has been sent (or the stream is over)."""
        return self._state.last_sent or self._state.done or self._state.terminal_received

    # ---- opening ----
    def _opened(self) -> bool:
        """Take the stream's ``start`` if it has arrived (raises the daemon's error for a refused listen)."""
        if self.start is not None:
            return True
        message = self._state.pop()
        if message is None:
            if self._state.done:
                raise DaemonProtocolError(f"listen {self.id} ended before its start message")
            return False
        if not isinstance(message, LiveStart):
            self._client._session.abandon(self._state)
            raise DaemonProtocolError(f"listen {self.id}: the first message is a {type(message).__name__}, "
                                      "not a start with max_delay_s (is the daemon older than protocol 5a?)")
        self._collector.add(message)
        return True

    # ---- pushing ----
    def _queue_push(self, samples: Any, last: bool) -> int:
        """Convert and split ``samples`` and queue the pushes (no I/O); returns how many were queued."""
        state = self._state
        self._started()
        self._check_running()
        wire = encode_samples(samples, self.audio_format)
        size = self.max_push_samples
        pieces = [wire[i:i + size] for i in range(0, len(wire), size)]
        if not pieces and last:
            pieces = [wire[:0]]
        for k, piece in enumerate(pieces):
            self._client._session.push(state, piece.tobytes(), len(piece), last and k == len(pieces) - 1)
        return len(pieces)

    def _check_running(self) -> None:
        state = self._state
        if state.last_sent:
            raise RequestError("invalid_audio", f"listen {self.id}: audio pushed after the push marked last; "
                               "open a new stream")
        error = next((m for m in state.queue if isinstance(m, ErrorMessage)), None)
        if error is not None:
            raise error.to_exception()
        if state.failure is not None:
            raise state.failure
        if state.done or state.terminal_received or state.cancel_sent:
            raise RequestError("unknown_request", f"listen {self.id} is not running any more (it ended or was "
                               "cancelled); open a new stream")

    # ---- reading ----
    def _take(self, into: list) -> list:
        """Move the buffered replies into ``into``; an error is raised only when nothing precedes it."""
        state = self._state
        while True:
            if into and ((state.queue and isinstance(state.queue[0], ErrorMessage))
                         or (not state.queue and state.failure is not None and not state.done)):
                return into  # hand over what came before; the next call raises
            message = state.pop()
            if message is None:
                return into
            into.append(message)

    def _end_stats(self) -> dict[str, Any] | None:
        """The stats of the stream's ``end`` once it has arrived (read or still buffered); raises its error."""
        state = self._state
        if state.end is not None:
            return state.end.stats
        tail = state.queue[-1] if state.queue else None
        if isinstance(tail, End):
            return tail.stats
        if isinstance(tail, ErrorMessage) or (state.failure is not None and not state.done):
            state.queue = deque(m for m in state.queue if isinstance(m, ErrorMessage))
            state.pop()  # raises
        if state.done:
            raise RequestError("cancelled", f"listen {self.id} was closed before its end")
        return None
