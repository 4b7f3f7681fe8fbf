"""``avatarlab client ...``: talk to a running daemon from the shell (docs/client.md).

    avatarlab client speak "Hello there, traveler!" --out out/      # the files `avatarlab speak` writes
    avatarlab client listen line.wav --realtime --out out/          # live lip sync of an audio file
    avatarlab client ping | status | voices [--url tcp://host:5555]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

from .protocol import DEFAULT_URL

_DESCRIPTION = f"""\
Talk to a running daemon (start it with `avatarlab serve`). Default URL: {DEFAULT_URL}.

examples:
  avatarlab client speak "Hello there, traveler!" --out out/ --format csv --emotion happy
  avatarlab client listen take.mp3 --out out/ --realtime
  avatarlab client ping
  avatarlab client status --url tcp://127.0.0.1:5555
  avatarlab client voices --json
"""
#: How long the first answer may take before the command says the daemon is not running.
CONNECT_TIMEOUT_S = 5.0
#: Pushes `client listen` keeps unanswered when it pushes as fast as it can (the daemon allows 32).
LISTEN_WINDOW = 8

_LISTEN_HELP = """\
Live lip sync through the daemon: decode AUDIO (any format ffmpeg reads), push it to a `listen`
stream in small pieces as a microphone would, collect the face curves the daemon sends back, and
write <name>.wav and <name>.json (and <name>.csv) into --out, the files `avatarlab client speak`
writes (no phonemes or words: the live network decides visemes only; see docs/protocol.md 5a).

Without --realtime the pieces go out as fast as the replies come back; with it, each piece is sent
when it would have been fully recorded, so the printed wall-clock delay is what a live avatar sees.
Either way the command prints the worst delay it measured next to the daemon's max_delay_s.

examples:
  avatarlab client listen take.wav --out out/
  avatarlab client listen take.mp3 --out out/ --realtime --format csv
  avatarlab client listen take.flac --out out/ --sample-rate 22050 --fps 30 --piece-ms 10 --emotion happy
"""


def add_client_parser(commands: Any, add_synthesis_options: Callable[[argparse.ArgumentParser], None],
                      options_from_args: Callable[[argparse.Namespace], Any]) -> None:
    """Add ``client speak|ping|status|voices`` to the ``avatarlab`` subcommands."""
    client = commands.add_parser("client", help="use a running daemon (speak, listen, ping, status, voices)",
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

    listen = actions.add_parser("listen", help="stream an audio file to the daemon's live lip sync and write the curves",
                                description=_LISTEN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_listen_arguments(listen)
    _add_connection_options(listen)
    listen.set_defaults(run=_run_listen)

    for name, run, text in (("ping", _run_ping, "check that the daemon answers, and how fast"),
                            ("status", _run_status, "the daemon's load, voices and limits (JSON)"),
                            ("voices", _run_voices, "the voices the daemon has loaded")):
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        _add_connection_options(action)
        if name == "voices":
            action.add_argument("--json", action="store_true", help="machine-readable output")
        action.set_defaults(run=run)


def _add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    from ..options import DEFAULT_FPS, EMOTIONS, MAX_FPS, MIN_FPS

    parser.add_argument("audio", type=Path, metavar="FILE", help="the audio to push (any format ffmpeg reads)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    parser.add_argument("--name", help="base file name (default: the audio file's name)")
    parser.add_argument("--format", choices=("json", "csv"), default="json",
                        help="json: WAV + curves JSON (default); csv: also a Live Link Face-style CSV")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    stream = parser.add_argument_group("streaming")
    stream.add_argument("--realtime", action="store_true",
                        help="push at the audio's own pace (as a microphone would), not as fast as possible")
    stream.add_argument("--sample-rate", type=int, default=16000,
                        help="rate the audio is decoded to, pushed and written at, 8000 to 48000 (default 16000, "
                        "the network's own rate: no resampling delay)")
    stream.add_argument("--piece-ms", type=float, default=20.0,
                        help="milliseconds of audio per push (default 20, a typical audio callback)")
    group = parser.add_argument_group("animation")
    group.add_argument("--fps", type=int, default=DEFAULT_FPS,
                       help=f"animation frames per second, {MIN_FPS} to {MAX_FPS} (default {DEFAULT_FPS})")
    group.add_argument("--seed", type=int, default=0, help="same seed, same animation (default 0)")
    group.add_argument("--emotion", choices=EMOTIONS, default="neutral", help="expression blended over speech")
    group.add_argument("--intensity", type=float, default=1.0, help="emotion intensity, 0 to 1 (default 1)")


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
    from ..cli import prepare_output, read_text, write_and_report

    text = read_text(args)  # the daemon checks it (with the same checked_text) and names the field at fault
    options = options_from_args(args).checked()
    prepare_output(args)
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


class _DelayMeter:
    """The delays `client listen` reports, measured on every frame the replies carry."""

    def __init__(self, sample_rate: int, fps: int, max_delay_samples: int) -> None:
        self.sample_rate, self.fps, self.max_delay_samples = sample_rate, fps, max_delay_samples
        self.samples_before = 0  # samples pushed before the push that the current reply answers
        self.worst_audio = 0.0  # audio pushed past a frame's moment when its frame came back (s)
        self.worst_wall: float | None = None  # wall time from a frame's moment to its arrival (s; --realtime)
        self.late = 0  # frames that could have come with an earlier reply under the max_delay_s promise

    def add(self, message: Any, arrived: float, started: float | None) -> None:
        from .messages import LiveFrames

        if not isinstance(message, LiveFrames):
            return
        for frame in range(message.start_frame, message.start_frame + message.num_frames):
            moment = frame * self.sample_rate / self.fps  # in samples
            self.worst_audio = max(self.worst_audio, (message.samples_in - moment) / self.sample_rate)
            if self.samples_before >= moment + self.max_delay_samples:
                self.late += 1
            if started is not None:
                wall = arrived - (started + frame / self.fps)
                self.worst_wall = wall if self.worst_wall is None else max(self.worst_wall, wall)
        self.samples_before = message.samples_in


def _delay_lines(meter: _DelayMeter, max_delay_s: float, piece_ms: float) -> list[str]:
    """The measured delays, next to the daemon's bound and what it covers (docs/protocol.md section 5a)."""
    bound_ms = max_delay_s * 1000
    with_piece_ms = bound_ms + piece_ms
    lines = [
        f"delay bound: max_delay_s {bound_ms:.1f} ms ({meter.max_delay_samples} samples at {meter.sample_rate} Hz) "
        "of audio past a frame's moment, the audio the daemon needs before it can decide that frame (the network's "
        "40 ms look-ahead, its 25 ms window, the resampler); the frame comes with the push that crosses it, so up to "
        f"one {piece_ms:g} ms piece more: {with_piece_ms:.1f} ms",
        f"measured: worst {meter.worst_audio * 1000:.1f} ms of audio pushed past a frame's moment when it came back",
    ]
    if meter.worst_wall is not None:
        wall_ms = meter.worst_wall * 1000
        rest = (f"{wall_ms - with_piece_ms:.1f} ms more than max_delay_s + one piece: transport, queueing and compute"
                if wall_ms > with_piece_ms else "within max_delay_s + one piece")
        lines.append(f"wall clock: worst {wall_ms:.1f} ms from a frame's moment to its arrival ({rest})")
    return lines


