"""The avatarlab daemon: one ROUTER socket, an I/O thread that owns it, and worker threads that synthesize.

Only the I/O thread touches the socket (ZeroMQ sockets are not thread-safe). Workers
take running requests in turns, compute one chunk each time, and hand the messages
back; a request's next chunk is computed only once its previous messages are in the
socket's queue, so memory stays bounded whatever the clients do (docs/protocol.md).
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

from .. import __version__
from ..engine import Engine, SynthesisChunk
from ..errors import AvatarLabError, InvalidOptionError, InvalidTextError, VoiceConfigError, VoiceNotFoundError
from ..options import checked_text
from ..live.model import default_model
from .keys import check_allow_list, load_secret_key
from .live import LiveRequest, open_live_request
from .protocol import (
    DEFAULT_URL, HEARTBEAT_IVL_MS, HEARTBEAT_TIMEOUT_MS, PAYLOAD_TYPES, SUPPORTED_VERSIONS, VERSION, Limits,
    ProtocolError, Outgoing, SpeakRequest, StreamWriter, check_envelope, echoed, error_header, pack, parse_hello,
    parse_push, parse_speak, request_id_of, unpack_header,
)
from .scheduler import DeadlineScheduler
from .transport import PeerTracker, is_loopback, needs_ipv6, receive

LOG = logging.getLogger("avatarlab.daemon")
SERVER_NAME = f"avatarlab/{__version__}"
LINGER_MS = 500
SHUTDOWN_FLUSH_S = 0.5
#: Replies (pong, status, errors) the daemon holds for a client once ZeroMQ's and the system's buffers to it
#: are full; one more makes it a slow consumer (docs/protocol.md section 6).
MAX_UNREAD_REPLIES = 256
#: Frames after the identity that a client message may hold: a header and at most one payload.
MAX_FRAMES = 2
_WAKE = "inproc://avatarlab-wake"
_MONITOR = "inproc://avatarlab-monitor"
_NOTICE = "slow_consumer"  # outbox kind of a client's one notice counting its discarded replies


class DaemonConfigError(AvatarLabError):
    """The daemon cannot start with these settings (e.g. an open bind address without CURVE keys)."""


@dataclass(frozen=True)
class DaemonConfig:
    bind: str = DEFAULT_URL
    voices: tuple[str, ...] = ()  # names or .onnx paths; empty: the default voice
    workers: int = 2
    threads_per_worker: int | None = None  # onnxruntime threads per session; None: cores / workers
    limits: Limits = Limits()
    curve_secret: Path | None = None  # the server's secret certificate file
    allow_keys: Path | None = None  # folder of allowed client public certificates
    insecure: bool = False


def default_threads(workers: int) -> int:
    """Enough onnxruntime threads per worker to fill the cores, and no more (oversubscription hurts)."""
    return max(1, len(os.sched_getaffinity(0)) // max(1, workers))


def check_limits(config: DaemonConfig) -> None:
    """Limits that contradict each other would cut connections instead of answering with errors."""
    limits = config.limits
    biggest_push = limits.max_push_s * 48000 * 4 + limits.max_header_bytes  # 48 kHz float32
    if biggest_push > limits.max_message_bytes:
        raise DaemonConfigError(f"--max-push-s {limits.max_push_s:g} allows pushes of up to {biggest_push:.0f} bytes, "
                                f"over the {limits.max_message_bytes}-byte message limit; lower --max-push-s")
    if limits.max_pending_pushes < 1 or limits.max_push_s <= 0 or limits.max_listen_s <= 0:
        raise DaemonConfigError("--max-pending-pushes, --max-push-s and --max-listen-s must be positive")


def check_security(config: DaemonConfig) -> None:
    """Refuse, before the voices load, settings that would expose the daemon or let no client in."""
    if (config.curve_secret is None) != (config.allow_keys is None):
        raise DaemonConfigError("CURVE needs both --curve-secret (server key) and --allow-keys (client keys folder)")
    if config.curve_secret is None and not is_loopback(config.bind) and not config.insecure:
        raise DaemonConfigError(
            f"refusing to bind {config.bind} without encryption: other machines can reach it. Give --curve-secret "
            "and --allow-keys (make keys with `avatarlab keys`), or --insecure to accept plain-text connections "
            "from anyone"
        )
    if config.curve_secret is not None and config.allow_keys is not None:
        load_secret_key(config.curve_secret)
        check_allow_list(config.allow_keys)


def insecure_warning(config: DaemonConfig) -> str | None:
    """What to shout when ``--insecure`` really opens the daemon to other machines (None when it does not)."""
    if config.curve_secret is not None or is_loopback(config.bind):
        return None
    return (f"INSECURE: {config.bind} can be reached from other machines and --insecure turns encryption and "
            "client keys off: anyone who can reach it can use the daemon and read everything it sends. "
            "Use --curve-secret and --allow-keys instead (see `avatarlab keys`).")


# ---- state ------------------------------------------------------------------------------------

@dataclass(eq=False)
class Request:
    """One speak request; ``serial`` is unique for the daemon's lifetime (client ids may repeat)."""

    serial: int
    client: bytes
    speak: SpeakRequest
    engine: Engine
    writer: StreamWriter
    received: float
    chunks: Iterator[SynthesisChunk] | None = None
    pending: int = 0  # messages of this request still in the client's outbox
    in_worker: bool = False
    finished: bool = False
    cancelled: bool = False
    started: float | None = None
    first_audio: float | None = None
    compute_s: float = 0.0

    @property
    def id(self) -> str:
        return self.speak.id

    def ready(self) -> bool:
        """A speak stream always has a next chunk to compute (its last step says when it is over)."""
        return True

    def deadline(self) -> float:
        """When the listener runs out of audio from this stream (monotonic seconds); new requests are due now."""
        if self.first_audio is None:
            return self.received
        return self.first_audio + self.writer.samples / self.engine.sample_rate

    def stats(self, now: float) -> dict[str, Any]:
        sample_rate = self.engine.sample_rate
        return {
            "first_chunk_ms": round(((self.first_audio or now) - self.received) * 1000, 2),
            "synthesis_ms": round(self.compute_s * 1000, 2),
            "queued_ms": round(((self.started or now) - self.received) * 1000, 2),
            "audio_samples": self.writer.samples,
            "audio_s": round(self.writer.samples / sample_rate, 4),
            "frames": self.writer.frames_sent,
            "chunks": self.writer.chunks,
        }


