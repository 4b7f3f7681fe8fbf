"""The ``avatarlab`` command: a thin shell around the library API."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .errors import AvatarLabError, InvalidTextError
from .options import (
    DEFAULT_FPS, EMOTIONS, MAX_FPS, MAX_SENTENCE_SILENCE_S, MAX_SPEED, MAX_TEXT_CHARS, MIN_FPS, MIN_SPEED,
    SynthesisOptions, checked_text,
)
from .voice import VOICES_PATH_ENV, list_voices

EXIT_USAGE = 2
#: Modules that add subcommands with ``register(commands, add_synthesis_options, options_from_args)``.
_EXTRA_COMMANDS: tuple[str, ...] = ("avatarlab.daemon.cli", "avatarlab.export.cli", "avatarlab.lipsync.cli",
                                    "avatarlab_bridge.cli", "avatarlab.demo", "avatarlab.render.cli",
                                    "avatarlab.sync_check.cli")

_DESCRIPTION = """\
AI Avatar Lab: text to VITS speech plus matching face animation (Oculus visemes,
ARKit blendshapes, head and eye motion), exact to the audio sample.

examples:
  avatarlab speak "Hello there, traveler!" --out out/
      writes out/hello-there-traveler.wav and out/hello-there-traveler.json
  avatarlab speak --text-file examples/line.txt --out out/ --format csv --emotion happy
      also writes a Live Link Face-style CSV (Timecode + 52 ARKit columns)
  avatarlab voices
      lists the voices you can pass to --voice
"""


def _add_synthesis_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("voice and animation")
    group.add_argument("--voice", help="voice name from `avatarlab voices`, or a path to a Piper .onnx file "
                       "(its .onnx.json must sit beside it); default: the bundled en_US-joe-medium")
    group.add_argument("--speed", type=float, default=1.0,
                       help=f"speaking rate, {MIN_SPEED:g} to {MAX_SPEED:g} (default 1.0; 1.2 is 20%% faster)")
    group.add_argument("--noise-scale", type=float, help="voice variation (VITS noise_scale, 0 to 2; default: voice's)")
    group.add_argument("--noise-w", type=float, help="timing variation (VITS noise_w, 0 to 2; default: voice's)")
    group.add_argument("--speaker", help="speaker id or name for multi-speaker voices")
    group.add_argument("--sentence-silence", type=float, default=0.0,
                       help=f"seconds of silence between sentences, 0 to {MAX_SENTENCE_SILENCE_S:g} (default 0)")
    group.add_argument("--fps", type=int, default=DEFAULT_FPS,
                       help=f"animation frames per second, {MIN_FPS} to {MAX_FPS} (default {DEFAULT_FPS})")
    group.add_argument("--seed", type=int, default=0, help="same seed, same audio and animation (default 0)")
    group.add_argument("--emotion", choices=EMOTIONS, default="neutral", help="expression blended over speech")
    group.add_argument("--intensity", type=float, default=1.0, help="emotion intensity, 0 to 1 (default 1)")


def _options(args: argparse.Namespace) -> SynthesisOptions:
    return SynthesisOptions(
        speed=args.speed, noise_scale=args.noise_scale, noise_w=args.noise_w, speaker=args.speaker,
        sentence_silence=args.sentence_silence, fps=args.fps, seed=args.seed, emotion=args.emotion,
        emotion_intensity=args.intensity,
    )


def add_line_arguments(parser: argparse.ArgumentParser) -> None:
    """The text to speak and where its files go: shared by `speak` and `client speak`."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("text", nargs="?", help="the line to speak ('-' reads standard input)")
    source.add_argument("--text-file", type=Path, help="read the line from a UTF-8 text file")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    parser.add_argument("--name", help="base file name: letters, digits, '.', '_', '-' (default: a slug of the text, "
                        "e.g. hello-there-traveler)")
    parser.add_argument("--format", choices=("json", "csv"), default="json",
                        help="json: WAV + curves JSON (default); csv: also a Live Link Face-style CSV")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def prepare_output(args: argparse.Namespace) -> None:
    """Check --name and that --out can be written before the slow part, so a bad one fails in a moment
    (InvalidOptionError, OutputError); `write_and_report` checks both again when it writes."""
    from .output import check_writable, checked_name

    if args.name is not None:
        checked_name(args.name)
    check_writable(args.out)


