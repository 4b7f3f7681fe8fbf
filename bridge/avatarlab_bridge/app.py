"""The ASGI app: WebSocket relay to the daemon (one DEALER per WebSocket), demo page, avatar, health, voices."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import zmq
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose, WebSocketDisconnect, WebSocketState

from avatarlab.jobs.service import JobLimits, JobService
from avatarlab.jobs.storage import ResultStorage

from .framing import FramingError, error_frame, from_websocket, payload_error, to_websocket, to_zmq
from .hosts import AllowedHosts
from .monitor import DaemonMonitor, new_dealer

log = logging.getLogger("avatarlab_bridge")
REPO = Path(__file__).resolve().parents[2]
PACKAGED = Path(__file__).resolve().parent / "web"  # where setup.py puts the web files in a wheel
TERMINAL = ("end", "error")
STREAMS = ("speak", "listen")  # requests whose streams the bridge tracks, to report them lost when the daemon goes
SEND_WAIT_MS = 3000  # how long a request waits for the DEALER to (re)connect before daemon_unavailable/busy


@dataclass(frozen=True)
class JobsConfig:
    """The /v1/ jobs API's folder, limits and store (docs/jobs.md)."""

    root: Path
    limits: JobLimits = JobLimits()
    storage: ResultStorage | None = None  # None: the jobs folder
    resume: bool = False
    wav2lip: Path | None = None

    def service(self) -> JobService:
        return JobService(self.root, self.limits, self.storage, self.resume, self.wav2lip)


@dataclass
class BridgeConfig:
    daemon_url: str = "tcp://127.0.0.1:5555"
    host: str = "127.0.0.1"
    port: int = 8765
    allow_origins: tuple[str, ...] = ()   # added to the bridge's own http://host:port origins; "*" allows any
    allow_hosts: tuple[str, ...] = ()     # Host names answered besides loopback ones and ``host``; "*" allows any
    max_connections: int = 64
    max_frame_bytes: int = 1 << 20        # the daemon's whole-message limit
    queue: int = 64                       # ZeroMQ high-water marks of each relay DEALER
    root: Path | None = None              # a source checkout to serve the web files from (default: found)
    avatar: Path | None = None            # the GLB served as /avatar/default_head.glb (default: the default head)
    jobs: JobsConfig | None = None        # the /v1/ jobs API (None: not served)
    token: str | None = None              # required by every /v1/ call when set (--token-file)

    def hosts(self) -> AllowedHosts:
        return AllowedHosts.of(self.allow_hosts, self.host)

    def origins(self) -> set[str]:
        names = {"127.0.0.1", "localhost", "[::1]", self.host}
        names |= {f"[{n}]" if ":" in n else n for n in self.hosts().names if n != "*"}
        own = {f"http://{h}:{self.port}" for h in names}
        return own | set(self.allow_origins)


def _installed_default_avatar() -> Path:
    """The avatarlab package's default avatar (avatarlab/data/ in a wheel); when it is missing, where it should
    be (the route then answers 404 naming it)."""
    from avatarlab.avatar.default import DEFAULT_AVATAR_PLACES, default_avatar_path

    try:
        return default_avatar_path()
    except FileNotFoundError:
        return DEFAULT_AVATAR_PLACES[0]


@dataclass(frozen=True)
class WebFiles:
    """Where the demo page, the package's ES modules, three.js and the default avatar are on disk."""

    demo: Path
    pkg: Path
    three: Path
    avatar: Path

    @classmethod
    def in_checkout(cls, root: Path) -> WebFiles:
        return cls(root / "threejs_client/demo", root / "threejs_client/src", root / "threejs_client/node_modules/three",
                   root / "models/avatar/default_head.glb")

    @classmethod
    def packaged(cls, base: Path = PACKAGED) -> WebFiles:
        """The layout of setup.py's WEB_FILES inside an installed wheel."""
        return cls(base / "demo", base / "pkg", base / "three", _installed_default_avatar())

    @classmethod
    def find(cls, root: Path | None = None) -> WebFiles:
        """``root``'s checkout if given, else the wheel's copies when installed, else this checkout."""
        if root is not None:
            return cls.in_checkout(root)
        packaged = cls.packaged()
        return packaged if packaged.demo.is_dir() else cls.in_checkout(REPO)