@dataclass(eq=False)
class ClientState:
    identity: bytes
    outbox: deque = field(default_factory=deque)  # (request serial or None, message type, frames)
    requests: dict[str, Request | LiveRequest] = field(default_factory=dict)
    stalled_since: float | None = None
    replies: int = 0  # replies (no request serial) in the outbox
    discarded: int = 0  # replies discarded since its slow_consumer notice was queued; 0: no notice queued

    @property
    def idle(self) -> bool:
        return not self.outbox and not self.requests


@dataclass
class WorkResult:
    request: Request | LiveRequest
    messages: list[Outgoing]
    finished: bool
    compute_s: float


class VoiceRegistry:
    """The engines the daemon serves, loaded and warmed at start."""

    def __init__(self, voices: tuple[str, ...], threads: int | None = None) -> None:
        self.engines: dict[str, Engine] = {}
        for spec in voices or (None,):
            engine = Engine(voice=spec, threads=threads)
            engine.warm_up()
            self.engines[engine.voice.name] = engine
            LOG.info("voice %s loaded (%d Hz)", engine.voice.name, engine.sample_rate)
        self.default = next(iter(self.engines))

    def get(self, name: str | None, request_id: str) -> Engine:
        engine = self.engines.get(self.default if name is None else name)
        if engine is None:
            raise ProtocolError("unknown_voice", f"voice {name!r} is not loaded; loaded: {', '.join(self.engines)}",
                                request_id, field="voice")
        return engine

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "sample_rate": e.sample_rate, "num_speakers": e.config.num_speakers,
             "speakers": dict(e.config.speaker_id_map), "language": e.config.language}
            for name, e in self.engines.items()
        ]


# ---- the daemon -------------------------------------------------------------------------------

