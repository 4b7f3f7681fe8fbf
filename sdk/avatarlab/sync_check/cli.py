"""``avatarlab sync-check``: the audio-to-mouth offset of a talking-face video, in milliseconds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InvalidOptionError

_HELP = """\
Measure how far a talking-face video's sound is from its mouth. Runs MediaPipe's face mesh on every frame
(any video ffmpeg reads), measures the mouth opening (inner-lip gap over mouth width) and finds the lag that
best aligns it with the audio's loudness, or with the openings a transcript or curves JSON expects.
A positive offset means the sound comes after the mouth. See docs/sync-check.md.

examples:
  avatarlab sync-check out/line.mp4
  avatarlab sync-check take.mp4 --transcript "Halt! Who goes there?" --plot out/sync.png
  avatarlab sync-check out/line.mp4 --curves out/line.json --json
"""


def register(commands, add_synthesis_options, options_from_args) -> None:
    """Add the ``sync-check`` subcommand to the avatarlab CLI."""
    parser = commands.add_parser("sync-check", help="measure a video's audio-to-mouth offset (ms)",
                                 description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path, help="a talking-face video with audio")
    reference = parser.add_mutually_exclusive_group()
    reference.add_argument("--transcript", help="what the video says: compare with the openings its alignment expects")
    reference.add_argument("--curves", type=Path, help="a curves JSON (with its audio beside it) the video shows")
    parser.add_argument("--plot", type=Path, help="write a PNG of mouth opening against the audio and the lag search")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from .check import sync_check

    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise InvalidOptionError(f"--plot writes a PNG: give a .png path, not {args.plot}", "plot")
    if args.plot is not None and not args.plot.parent.is_dir():
        raise InvalidOptionError(f"--plot folder {args.plot.parent} does not exist", "plot")
    result = sync_check(args.video, transcript=args.transcript, curves=args.curves)
    if args.plot is not None:
        from .plot import write_plot

        try:
            write_plot(result, args.plot)
        except OSError as error:
            raise InvalidOptionError(f"cannot write --plot {args.plot}: {error.strerror}", "plot") from error
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(f"{result.offset_ms:+.0f} ms (confidence {result.confidence:.2f})")
        print(result.summary(), file=sys.stderr)
    return 0