def _run_listen(args: argparse.Namespace) -> int:
    from ..cli import prepare_output, write_and_report
    from ..output import name_from
    from ..errors import InvalidOptionError
    from ..lipsync.audio_input import load_audio
    from ..options import SynthesisOptions
    from .session import LiveCollector

    options = SynthesisOptions(fps=args.fps, seed=args.seed, emotion=args.emotion,
                               emotion_intensity=args.intensity).checked()
    if not 1 <= args.piece_ms <= 1000:
        raise InvalidOptionError(f"--piece-ms must be 1 to 1000, got {args.piece_ms:g}", option="piece_ms")
    audio = load_audio(args.audio, args.sample_rate)
    args.name = args.name if args.name is not None else name_from(args.audio.stem)
    prepare_output(args)
    piece = max(1, round(args.sample_rate * args.piece_ms / 1000))
    with _connect(args) as client:
        _first_contact(client, args)
        with client.listen(sample_rate=args.sample_rate, fps=options.fps, audio_format="f32le", seed=options.seed,
                           emotion=options.emotion, emotion_intensity=options.emotion_intensity) as live:
            take = LiveCollector(live.start)
            meter = _DelayMeter(args.sample_rate, options.fps, live.max_delay_samples)
            started = time.perf_counter() if args.realtime else None

            def keep(messages: list) -> None:
                now = time.perf_counter()
                for message in messages:
                    take.add(message)
                    meter.add(message, now, started)

            for first in range(0, len(audio), piece):
                end = min(len(audio), first + piece)
                if started is not None:  # send each piece when it would have been fully recorded
                    due = started + end / args.sample_rate
                    while (left := due - time.perf_counter()) > 0:
                        keep(live.poll(timeout=left))
                else:
                    while live.pending >= LISTEN_WINDOW:
                        keep(live.poll(timeout=args.timeout))
                live.push(audio[first:end], last=end == len(audio))
                keep(live.poll())
            stats = live.finish()
            keep(live.poll())
    utterance = take.utterance(audio, options)
    return write_and_report(utterance, args, _listen_summary(utterance, take, meter, stats, live.max_delay_s, args))


def _listen_summary(utterance: Any, take: Any, meter: _DelayMeter, stats: dict, max_delay_s: float,
                    args: argparse.Namespace) -> str:
    lines = [(f"{utterance.duration_s:.2f} s of audio, {take.num_frames} frames at {take.start.fps} fps, "
              f"{len(take.visemes)} viseme segments, {take.replies} pushes of {args.piece_ms:g} ms "
              f"({'real time' if args.realtime else 'as fast as replies came'}; daemon at {args.url}, "
              f"compute {stats.get('compute_ms', 0):.0f} ms)")]
    lines.extend(_delay_lines(meter, max_delay_s, args.piece_ms))
    if meter.late:
        lines.append(f"warning: {meter.late} frames came later than max_delay_s promises")
    expected = math.ceil(len(utterance.audio) * take.start.fps / take.start.sample_rate)
    if take.num_frames != expected:
        lines.append(f"warning: {take.num_frames} frames received, {expected} cover the audio")
    return "\n".join(lines)