class Relay:
    """One WebSocket client <-> one ZeroMQ DEALER to the daemon."""

    def __init__(self, websocket: WebSocket, config: BridgeConfig, monitor: DaemonMonitor) -> None:
        self.ws, self.config, self.monitor = websocket, config, monitor
        self.dealer = new_dealer(config.daemon_url, config.queue)
        self.in_flight: set[str] = set()
        self.lost_streams: set[str] = set()  # listen streams one of whose pushes could not be relayed: to cancel
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)  # bridge-made messages only
        self._send_lock = asyncio.Lock()

    def on_daemon_event(self, event: str, instance: str | None) -> None:
        """The monitor saw the daemon go down or restart: every request in flight is lost; say so."""
        code = "daemon_restarted" if event == "restarted" else "daemon_unavailable"
        text = ("the daemon restarted; this request is gone, send it again" if event == "restarted"
                else f"the daemon at {self.config.daemon_url} does not answer")
        for request_id in sorted(self.in_flight):
            with contextlib.suppress(asyncio.QueueFull):
                self.outbox.put_nowait(error_frame(request_id, code, text))
        self.in_flight.clear()
        self.lost_streams.clear()  # gone with the daemon's state

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._from_client()), asyncio.create_task(self._from_daemon()),
                 asyncio.create_task(self._from_bridge())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(zmq.ZMQError):
                await self.dealer.send(msgpack.packb({"v": 1, "type": "bye"}), zmq.NOBLOCK)
            self.dealer.close(linger=100)

    async def _send_ws(self, data: bytes) -> None:
        async with self._send_lock:
            await self.ws.send_bytes(data)

    async def _from_bridge(self) -> None:
        while True:
            await self._send_ws(await self.outbox.get())

    async def _from_client(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                await self._send_ws(error_frame(None, "bad_message", "send binary frames (MessagePack), not text"))
                continue
            try:
                header, payloads = from_websocket(data)
            except FramingError as error:
                await self._send_ws(error_frame(None, "bad_message", str(error)))
                continue
            request_id = header.get("id") if isinstance(header.get("id"), str) else None
            kind = header.get("type")
            problem = payload_error(header, payloads)
            # a push with the wrong payloads goes on: the daemon ends that listen stream with bad_message
            if problem is not None and kind != "push":  # answered as the daemon answers it
                await self._send_ws(error_frame(request_id, "bad_message", problem))
                continue
            if self.monitor.state == "down":
                await self._send_ws(error_frame(request_id, "daemon_unavailable",
                                                f"the daemon at {self.config.daemon_url} does not answer"))
                continue
            try:
                await self._cancel_lost_streams()
                await self._send_daemon(to_zmq(header, payloads))
            except zmq.Again:
                down = self.monitor.state != "up"
                if kind == "push" and request_id is not None:
                    # audio that never reached the daemon: the stream is broken. Say so (a terminal error
                    # for the page) and cancel it at the daemon as soon as the DEALER takes messages again.
                    self.in_flight.discard(request_id)
                    self.lost_streams.add(request_id)
                await self._send_ws(error_frame(
                    request_id, "daemon_unavailable" if down else "busy",
                    f"the daemon at {self.config.daemon_url} is not connected" if down
                    else "the queue to the daemon is full; read your streams"))
                continue
            except (TypeError, ValueError) as error:  # an unpackable header (never expected after decoding)
                await self._send_ws(error_frame(request_id, "bad_message", str(error)))
                continue
            if kind in STREAMS and request_id is not None:
                self.in_flight.add(request_id)

    async def _cancel_lost_streams(self) -> None:
        for request_id in sorted(self.lost_streams):
            try:
                await self.dealer.send(msgpack.packb({"v": 1, "type": "cancel", "id": request_id}), zmq.NOBLOCK)
            except zmq.Again:
                return
            self.lost_streams.discard(request_id)

    async def _send_daemon(self, frames: list[bytes]) -> None:
        """Send now, or wait a little while this DEALER (re)connects (IMMEDIATE: nothing queues while it is away)."""
        try:
            await self.dealer.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            if self.monitor.state == "down":
                raise
            if not await self.dealer.poll(SEND_WAIT_MS, zmq.POLLOUT):
                raise
            await self.dealer.send_multipart(frames, zmq.NOBLOCK)

    async def _from_daemon(self) -> None:
        while True:
            frames = await self.dealer.recv_multipart(copy=True)
            try:
                header = msgpack.unpackb(frames[0], raw=False, strict_map_key=False)
            except Exception:  # noqa: BLE001 - relay it anyway; the client reports it
                header = None
            if isinstance(header, dict) and header.get("type") in TERMINAL:
                self.in_flight.discard(header.get("id"))
            # awaiting the send is the backpressure: a slow browser stops this read, the daemon's queue fills
            await self._send_ws(to_websocket(frames))


class HostCheck:
    """ASGI middleware: refuse HTTP requests (403) and WebSocket handshakes whose Host is not allowed."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.allowed.problem(Headers(scope=scope).get("host"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        log.warning("refused %s %s: %s", scope["type"], scope.get("path"), problem)
        response = JSONResponse({"error": "host_not_allowed", "message": problem}, status_code=403)
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
            await WebSocketClose(code=1008, reason="host not allowed")(scope, receive, send)
            return
        await response(scope, receive, send)


def create_app(config: BridgeConfig) -> Starlette:
    monitor = DaemonMonitor(config.daemon_url)
    relays: set[Relay] = set()
    web = WebFiles.find(config.root)
    avatar_file = config.avatar or web.avatar  # the demo page loads whatever is served at /avatar/default_head.glb

    async def websocket_endpoint(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        origins = config.origins()
        if origin is not None and "*" not in origins and origin not in origins:
            log.warning("refused a WebSocket from origin %s", origin)
            await websocket.close(code=1008, reason="origin not allowed")
            return
        await websocket.accept()
        if len(relays) >= config.max_connections:
            await websocket.send_bytes(error_frame(None, "busy", f"the bridge serves at most "
                                                   f"{config.max_connections} WebSockets"))
            await websocket.close(code=1013)
            return
        relay = Relay(websocket, config, monitor)
        relays.add(relay)
        forget = monitor.listen(relay.on_daemon_event)
        try:
            await relay.run()
        except WebSocketDisconnect:
            pass
        except Exception:  # noqa: BLE001 - one client's failure must not take the bridge down
            log.exception("relay failed")
        finally:
            forget()
            relays.discard(relay)
            if websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close()

    async def health(_: Request) -> Response:
        body = {"bridge": "ok", "daemon": monitor.state, "daemon_url": config.daemon_url,
                "instance": monitor.instance, "server": monitor.welcome.get("server"),
                "limits": monitor.welcome.get("limits"), "websockets": len(relays)}
        return JSONResponse(body, status_code=200 if monitor.state == "up" else 503)

    async def voices(_: Request) -> Response:
        return await _daemon_json("voices", "voices")

    async def status(_: Request) -> Response:
        return await _daemon_json("status", None)

    async def _daemon_json(kind: str, key: str | None) -> Response:
        if monitor.state == "down":
            return JSONResponse({"error": "daemon_unavailable", "message": f"the daemon at {config.daemon_url} "
                                 "does not answer"}, status_code=503)
        try:
            reply = await monitor.request(kind)
        except (TimeoutError, asyncio.TimeoutError):
            return JSONResponse({"error": "daemon_unavailable", "message": f"no {kind} reply from "
                                 f"{config.daemon_url}"}, status_code=503)
        if reply.get("type") == "error":
            return JSONResponse({"error": reply.get("code"), "message": reply.get("message")}, status_code=502)
        return JSONResponse(_jsonable(reply.get(key) if key else reply))

    async def avatar(_: Request) -> Response:
        if not avatar_file.is_file():
            return JSONResponse({"error": "not_found", "message": f"no avatar at {avatar_file}"}, status_code=404)
        return FileResponse(avatar_file, media_type="model/gltf-binary")

    async def index(_: Request) -> Response:
        return RedirectResponse("/demo/")

    service = config.jobs.service() if config.jobs is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette):
        if service is not None:
            await asyncio.to_thread(service.start)
            log.info("jobs API on /v1/ (jobs in %s, files in %s, %d worker(s))", service.root, service.storage.label,
                     service.limits.workers)
        await monitor.start()
        log.info("bridge on http://%s:%d/ relaying to %s", config.host, config.port, config.daemon_url)
        if config.avatar is not None:
            log.info("serving the avatar %s as /avatar/default_head.glb", config.avatar)
        for path in (web.demo, web.three, avatar_file):
            if not path.exists():
                log.warning("%s is missing: the web demo will not work (in a checkout: npm ci --prefix threejs_client)",
                            path)
        try:
            yield
        finally:
            await monitor.stop()
            if service is not None:
                await asyncio.to_thread(service.stop)

    routes = [
        Route("/", index),
        Route("/health", health),
        Route("/voices", voices),
        Route("/status", status),
        Route("/avatar/default_head.glb", avatar),
        WebSocketRoute("/ws", websocket_endpoint),
        Mount("/demo", _static(web.demo, html=True)),
        Mount("/pkg", _static(web.pkg)),
        Mount("/vendor/three", _static(web.three)),
    ]
    if service is not None:
        from .api import ApiSecurity, create_api

        routes.append(Mount("/v1", create_api(service, ApiSecurity(config.origins, config.token))))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(HostCheck, allowed=config.hosts())])
    app.state.monitor = monitor
    app.state.jobs = service
    return app


def _static(directory: Path, html: bool = False) -> ASGIApp:
    """Files from ``directory``; a clear 404 while it is missing (three.js before ``npm ci``), not a 500."""
    files = StaticFiles(directory=directory, html=html, check_dir=False)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if directory.is_dir():
            await files(scope, receive, send)
            return
        await JSONResponse({"error": "not_found", "message": f"{directory} is missing (in a checkout: npm ci "
                            "--prefix threejs_client)"}, status_code=404)(scope, receive, send)

    return app


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value
