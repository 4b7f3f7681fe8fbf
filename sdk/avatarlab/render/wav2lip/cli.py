"""``avatarlab render ... --wav2lip CHECKPOINT --face PHOTO_OR_VIDEO``: the Wav2Lip path of the render command.

render/cli.py adds the options and hands over here when any of them is given; this checks that the rest of the
command line fits a Wav2Lip render, speaks the text (or reads the take), renders, then runs sync-check on the
result and prints its offset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import InvalidOptionError

#: The 3D avatar render's picture options, with their defaults: none of them means anything to Wav2Lip.
_PICTURE = {"avatar": None, "profile": "auto", "size": "512x512", "background": None, "transparent": False,
            "camera": "head-shoulders", "antialias": "auto"}
DEVICES = ("auto", "cpu", "cuda")


def add_options(parser: argparse.ArgumentParser) -> None:
    """The Wav2Lip options of ``avatarlab render``."""
    group = parser.add_argument_group("wav2lip (a photo or video of a person instead of the 3D avatar; "
                                      "docs/wav2lip.md)")
    group.add_argument("--wav2lip", type=Path, metavar="CHECKPOINT",
                       help="a Wav2Lip checkpoint you bring (wav2lip.pth or wav2lip_gan.pth): lip-sync --face to the "
                            "line instead of rendering the avatar")
    group.add_argument("--face", type=Path, help="with --wav2lip: the face, a photo (.jpg, .png...) or a video "
                       "(looped or cut to the line's length)")
    group.add_argument("--loop", choices=("pingpong", "repeat"), default=None,
                       help="a --face video shorter than the line: play back and forth (pingpong, default) or start "
                            "over (repeat)")
    group.add_argument("--no-sync-check", action="store_true",
                       help="with --wav2lip: skip the sync-check run on the result")


def wanted(args: argparse.Namespace) -> bool:
    """Whether the command line asks for the Wav2Lip path (any of its options given)."""
    return args.wav2lip is not None or args.face is not None or args.loop is not None or args.no_sync_check


def _check(args: argparse.Namespace, source: str) -> None:
    """InvalidOptionError for any option that does not fit a Wav2Lip render."""
    if args.wav2lip is None:
        raise InvalidOptionError("--face, --loop and --no-sync-check apply to Wav2Lip renders: add --wav2lip "
                                 "CHECKPOINT", "wav2lip")
    if args.face is None:
        raise InvalidOptionError("--wav2lip needs --face PHOTO_OR_VIDEO: the person to lip-sync", "face")
    if source == "curves":
        raise InvalidOptionError("--wav2lip renders TEXT or an --audio take, not --curves", "curves")
    if args.transcript is not None or args.transcript_file is not None or args.live:
        raise InvalidOptionError("--transcript and --live make curves for the 3D avatar; --wav2lip uses the audio "
                                 "alone: drop them", "transcript")
    given = [name for name, default in _PICTURE.items() if getattr(args, name) != default]
    if args.format != "json":
        given.append("format")
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise InvalidOptionError(f"{flags} apply to the 3D avatar render, not to --wav2lip (the picture is --face)",
                                 given[0])
    if args.device not in DEVICES:
        raise InvalidOptionError(f"--device for --wav2lip is one of {', '.join(DEVICES)}, got {args.device!r}",
                                 "device")
    if not args.face.is_file():
        raise InvalidOptionError(f"--face {args.face} does not exist or is not a file; give a photo or a video of "
                                 "a face", "face")


def run(args: argparse.Namespace, source: str, options_from_args) -> int:
    """The Wav2Lip render of ``avatarlab render``: returns the exit code (errors raise AvatarLabError)."""
    from ...output import check_writable, checked_name, slugify
    from ..cli import _check_unused_options
    from .pipeline import Wav2LipRenderer

    _check(args, source)
    _check_unused_options(args, source)
    if args.name is not None:
        checked_name(args.name)
    renderer = Wav2LipRenderer(args.wav2lip, device=args.device)  # a bad checkpoint fails before any speech
    check_writable(args.out)
    if source == "text":
        from ...cli import read_text
        from ...engine import Engine
        from ...options import checked_text

        text = checked_text(read_text(args))
        utterance = Engine(voice=args.voice).speak(text, options_from_args(args).checked())
        audio, rate, name = utterance.audio, utterance.sample_rate, args.name or slugify(text)
    else:
        audio, rate, name = args.audio, None, args.name or args.audio.stem
    progress = not args.quiet and sys.stderr.isatty()
    result = renderer.render(args.face, audio, args.out / f"{name}.mp4", sample_rate=rate, fps=args.fps,
                             loop=args.loop or "pingpong", crf=args.crf, progress=progress)
    if not args.quiet:
        print(result.path)
        print(result.summary(), file=sys.stderr)
        if not args.no_sync_check:
            _sync_check(result.path)
    return 0


def _sync_check(path: Path) -> None:
    """Run sync-check on the render and print its offset; a video it cannot check is a warning, not an error."""
    from ...sync_check import SyncCheckError, sync_check

    try:
        result = sync_check(path)
    except SyncCheckError as error:
        print(f"avatarlab: warning: sync-check skipped: {error}", file=sys.stderr)
        return
    print(f"sync-check: {result.offset_ms:+.0f} ms (confidence {result.confidence:.2f})")
