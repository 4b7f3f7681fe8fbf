"""``avatarlab client ...``: talk to a running daemon from the shell (docs/client.md).

    avatarlab client speak "Hello there, traveler!" --out out/      # the files `avatarlab speak` writes
    avatarlab client ping | status | voices [--url tcp://host:5555]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from .protocol import DEFAULT_URL

_DESCRIPTION = f"""\
Talk to a running daemon (start it with `avatarlab serve`). Default URL: {DEFAULT_URL}.

examples:
  avatarlab client speak "Hello there, traveler!" --out out/ --format csv --emotion happy
  avatarlab client ping
  avatarlab client status --url tcp://127.0.0.1:5555
  avatarlab client voices --json
"""
#: How long the first answer may take before the command says the daemon is not running.
CONNECT_TIMEOUT_S = 5.0


def add_client_parser(commands: Any, add_synthesis_options: Callable[[argparse.ArgumentParser], None],
                      options_from_args: Callable[[argparse.Namespace], Any]) -> None:
    """Add ``client speak|ping|status|voices`` to the ``avatarlab`` subcommands."""
    client = commands.add_parser("client", help="use a running daemon (speak, ping, status, voices)",
                                 description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = client.add_subparsers(dest="client_command", metavar="ACTION", required=True)

    speak = actions.add_parser("speak", help="speak a line through the daemon and write its WAV and curves",
                               description="Like `avatarlab speak`, but the daemon synthesizes: writes "
                               "<name>.wav and <name>.json (and <name>.csv) into --out.")
    from ..cli import add_line_arguments

    add_line_arguments(speak)
    _add_connection_options(speak)
    add_synthesis_options(speak)
    speak.set_defaults(run=lambda args: _run_speak(args, options_from_args))

    for name, run, text in (("ping", _run_ping, "check that the daemon answers, and how fast"),
                            ("status", _run_status, "the daemon's load, voices and limits (JSON)"),
                            ("voices", _run_voices, "the voices the daemon has loaded")):
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        _add_connection_options(action)
        if name == "voices":
            action.add_argument("--json", action="store_true", help="machine-readable output")
        action.set_defaults(run=run)


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--url", default=DEFAULT_URL, help=f"the daemon's endpoint (default {DEFAULT_URL})")
    group.add_argument("--timeout", type=float, default=30.0,
                       help="seconds without any message before giving up (default 30)")
    group.add_argument("--server-key", type=Path, help="the daemon's public certificate (.key), for CURVE")
    group.add_argument("--client-key", type=Path, help="this client's secret certificate (.key_secret), for CURVE")


def _connect(args: argparse.Namespace) -> Any:
    from .client import Client

    if args.timeout <= 0:
        from ..errors import InvalidOptionError

        raise InvalidOptionError(f"--timeout must be positive, got {args.timeout:g}")
    return Client(args.url, timeout=args.timeout, server_public_key=args.server_key,
                  client_secret_key=args.client_key)


def _first_contact(client: Any, args: argparse.Namespace) -> Any:
    """hello with a short timeout, so a missing daemon is reported in seconds, not after --timeout."""
    return client.hello(timeout=min(args.timeout, CONNECT_TIMEOUT_S))


def _run_speak(args: argparse.Namespace, options_from_args: Callable[[argparse.Namespace], Any]) -> int:
    from ..cli import read_text, write_and_report

    text = read_text(args)
    options = options_from_args(args).checked()
    with _connect(args) as client:
        _first_contact(client, args)
        stream = client.speak(
            text, voice=args.voice, fps=options.fps, emotion=options.emotion,
            emotion_intensity=options.emotion_intensity, seed=options.seed, speed=options.speed,
            noise_scale=options.noise_scale, noise_w=options.noise_w, speaker=options.speaker,
            sentence_silence=options.sentence_silence,
        )
        try:
            utterance = stream.collect()
        except KeyboardInterrupt:
            stream.close()
            raise
    return write_and_report(utterance, args, f"{utterance.duration_s:.2f} s of speech, {len(utterance.frames)} "
                            f"frames at {options.fps} fps (daemon at {args.url})")


def _run_ping(args: argparse.Namespace) -> int:
    with _connect(args) as client:
        welcome = _first_contact(client, args)
        seconds = client.ping()
    print(f"{welcome.server} at {args.url} (instance {welcome.instance}): {seconds * 1000:.2f} ms")
    return 0


def _run_status(args: argparse.Namespace) -> int:
    with _connect(args) as client:
        _first_contact(client, args)
        print(json.dumps(client.status(), indent=2))
    return 0


def _run_voices(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    with _connect(args) as client:
        _first_contact(client, args)
        voices = client.voices()
    if args.json:
        print(json.dumps([asdict(v) for v in voices], indent=2))
        return 0
    for voice in voices:
        speakers = f", speakers: {', '.join(voice.speakers)}" if voice.speakers else ""
        print(f"{voice.name:<28} {voice.language}, {voice.sample_rate} Hz, {voice.num_speakers} speaker(s){speakers}")
    return 0
