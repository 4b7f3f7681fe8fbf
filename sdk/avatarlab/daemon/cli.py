"""``avatarlab serve`` and ``avatarlab keys``: thin shells around the daemon."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from .protocol import DEFAULT_URL, Limits

_SERVE_HELP = f"""\
Start the daemon: load and warm the voices, then serve speak requests (text to speech and
face curves) and listen requests (pushed live audio to face curves) over ZeroMQ
(protocol: docs/protocol.md). It logs "ready on ..." when it accepts requests and stops
cleanly on Ctrl-C or SIGTERM (running requests get a shutting_down error).

examples:
  avatarlab serve                                   # {DEFAULT_URL}, default voice
  avatarlab serve --voice en_US-joe-medium --voice my_voice.onnx --workers 2
  avatarlab keys --out keys/ --name server && avatarlab keys --out keys/clients --name alice
  avatarlab serve --bind tcp://0.0.0.0:5555 --curve-secret keys/server.key_secret --allow-keys keys/clients
"""


def register(commands: Any, add_synthesis_options: Callable, options_from_args: Callable) -> None:
    defaults = Limits()
    serve = commands.add_parser("serve", help="run the inference daemon (ZeroMQ)", description=_SERVE_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--bind", default=DEFAULT_URL, help=f"ZeroMQ endpoint to bind (default {DEFAULT_URL}; "
                       "anything but loopback needs CURVE keys or --insecure)")
    serve.add_argument("--voice", action="append", default=[], metavar="VOICE",
                       help="voice to load (name or .onnx path); repeat for several; default: the bundled voice")
    serve.add_argument("--workers", type=int, default=2, help="synthesis threads (default 2)")
    serve.add_argument("--threads-per-worker", type=int, default=None,
                       help="onnxruntime threads per synthesis (default: cores / workers)")
    serve.add_argument("--max-requests-per-client", type=int, default=defaults.max_requests_per_client)
    serve.add_argument("--max-active-requests", type=int, default=defaults.max_active_requests)
    serve.add_argument("--send-hwm", type=int, default=defaults.send_hwm,
                       help=f"messages queued per client before its requests pause (default {defaults.send_hwm})")
    serve.add_argument("--slow-consumer-timeout", type=float, default=defaults.slow_consumer_timeout_s,
                       help="seconds a client may leave its stream unread before the request fails "
                       f"(default {defaults.slow_consumer_timeout_s:g})")
    live = serve.add_argument_group("live audio (listen requests)")
    live.add_argument("--max-push-s", type=float, default=defaults.max_push_s,
                      help=f"seconds of audio one push may carry (default {defaults.max_push_s:g})")
    live.add_argument("--max-listen-s", type=float, default=defaults.max_listen_s,
                      help=f"seconds of audio one listen stream may carry (default {defaults.max_listen_s:g})")
    live.add_argument("--max-pending-pushes", type=int, default=defaults.max_pending_pushes,
                      help="pushes of one stream that may wait to be processed before it fails with overrun "
                      f"(default {defaults.max_pending_pushes})")
    security = serve.add_argument_group("security")
    security.add_argument("--curve-secret", type=Path,
                          help="the server's secret certificate (from avatarlab keys; must be private, mode 0600)")
    security.add_argument("--allow-keys", type=Path,
                          help="folder of allowed clients' public certificates (*.key), read once at start: "
                          "adding or removing a key takes effect at the next restart")
    security.add_argument("--insecure", action="store_true",
                          help="allow a bind that other machines can reach (any TCP address but loopback, tipc, "
                          "pgm, ...) without encryption: anyone who can reach it can connect; logged as a warning")
    serve.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    serve.set_defaults(run=_run_serve)

    keys = commands.add_parser("keys", help="make a CURVE key pair for the daemon or a client",
                               description="Writes NAME.key (public: give it to the other side) and NAME.key_secret "
                               "(private: mode 0600, in a folder made 0700 when new) in ZeroMQ's certificate "
                               "format. The daemon and the Python client refuse a secret key that other users "
                               "can read.")
    keys.add_argument("--out", type=Path, default=Path("keys"), help="folder for the key files (default keys/)")
    keys.add_argument("--name", default="server", help="base name of the files (default server)")
    keys.set_defaults(run=_run_keys)

    from .client_cli import add_client_parser

    add_client_parser(commands, add_synthesis_options, options_from_args)


def _run_serve(args: argparse.Namespace) -> int:
    from .server import DaemonConfig, run

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    limits = Limits(max_requests_per_client=args.max_requests_per_client,
                    max_active_requests=args.max_active_requests, send_hwm=args.send_hwm,
                    slow_consumer_timeout_s=args.slow_consumer_timeout, max_push_s=args.max_push_s,
                    max_listen_s=args.max_listen_s, max_pending_pushes=args.max_pending_pushes)
    config = DaemonConfig(bind=args.bind, voices=tuple(args.voice), workers=args.workers,
                          threads_per_worker=args.threads_per_worker, limits=limits,
                          curve_secret=args.curve_secret, allow_keys=args.allow_keys, insecure=args.insecure)
    return run(config)


def _run_keys(args: argparse.Namespace) -> int:
    from .keys import create_key_pair

    public, secret = create_key_pair(args.out, args.name)
    print(public)
    print(secret)
    return 0
