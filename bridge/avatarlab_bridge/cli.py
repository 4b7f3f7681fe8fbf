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
  avatarlab bridge --host 0.0.0.0 --allow-host studio.lan --token-file token.txt
                                                     # others open http://studio.lan:8765/demo/
  avatarlab bridge --avatar out/face.glb             # the demo shows this avatar (e.g. avatarlab avatar --photo)

Jobs over HTTP (docs/jobs.md): POST /v1/jobs renders a line to files (wav, json, csv, glb, mp4) in worker
processes; GET /v1/jobs/ID polls it; /v1/docs describes every call. The demo's "Render video" panel uses it.
  avatarlab bridge --job-workers 2 --jobs-dir /srv/avatarlab-jobs
  avatarlab bridge --storage s3://my-bucket/avatarlab --s3-endpoint-url http://minio.lan:9000
  avatarlab bridge --host 0.0.0.0 --allow-host studio.lan --token-file /etc/avatarlab/token

Listening beyond loopback needs --token-file (or --no-jobs): every /v1/ call must then send
"Authorization: Bearer TOKEN"; the demo page asks for it.
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
    jobs = parser.add_argument_group("jobs over HTTP (/v1/, docs/jobs.md)")
    jobs.add_argument("--jobs-dir", type=Path, default=None, metavar="DIR",
                      help="where jobs, uploads and uploaded avatars are kept (default "
                      "$XDG_DATA_HOME/avatarlab/jobs, i.e. ~/.local/share/avatarlab/jobs)")
    jobs.add_argument("--job-workers", type=_positive, default=1, metavar="N",
                      help="jobs run at once, each in a worker process (default 1)")
    jobs.add_argument("--max-queued-jobs", type=_at_least_zero, default=16, metavar="N",
                      help="jobs that may wait; one more is answered 429 with Retry-After (default 16)")
    jobs.add_argument("--keep-days", type=_positive_float, default=7.0, metavar="D",
                      help="finished jobs and uploads older than this are deleted (default 7)")
    jobs.add_argument("--max-upload-mb", type=_positive_float, default=25.0, metavar="MB",
                      help="the largest photo, avatar or recording accepted (default 25)")
    jobs.add_argument("--resume", action="store_true",
                      help="queue again the jobs a previous run left queued or running (default: mark them failed)")
    jobs.add_argument("--storage", default="", metavar="s3://BUCKET/PREFIX",
                      help="write finished files to an S3-compatible store; downloads redirect to presigned URLs "
                      "(default: the jobs folder, served by the bridge)")
    jobs.add_argument("--s3-endpoint-url", default=None, metavar="URL",
                      help="the S3 API's address when it is not AWS (MinIO, R2, Ceph...)")
    jobs.add_argument("--wav2lip", type=Path, default=None, metavar="CKPT",
                      help="a Wav2Lip checkpoint: jobs may then ask for renderer 'wav2lip' (docs/wav2lip.md)")
    jobs.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                      help="a file holding a secret: every /v1/ call must send 'Authorization: Bearer <it>' "
                      "(required with a --host beyond loopback)")
    jobs.add_argument("--no-jobs", action="store_true", help="serve no /v1/ API (the live relay only)")
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def register(commands: Any, add_synthesis_options: Callable, options_from_args: Callable) -> None:
    parser = commands.add_parser("bridge", help="run the WebSocket bridge and the web demo", description=_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(run=run)


def _number_type(convert: Callable[[str], float], low: float, above: bool, words: str) -> Callable[[str], Any]:
    """An argparse type: a finite number of ``convert``'s kind, at least ``low`` (more than it when ``above``)."""
    def parse(value: str):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {words}: {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")) or number < low or (above and number == low):
            raise argparse.ArgumentTypeError(f"must be {'more than' if above else 'at least'} {low:g}, got {value}")
        return number

    return parse


_positive = _number_type(int, 1, False, "a whole number")
_at_least_zero = _number_type(int, 0, False, "a whole number")
_positive_float = _number_type(float, 0, True, "a number")


class UsageError(Exception):
    """A bad combination of options, reported as ``avatarlab bridge: error: ...`` with exit code 2."""


def read_token(path: Path | None, host: str) -> str | None:
    """The secret in --token-file; UsageError when it is unreadable, too short, or missing beyond loopback."""
    if path is None:
        if not is_loopback(host):
            raise UsageError(f"--host {host} listens beyond loopback: give --token-file FILE (a file holding a "
                             "secret of 16 or more characters, e.g. python -c 'import secrets; "
                             "print(secrets.token_hex(16))' > FILE), so that only holders of it can use /v1/")
        return None
    try:
        token = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read --token-file {path}: {getattr(error, 'strerror', None) or error}") from None
    if len(token) < 16 or any(ch.isspace() for ch in token):
        raise UsageError(f"the token in {path} must be one line of 16 or more characters without spaces")
    return token


def jobs_config(args: argparse.Namespace):
    """The /v1/ settings, with the store checked now (a store that cannot be written stops the bridge here)."""
    from avatarlab.jobs.service import JobLimits, default_jobs_dir
    from avatarlab.jobs.storage import LocalStorage, StorageError

    from .app import JobsConfig

    if args.no_jobs:
        return None
    root = (args.jobs_dir or default_jobs_dir()).expanduser().resolve()
    if args.wav2lip is not None and not args.wav2lip.is_file():
        raise UsageError(f"--wav2lip {args.wav2lip}: no such file (a Wav2Lip .pth checkpoint, docs/wav2lip.md)")
    try:
        if args.storage:
            from avatarlab.jobs.s3 import parse_storage

            storage = parse_storage(args.storage, root / "jobs", args.s3_endpoint_url)
        else:
            storage = LocalStorage(root / "jobs")
        storage.check()
    except StorageError as error:
        raise UsageError(str(error)) from None
    limits = JobLimits(workers=args.job_workers, max_queued=args.max_queued_jobs, keep_days=args.keep_days,
                       max_upload_bytes=int(args.max_upload_mb * (1 << 20)))
    return JobsConfig(root, limits, storage, args.resume,
                      args.wav2lip.resolve() if args.wav2lip is not None else None)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import BridgeConfig, create_app

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        token = read_token(args.token_file, "127.0.0.1" if args.no_jobs else args.host)
        jobs = jobs_config(args)
    except UsageError as error:
        print(f"avatarlab bridge: error: {error}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        logging.getLogger("avatarlab_bridge").warning(
            "listening on %s: anyone who can reach it may use the live relay (/ws); /v1/ needs the token",
            args.host)
    config = BridgeConfig(daemon_url=args.daemon, host=args.host, port=args.port,
                          allow_origins=tuple(args.allow_origin), allow_hosts=tuple(args.allow_host),
                          max_connections=args.max_connections, root=args.root, avatar=args.avatar, jobs=jobs,
                          token=token)
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
