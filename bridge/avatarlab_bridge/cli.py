"""``avatarlab bridge``: serve the WebSocket bridge, the demo page and the default avatar."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from .hosts import WILDCARD_BINDS, host_name, is_loopback

_HELP = """\
Relay browsers to the avatarlab daemon: WebSocket on /ws (docs/protocol.md, "WebSocket binding"),
the three.js demo on /demo/, the default avatar, /health and /voices. Start the daemon first
(avatarlab serve); the bridge reports daemon_unavailable while it is away and reconnects by itself.

examples:
  avatarlab bridge                                   # http://127.0.0.1:8765/ -> tcp://127.0.0.1:5555
  avatarlab bridge --daemon tcp://127.0.0.1:6000 --port 9000 --allow-origin https://my.app
  avatarlab bridge --host 0.0.0.0 --allow-host studio.lan   # others open http://studio.lan:8765/demo/
  avatarlab bridge --avatar out/face.glb             # the demo shows this avatar (e.g. avatarlab avatar --photo)

Requests whose Host header is not a loopback name, the --host address or an --allow-host name get
403 (a page on another domain that resolves to this machine cannot read the bridge: DNS rebinding).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--daemon", default="tcp://127.0.0.1:5555", help="the daemon's ZeroMQ endpoint")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a page origin allowed to open the WebSocket besides the bridge's own "
                        "(repeatable; '*' allows any)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME", type=allowed_host,
                        help="a Host name to answer besides loopback ones (localhost, 127.x, [::1]) and --host, "
                        "e.g. the machine's LAN name when --host 0.0.0.0 (repeatable; '*' answers any: no "
                        "protection against DNS rebinding). Other Host headers get 403")
    parser.add_argument("--max-connections", type=int, default=64, help="WebSockets served at once (default 64)")
    parser.add_argument("--avatar", type=avatar_file, default=None, metavar="FILE.glb",
                        help="serve this GLB (or .vrm) as /avatar/default_head.glb, the avatar the web demo shows "
                        "(default: the default head)")
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def register(commands: Any, add_synthesis_options: Callable, options_from_args: Callable) -> None:
    parser = commands.add_parser("bridge", help="run the WebSocket bridge and the web demo", description=_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import BridgeConfig, create_app

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not is_loopback(args.host):
        logging.getLogger("avatarlab_bridge").warning(
            "listening on %s: anyone who can reach it may use the daemon (no authentication)", args.host)
    config = BridgeConfig(daemon_url=args.daemon, host=args.host, port=args.port,
                          allow_origins=tuple(args.allow_origin), allow_hosts=tuple(args.allow_host),
                          max_connections=args.max_connections, root=args.root, avatar=args.avatar)
    print(f"avatarlab bridge: open {page_url(args.host, args.port)}  (daemon {args.daemon})", flush=True)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level.lower(),
                ws_max_size=config.max_frame_bytes, ws_ping_interval=20, ws_ping_timeout=20)
    return 0


def page_url(host: str, port: int) -> str:
    """The demo's address for a browser on this machine (a wildcard bind is reached through loopback)."""
    if host in WILDCARD_BINDS:
        host = "::1" if host == "::" else "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/demo/"


def allowed_host(value: str) -> str:
    """argparse type of --allow-host: a host name or address (a port is ignored), or '*'."""
    if value.strip() != "*" and host_name(value) is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a host name (e.g. studio.lan, 192.168.1.20, '*')")
    return value


def avatar_file(value: str) -> Path:
    """argparse type of --avatar: a readable binary glTF file (GLB or VRM), as an absolute path."""
    path = Path(value).expanduser().resolve()
    try:
        with path.open("rb") as stream:
            magic = stream.read(4)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {value}: {error.strerror or error}") from None
    if magic != b"glTF":
        raise argparse.ArgumentTypeError(f"{value} is not a binary glTF file (.glb or .vrm)")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m avatarlab_bridge", description=_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))