def write_and_report(utterance: Any, args: argparse.Namespace, summary: str) -> int:
    """Write a line's files as `add_line_arguments` asked; unless --quiet, list them and print ``summary``.

    Every command that writes a line goes through here and `output.write_utterance`, so an unsafe --name or an
    unwritable, full output folder is an `avatarlab: error:` (exit 2) for all of them alike.
    """
    from .output import write_utterance

    paths = write_utterance(utterance, args.out, args.name, csv_too=args.format == "csv")
    if not args.quiet:
        for path in paths:
            print(path)
        print(summary, file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatarlab", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"avatarlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    speak = commands.add_parser(
        "speak", help="speak a line and write its WAV and curves",
        description="Synthesize a line of dialogue and write <name>.wav and <name>.json (and <name>.csv).\n"
        f"Text is limited to {MAX_TEXT_CHARS} characters; the JSON schema is in docs/curves-json.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_line_arguments(speak)
    _add_synthesis_options(speak)
    speak.set_defaults(run=_run_speak)

    voices = commands.add_parser(
        "voices", help="list the voices avatarlab can use",
        description=f"Lists the bundled voice and every *.onnx in the folders of ${VOICES_PATH_ENV} "
        "and ~/.local/share/avatarlab/voices.",
    )
    voices.add_argument("--json", action="store_true", help="machine-readable output")
    voices.set_defaults(run=_run_voices)

    for register in _command_modules():
        register(commands, _add_synthesis_options, _options)
    return parser


def _command_modules() -> list:
    """Subcommands that live beside the feature they drive (export, daemon...): each has ``register``."""
    import importlib

    return [importlib.import_module(name).register for name in _EXTRA_COMMANDS]


def read_text(args: argparse.Namespace) -> str | bytes:
    if args.text_file is not None:
        try:
            return args.text_file.read_bytes()
        except OSError as error:
            raise InvalidTextError(f"cannot read --text-file {args.text_file}: {error.strerror}") from error
    if args.text == "-":
        return sys.stdin.buffer.read()
    text: str = args.text
    try:  # argv arrives with undecodable bytes as surrogate escapes
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text


def _run_speak(args: argparse.Namespace) -> int:
    from .engine import Engine

    text = checked_text(read_text(args))
    options = _options(args).checked()
    engine = Engine(voice=args.voice)
    prepare_output(args)
    on_chunk = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(desc="synthesizing", unit="s", bar_format="{desc}: {n:.1f} s of audio [{elapsed}]")
        on_chunk = lambda chunk: progress.update(len(chunk.audio) / chunk.sample_rate)  # noqa: E731
    utterance = engine.speak(text, options, on_chunk=on_chunk)
    if on_chunk is not None:
        progress.close()
    return write_and_report(
        utterance, args, f"{utterance.duration_s:.2f} s of speech, {len(utterance.frames)} frames at {options.fps} fps")


def _run_voices(args: argparse.Namespace) -> int:
    from .errors import VoiceConfigError

    rows = []
    for info in list_voices():
        try:
            config = info.load_config()
            rows.append({"name": info.name, "model": str(info.model_path), "language": config.language,
                         "sample_rate": config.sample_rate, "speakers": config.num_speakers})
        except VoiceConfigError as error:
            rows.append({"name": info.name, "model": str(info.model_path), "error": str(error)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        detail = row.get("error") or f"{row['language']}, {row['sample_rate']} Hz, {row['speakers']} speaker(s)"
        print(f"{row['name']:<28} {detail}\n{'':<28} {row['model']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except AvatarLabError as error:
        print(f"avatarlab: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("avatarlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