class Daemon:
    """Serves speak requests over a ROUTER socket until ``stop()`` (or SIGTERM/SIGINT)."""

    def __init__(self, config: DaemonConfig, voices: VoiceRegistry) -> None:
        check_security(config)
        check_limits(config)
        self.config = config
        self.limits = config.limits
        self.voices = voices
        self.instance = os.urandom(8).hex()
        self.started = time.monotonic()
        self.scheduler = DeadlineScheduler()
        self.results: queue.Queue[WorkResult] = queue.Queue()
        self.clients: dict[bytes, ClientState] = {}
        self.active = 0
        self._serials = itertools.count(1)
        self._stopping = threading.Event()
        self.context = zmq.Context()
        self._auth: ThreadAuthenticator | None = None
        self.peers: PeerTracker
        self.router = self._bind()
        self.wake = self.context.socket(zmq.PULL)
        self.wake.bind(_WAKE)
        self._workers = [threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
                         for i in range(config.workers)]

    def _bind(self) -> zmq.Socket:
        router = self.context.socket(zmq.ROUTER)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.SNDHWM, self.limits.send_hwm)
        router.setsockopt(zmq.RCVHWM, 1000)
        router.setsockopt(zmq.MAXMSGSIZE, self.limits.max_message_bytes)
        router.setsockopt(zmq.LINGER, LINGER_MS)
        router.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
        router.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
        router.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
        if needs_ipv6(self.config.bind):
            router.setsockopt(zmq.IPV6, 1)
        if self.config.curve_secret is not None:
            public, secret = load_secret_key(self.config.curve_secret)
            self._auth = ThreadAuthenticator(self.context)
            self._auth.start()
            self._auth.configure_curve(domain="*", location=str(self.config.allow_keys))
            router.curve_publickey, router.curve_secretkey, router.curve_server = public, secret, True
        self.peers = PeerTracker.watch(router, self.context, _MONITOR)
        try:
            router.bind(self.config.bind)
        except zmq.ZMQError as error:
            router.close(0)
            self.peers.close()
            raise DaemonConfigError(f"cannot bind {self.config.bind}: {error}; is another daemon running?") from None
        return router

    # ---- lifecycle --------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the daemon to stop (safe from any thread and from signal handlers)."""
        self._stopping.set()

    def serve_forever(self) -> None:
        for worker in self._workers:
            worker.start()
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.wake, zmq.POLLIN)
        poller.register(self.peers.monitor, zmq.POLLIN)
        warning = insecure_warning(self.config)
        if warning:
            LOG.warning(warning)
        LOG.info("ready on %s (voices: %s; workers: %d)%s", self.config.bind, ", ".join(self.voices.engines),
                 self.config.workers, " INSECURE: plain text, anyone who can reach it may connect" if warning else "")
        try:
            while not self._stopping.is_set():
                stalled = any(c.stalled_since is not None for c in self.clients.values())
                events = dict(poller.poll(20 if stalled else 200))
                self._let_go(self.peers.closed())
                if self.router in events:
                    self._receive_all()
                if self.wake in events:
                    while self.wake.poll(0):
                        self.wake.recv()
                self._collect_results()
                self._flush_all()
                self._expire_slow_consumers()
            self._shut_down()
        finally:
            self._close()

    def _shut_down(self) -> None:
        LOG.info("shutting down: %d running request(s)", self.active)
        for client in list(self.clients.values()):
            for request in list(client.requests.values()):
                self._fail(request, "shutting_down", "the daemon is stopping; retry when it is back")
        deadline = time.monotonic() + SHUTDOWN_FLUSH_S
        while time.monotonic() < deadline and any(c.outbox for c in self.clients.values()):
            self._flush_all()
            time.sleep(0.01)

    def _close(self) -> None:
        self.scheduler.close()
        self.router.close(LINGER_MS)
        self.peers.close()
        self.wake.close(0)
        if self._auth is not None:
            self._auth.stop()
        self.context.term()

    # ---- receiving ------------------------------------------------------------------------------
    def _receive_all(self) -> None:
        for _ in range(1000):  # bounded, so results and flushing get their turn
            message = receive(self.router, keep=MAX_FRAMES)
            if message is None:
                return
            identity, body = message.identity, message.body
            self._let_go(self.peers.note(identity, message.fd))
            try:
                self._handle(identity, body, message.frames, message.size)
            except ProtocolError as error:
                self._reply(identity, self._outside_streams(identity, error).header())
            except Exception:  # a bug must not take the daemon down
                LOG.exception("internal error handling a message")
                self._reply(identity, error_header(None, "internal", "internal error; see the daemon log"))

    def _outside_streams(self, identity: bytes, error: ProtocolError) -> ProtocolError:
        """An error that answers a message, not a stream, never carries a running stream's id.

        A second ``speak`` with a running id (duplicate_id), or a ``push`` to a running ``speak``, is answered
        with ``id`` nil and ``about`` naming the id, so that a client does not take it for the terminal
        message of the stream that is still running (docs/protocol.md section 8).
        """
        client = self.clients.get(identity)
        if error.request_id is None or client is None or error.request_id not in client.requests:
            return error
        return ProtocolError(error.code, error.message, None, error.field, **{**error.extra, "about": error.request_id})

    def _handle(self, identity: bytes, body: list[bytes], frames: int | None = None, size: int = 0) -> None:
        """``frames`` and ``size``: the whole message's, of which ``body`` may hold only the first frames."""
        if not body:
            raise ProtocolError("bad_message", "a message needs a header frame (a MessagePack map)")
        header = unpack_header(body[0], self.limits.max_header_bytes)
        kind = check_envelope(header)
        request_id = request_id_of(header, self.limits, required=kind in ("speak", "listen", "push", "cancel"))
        problem = self._shape_problem(kind, len(body) if frames is None else frames, size)
        if problem is not None:
            code, text = problem
            if kind == "push" and self._end_live_stream(identity, request_id, code, text):
                return
            raise ProtocolError(code, text, request_id)
        if kind == "speak":
            self._speak(identity, header)
        elif kind == "listen":
            self._listen(identity, header)
        elif kind == "push":
            self._push(identity, header, body[1], request_id)
        elif kind == "cancel":
            self._cancel(identity, request_id)
        elif kind == "bye":
            self._forget(identity)
        else:
            self._reply(identity, {"v": VERSION, "type": self._reply_type[kind], "id": request_id,
                                   **getattr(self, f"_{kind}")(header, request_id, identity)})

    def _shape_problem(self, kind: str, frames: int, size: int) -> tuple[str, str] | None:
        """The error code and text for a message over the size limit or with the wrong number of frames."""
        limit = self.limits.max_message_bytes
        if size > limit:
            return "message_too_large", (f"the message holds {size:,} bytes in {frames:,} frames, over the {limit:,}-"
                                         "byte limit for a whole message; it was discarded")
        expected = 1 if kind in PAYLOAD_TYPES else 0
        if frames - 1 != expected:
            return "bad_message", f"{kind} takes {'one payload frame' if expected else 'no payload'}; got {frames - 1:,}"
        return None

    _reply_type = {"hello": "welcome", "ping": "pong", "status": "status", "voices": "voices"}

    def _hello(self, header: dict[str, Any], request_id: str | None, identity: bytes) -> dict[str, Any]:
        return {"version": parse_hello(header, request_id), "versions": list(SUPPORTED_VERSIONS),
                "server": SERVER_NAME, "instance": self.instance, "limits": self.limits.to_dict(),
                "heartbeat_ivl_ms": HEARTBEAT_IVL_MS, "heartbeat_timeout_ms": HEARTBEAT_TIMEOUT_MS}

    def _ping(self, header: dict[str, Any], request_id: str | None, identity: bytes) -> dict[str, Any]:
        return {"t": echoed(header, "t", request_id), "instance": self.instance, "time_s": time.time()}

    def _status(self, header: dict[str, Any], request_id: str | None, identity: bytes) -> dict[str, Any]:
        """``clients`` counts the clients the daemon holds state for (running requests, unsent messages) and the asker."""
        return {"instance": self.instance, "server": SERVER_NAME, "uptime_s": round(time.monotonic() - self.started, 3),
                "clients": len(self.clients.keys() | {identity}), "active_requests": self.active,
                "queued_requests": self.scheduler.queued(), "workers": self.config.workers,
                "voices": list(self.voices.engines), "limits": self.limits.to_dict()}

    def _voices(self, header: dict[str, Any], request_id: str | None, identity: bytes) -> dict[str, Any]:
        return {"voices": self.voices.describe()}

    def _check_unique(self, identity: bytes, request_id: str) -> None:
        """A speak or listen whose id is running is refused before anything else is checked (see _outside_streams)."""
        client = self.clients.get(identity)
        if client is not None and request_id in client.requests:
            raise ProtocolError("duplicate_id", f"request {request_id!r} is already running; this one is refused "
                                "and the running one goes on", request_id, field="id")

    def _check_capacity(self, identity: bytes, request_id: str) -> None:
        client = self.clients.get(identity)
        if client is not None and len(client.requests) >= self.limits.max_requests_per_client:
            raise ProtocolError("busy", f"at most {self.limits.max_requests_per_client} running requests per client",
                                request_id)
        if self.active >= self.limits.max_active_requests:
            raise ProtocolError("busy", f"the daemon runs {self.active} requests, its limit; retry later", request_id)

    def _listen(self, identity: bytes, header: dict[str, Any]) -> None:
        self._check_unique(identity, request_id_of(header, self.limits, required=True))
        request = open_live_request(header, self.limits, next(self._serials), identity)
        self._check_capacity(identity, request.id)
        client = self.clients.setdefault(identity, ClientState(identity))
        client.requests[request.id] = request
        self.active += 1
        self._enqueue(request, [request.start_message()])
        self._flush(client)

    def _end_live_stream(self, identity: bytes, request_id: str | None, code: str, message: str) -> bool:
        """End a running listen stream with this error after its earlier replies; False if there is none."""
        client = self.clients.get(identity)
        request = client.requests.get(request_id) if client and request_id else None
        if not isinstance(request, LiveRequest) or request.closing:
            return False
        request.queue_error(code, message)
        if request.pending == 0:
            self.scheduler.add(identity, request)
        return True

    def _push(self, identity: bytes, header: dict[str, Any], payload: bytes, request_id: str | None) -> None:
        client = self.clients.get(identity)
        request = client.requests.get(request_id) if client and request_id else None
        if not isinstance(request, LiveRequest):
            raise ProtocolError("unknown_request", f"no running listen request {request_id!r} to push audio to",
                                request_id)
        if request.closing:  # the stream's own terminal message is on its way: answer outside it
            raise ProtocolError("invalid_audio", f"audio pushed to {request_id!r} after its push marked last, or "
                                "after a refused push; the stream is ending", about=request_id)
        try:
            audio, last = parse_push(header, payload, request.listen, self.limits, request.samples_queued)
        except ProtocolError as error:  # a refused push ends its stream, after the pushes before it are answered
            request.queue_error(error.code, error.message, error.field)
        else:
            if len(request.inbox) >= self.limits.max_pending_pushes:
                request.queue_error("overrun", f"more than {self.limits.max_pending_pushes} pushes waited to be "
                                    "processed: read the replies, and push audio no faster than it is processed")
            else:
                request.queue(audio, last)
        if request.pending == 0:
            self.scheduler.add(identity, request)

    def _speak(self, identity: bytes, header: dict[str, Any]) -> None:
        self._check_unique(identity, request_id_of(header, self.limits, required=True))
        speak = parse_speak(header, self.limits)
        self._check_capacity(identity, speak.id)
        engine = self.voices.get(speak.voice, speak.id)
        _validate(speak, engine)
        client = self.clients.setdefault(identity, ClientState(identity))
        request = Request(next(self._serials), identity, speak, engine, StreamWriter(speak), time.monotonic())
        client.requests[speak.id] = request
        self.active += 1
        self.scheduler.add(identity, request)

    def _cancel(self, identity: bytes, request_id: str | None) -> None:
        client = self.clients.get(identity)
        request = client.requests.get(request_id) if client and request_id else None
        if request is None:
            raise ProtocolError("unknown_request", f"no running request {request_id!r} to cancel", request_id)
        self._end(request, cancelled=True)

    def _let_go(self, identities: list[bytes]) -> None:
        """Clients whose connection closed (or stopped answering heartbeats): free what they held."""
        for identity in identities:
            client = self.clients.get(identity)
            if client is not None:
                LOG.info("client %s disconnected; cancelling its %d request(s)", identity.hex(), len(client.requests))
                self._forget(identity)

    def _forget(self, identity: bytes) -> None:
        """A client that said bye or vanished: cancel its work and drop everything queued for it."""
        client = self.clients.pop(identity, None)
        if client is None:
            return
        for request in list(client.requests.values()):
            self._retire(request)
        client.requests.clear()

    # ---- producing --------------------------------------------------------------------------------
    def _work(self) -> None:
        push = self.context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(_WAKE)
        try:
            while True:
                request = self.scheduler.take()
                if request is None:
                    return
                started = time.perf_counter()
                messages, finished = self._step(request)
                self.results.put(WorkResult(request, messages, finished, time.perf_counter() - started))
                push.send(b"", zmq.NOBLOCK)
        except zmq.ZMQError:
            return  # the context is being torn down
        finally:
            push.close(0)

    def _step(self, request: Request) -> tuple[list[Outgoing], bool]:
        """Compute one chunk of a request (in a worker thread): its messages, and whether it is over."""
        if isinstance(request, LiveRequest):
            return request.step()
        messages: list[Outgoing] = []
        if request.started is None:
            request.started = time.monotonic()
        try:
            if request.chunks is None:
                request.chunks = iter(request.engine.synthesize(request.speak.text, request.speak.options))
                messages.append(request.writer.start(request.engine.voice.name, request.engine.sample_rate))
            chunk = next(request.chunks)
        except StopIteration:
            return messages, True
        except (InvalidTextError, InvalidOptionError, VoiceConfigError, VoiceNotFoundError) as error:
            return [request.writer.error(_error_code(error), str(error), getattr(error, "option", None))], True
        except Exception:
            LOG.exception("internal error in request %s", request.id)
            return [request.writer.error("internal", "internal error; see the daemon log")], True
        messages.extend(request.writer.chunk(chunk))
        return messages, chunk.final

    def _collect_results(self) -> None:
        while True:
            try:
                result = self.results.get_nowait()
            except queue.Empty:
                return
            request = result.request
            request.in_worker = False
            request.compute_s += result.compute_s
            if request.finished:
                continue  # cancelled or failed while it was computing: nothing more of it is sent
            terminal = result.finished and result.messages and result.messages[-1][0]["type"] in ("end", "error")
            self._enqueue(request, result.messages)
            if result.finished and not terminal:
                self._end(request, cancelled=False)
            elif result.finished:
                self._retire(request)
            elif request.pending == 0 and request.ready():  # a step that had nothing to send: go straight on
                self.scheduler.add(request.client, request)

    # ---- sending -----------------------------------------------------------------------------------
    def _enqueue(self, request: Request, messages: list[Outgoing]) -> None:
        client = self.clients.get(request.client)
        if client is None:
            return
        for message in messages:
            client.outbox.append((request.serial, message[0]["type"], request.writer.number(message)))
        request.pending += len(messages)

    def _reply(self, identity: bytes, header: dict[str, Any]) -> None:
        client = self.clients.setdefault(identity, ClientState(identity))
        if client.discarded:  # its slow_consumer notice has not left yet: count this reply into it
            client.discarded += 1
            return
        if client.replies >= MAX_UNREAD_REPLIES:
            self._slow_consumer(client, discarding=1)
            return
        client.outbox.append((None, header["type"], pack(header)))
        client.replies += 1
        self._flush(client)

    def _flush_all(self) -> None:
        for client in list(self.clients.values()):
            self._flush(client)

    def _flush(self, client: ClientState) -> None:
        while client.outbox:
            serial, kind, message = client.outbox[0]
            if kind == _NOTICE:  # packed as it leaves, so that it counts every reply discarded until then
                message = pack(_notice(client.discarded))
            try:
                self.router.send_multipart([client.identity, *message], zmq.NOBLOCK, copy=False)
            except zmq.Again:
                if client.stalled_since is None:
                    client.stalled_since = time.monotonic()
                return
            except zmq.ZMQError as error:
                if error.errno == zmq.EHOSTUNREACH:
                    LOG.info("client %s is gone; cancelling its %d request(s)", client.identity.hex(),
                             len(client.requests))
                    self._forget(client.identity)
                    return
                raise
            client.outbox.popleft()
            client.stalled_since = None
            if serial is not None:
                self._sent(client, serial, kind)
            elif kind == _NOTICE:
                client.discarded = 0
            else:
                client.replies -= 1
        if client.idle:
            self.clients.pop(client.identity, None)

    def _sent(self, client: ClientState, serial: int, kind: str) -> None:
        request = next((r for r in client.requests.values() if r.serial == serial), None)
        if request is None:
            return
        request.pending -= 1
        request.writer.delivered()
        if request.first_audio is None and kind == "audio":
            request.first_audio = time.monotonic()
        if request.pending == 0 and not request.finished and not request.in_worker and request.ready():
            self.scheduler.add(client.identity, request)

    # ---- ending requests -----------------------------------------------------------------------------
    def _end(self, request: Request, cancelled: bool) -> None:
        """Send the terminal ``end`` now; for a cancel, drop everything of the request still queued."""
        if cancelled:
            self._drop_queued(request)
        self._enqueue(request, [request.writer.end("cancelled" if cancelled else "ok", request.stats(time.monotonic()))])
        self._retire(request)
        client = self.clients.get(request.client)
        if client is not None:
            self._flush(client)

    def _fail(self, request: Request, code: str, message: str) -> None:
        self._drop_queued(request)
        self._enqueue(request, [request.writer.error(code, message)])
        self._retire(request)

    def _drop_queued(self, request: Request) -> None:
        """Drop the request's messages not yet sent; its next ``seq`` follows the last one sent (no gap)."""
        client = self.clients.get(request.client)
        if client is not None:
            kept = [entry for entry in client.outbox if entry[0] != request.serial]
            client.outbox.clear()
            client.outbox.extend(kept)
        request.writer.discard_unsent()
        request.pending = 0

    def _retire(self, request: Request) -> None:
        """The request is over: stop scheduling it and free its slot (its terminal message may still be queued)."""
        if request.finished:
            return
        request.finished = True
        self.scheduler.discard(request)
        self.active -= 1
        client = self.clients.get(request.client)
        if client is not None and client.requests.get(request.id) is request:
            del client.requests[request.id]

    def _expire_slow_consumers(self) -> None:
        now = time.monotonic()
        for client in list(self.clients.values()):
            if client.stalled_since is not None and now - client.stalled_since > self.limits.slow_consumer_timeout_s:
                self._slow_consumer(client)

    def _slow_consumer(self, client: ClientState, discarding: int = 0) -> None:
        """A client that does not read: its queued replies (and ``discarding`` more) become one counted notice,
        and its requests fail; their terminal errors and the notice wait for it to read again.

        Logged once per episode: until the notice leaves, further replies are only counted into it.
        """
        dropped = client.replies + discarding
        client.stalled_since = time.monotonic()
        if not dropped and not client.requests:
            return  # nothing left to fail: what it has to read is already queued
        LOG.warning("client %s is not reading: discarding %d unread repl%s, failing its %d request(s)",
                    client.identity.hex(), dropped, "y" if dropped == 1 else "ies", len(client.requests))
        if dropped:
            kept = [entry for entry in client.outbox if entry[0] is not None or entry[1] == _NOTICE]
            client.outbox.clear()
            client.outbox.extend(kept)
            client.replies = 0
            if not client.discarded:
                client.outbox.appendleft((None, _NOTICE, []))
            client.discarded += dropped
        why = (f"the client left more than {MAX_UNREAD_REPLIES} replies unread" if discarding else
               f"the stream was not read for {self.limits.slow_consumer_timeout_s:g} s")
        for request in list(client.requests.values()):
            request.cancelled = True
            self._fail(request, "slow_consumer", why)


