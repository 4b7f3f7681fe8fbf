"""``avatarlab lipsync``: recorded speech (+ optional transcript) -> WAV + curves JSON (+ CSV), like ``speak``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..errors import InvalidTextError

_HELP = """\
Animate recorded speech: decode AUDIO (WAV, FLAC, OGG, MP3... up to 10 minutes), find its phonemes with
pocketsphinx (forced alignment when you give the transcript, phone recognition when you do not), and write
<name>.wav and <name>.json (and <name>.csv) exactly as `avatarlab speak` does. See docs/lipsync.md.
--live uses the streaming audio-to-viseme network of the live path instead (docs/live.md): no words,
any language's sounds, and more accurate visemes than recognition on the voices we measured.

examples:
  avatarlab lipsync line.wav --out out/ --transcript "Hello there, traveler!"
  avatarlab lipsync line.mp3 --out out/ --format csv --emotion happy
  avatarlab lipsync line.ogg --out out/ --live          # the live network, as if streamed
For GLB animation of recorded lines, list them in a CSV with an `audio` column: avatarlab export --help.
"""


def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """How a recorded take is animated: --transcript / --transcript-file (alignment) or --live (the network)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--transcript", help="what is said (improves timing; English words)")
    source.add_argument("--transcript-file", type=Path, help="read the transcript from a UTF-8 text file")
    source.add_argument("--live", action="store_true",
                        help="animate with the streaming network of the live path (no transcript, no words)")


def register(commands, add_synthesis_options, options_from_args) -> None:
    parser = commands.add_parser("lipsync", help="animate a recorded line (audio file -> WAV + curves)",
                                 description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", type=Path, help="the recorded line (any format ffmpeg reads)")
    add_recording_options(parser)
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    parser.add_argument("--name", help="base file name: letters, digits, '.', '_', '-' (default: the audio file's "
                        "name, or its slug)")
    parser.add_argument("--format", choices=("json", "csv"), default="json",
                        help="json: WAV + curves JSON (default); csv: also a Live Link Face-style CSV")
    parser.add_argument("--sample-rate", type=int, default=22050, help="rate of the written WAV (default 22050)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    group = parser.add_argument_group("animation")
    group.add_argument("--fps", type=int, default=60, help="animation frames per second, 24 to 120 (default 60)")
    group.add_argument("--seed", type=int, default=0, help="same seed, same animation (default 0)")
    from ..options import EMOTIONS

    group.add_argument("--emotion", choices=EMOTIONS, default="neutral", help="expression blended over speech")
    group.add_argument("--intensity", type=float, default=1.0, help="emotion intensity, 0 to 1 (default 1)")
    parser.set_defaults(run=_run)


def _transcript(args: argparse.Namespace) -> str | None:
    """The transcript, checked like any text to speak (a blank one means none: the words are recognized)."""
    from ..options import checked_text

    if args.transcript_file is None:
        transcript = args.transcript
    else:
        try:
            transcript = args.transcript_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidTextError(f"cannot read --transcript-file {args.transcript_file} as UTF-8 text: {error}; "
                                   "check the path and encoding") from error
    if transcript is None or not transcript.strip():
        return transcript
    return checked_text(transcript.encode("utf-8", "surrogateescape"))


def _run(args: argparse.Namespace) -> int:
    from ..cli import prepare_output, write_and_report
    from ..options import SynthesisOptions
    from ..output import name_from
    from .pipeline import lipsync

    transcript = _transcript(args)
    options = SynthesisOptions(fps=args.fps, seed=args.seed, emotion=args.emotion,
                               emotion_intensity=args.intensity).checked()
    args.name = args.name if args.name is not None else name_from(args.audio.stem)
    prepare_output(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.live:
            from ..live.offline import animate_recording
            from .audio_input import load_audio

            utterance = animate_recording(load_audio(args.audio, args.sample_rate), args.sample_rate, options)
        else:
            utterance = lipsync(args.audio, transcript, options, sample_rate=args.sample_rate)
    for warning in caught:
        print(f"avatarlab: warning: {warning.message}", file=sys.stderr)
    return write_and_report(utterance, args, f"{utterance.duration_s:.2f} s of audio ({utterance.method}), "
                            f"{len(utterance.frames)} frames at {options.fps} fps; text: {utterance.text!r}")