def _notice(discarded: int) -> dict[str, Any]:
    """The error that stands for the replies a slow consumer never got, with their number."""
    what = "reply was" if discarded == 1 else "replies were"
    return error_header(None, "slow_consumer", f"{discarded:,} unread {what} discarded: read replies as they come",
                        discarded=discarded)


def _validate(speak: SpeakRequest, engine: Engine) -> None:
    """Reject bad text and options at once, in the I/O thread, before any work is queued."""
    try:
        checked_text(speak.text)
        speak.options.checked()
        speak.options.speaker_id(engine.config)
    except InvalidTextError as error:
        raise ProtocolError("invalid_text", str(error), speak.id, field="text") from None
    except InvalidOptionError as error:
        raise ProtocolError("invalid_option", str(error), speak.id, field=error.option) from None


def _error_code(error: Exception) -> str:
    if isinstance(error, InvalidTextError):
        return "invalid_text"
    if isinstance(error, InvalidOptionError):
        return "invalid_option"
    return "internal"


# ---- entry point -------------------------------------------------------------------------------------

class _StopDuringLoad(Exception):
    pass


def run(config: DaemonConfig) -> int:
    """Load and warm the voices, then serve until SIGTERM/SIGINT. Returns the exit code."""
    check_security(config)
    check_limits(config)
    warning = insecure_warning(config)
    if warning:  # now, before the voices load, and again when ready
        LOG.warning(warning)
    daemon: Daemon | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        LOG.info("received %s", signal.Signals(signum).name)
        if daemon is None:
            raise _StopDuringLoad()
        daemon.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            voices = VoiceRegistry(config.voices, threads=config.threads_per_worker or default_threads(config.workers))
            default_model()  # the live audio-to-face network: load it now, not on the first listen
        except _StopDuringLoad:
            LOG.info("stopped while loading voices")
            return 0
        daemon = Daemon(config, voices)
        daemon.serve_forever()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
