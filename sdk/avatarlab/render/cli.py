"""``avatarlab render``: a line of text, a recorded take or curves made earlier -> a video of the avatar saying it."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..errors import InvalidOptionError
from ..lipsync.cli import add_recording_options
from .settings import (
    ANTIALIAS_CHOICES, CAMERA_PRESETS, DEFAULT_BACKGROUND, DEFAULT_CAMERA, DEFAULT_FPS, FPS_CHOICES, MAX_SIDE,
)

_HELP = """\
Render a video of an avatar saying a line, offscreen (no display, no GPU needed: OpenGL through EGL on Mesa's
llvmpipe, or a GPU when EGL offers one). Writes <name>.mp4 (H.264 + AAC; with --transparent <name>.webm,
VP9 with alpha + Vorbis) and, for text and --audio, the usual <name>.wav and <name>.json beside it.
Frame i shows the curves at i / fps seconds of the audio; the audio is muxed sample for sample. See docs/render.md.

sources (one of):
  TEXT / --text-file F          speak the line with the voice (as `avatarlab speak`)
  --audio TAKE [--transcript T | --transcript-file F | --live]
                                animate a recorded take (as `avatarlab lipsync`)
  --curves LINE.json [--audio LINE.wav]
                                curves made earlier (speak, lipsync, export or your own, docs/curves-json.md);
                                the audio defaults to the file the JSON names beside it

examples:
  avatarlab render "Halt! Who goes there?" --out out/
  avatarlab render --audio take.wav --transcript "Halt! Who goes there?" --out out/ --camera face
  avatarlab render --curves out/line.json --size 1920x1080 --fps 25 --background studio.jpg
  avatarlab render "Over here!" --avatar my_character.vrm --transparent --out out/
  avatarlab render "Welcome back, captain." --wav2lip wav2lip_gan.pth --face portrait.jpg --out out/
"""
#: Synthesis options that only apply when a voice speaks text.
_TTS_ONLY = {"voice": None, "speed": 1.0, "noise_scale": None, "noise_w": None, "speaker": None,
             "sentence_silence": 0.0}
_ANIMATION = {"seed": 0, "emotion": "neutral", "intensity": 1.0}


def _retune_fps(parser: argparse.ArgumentParser) -> None:
    """The shared --fps (24..120 for curves) becomes the video rate: one of FPS_CHOICES, default 30."""
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public way to edit an added option
        if action.dest == "fps":
            action.choices = FPS_CHOICES
            action.default = DEFAULT_FPS
            action.help = f"video frames per second: {', '.join(map(str, FPS_CHOICES))} (default {DEFAULT_FPS})"


def register(commands, add_synthesis_options, options_from_args) -> None:
    """Add the ``render`` subcommand to the avatarlab CLI."""
    parser = commands.add_parser("render", help="render a video of the avatar saying a line (MP4, or WebM with alpha)",
                                 description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", nargs="?", help="the line to speak ('-' reads standard input)")
    parser.add_argument("--text-file", type=Path, help="read the line from a UTF-8 text file")
    parser.add_argument("--audio", type=Path, help="a recorded take (any format ffmpeg reads), or the audio of --curves")
    parser.add_argument("--curves", type=Path, help="render a curves JSON made earlier")
    add_recording_options(parser)  # for --audio takes, as avatarlab lipsync has them
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    parser.add_argument("--name", help="base file name (default: a slug of the text, or the audio/curves file's name)")
    parser.add_argument("--format", choices=("json", "csv"), default="json",
                        help="side files for text and --audio: json: WAV + curves JSON (default); csv: also a CSV")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary, only errors")
    look = parser.add_argument_group("picture")
    look.add_argument("--avatar", type=Path, help="a .glb, .vrm or .gltf avatar (default: the default head)")
    from ..export.retarget import profile_names

    look.add_argument("--profile", choices=profile_names(), default="auto",
                      help="how our channels map onto the avatar's morph targets (default: auto, from its names)")
    look.add_argument("--size", default="512x512", help=f"WIDTHxHEIGHT, even, up to {MAX_SIDE} a side (default 512x512)")
    look.add_argument("--background", default=None,
                      help=f"a colour (#rrggbb, default {DEFAULT_BACKGROUND}) or an image file (scaled to cover)")
    look.add_argument("--transparent", action="store_true", help="no background: WebM (VP9 with alpha) instead of MP4")
    look.add_argument("--camera", choices=CAMERA_PRESETS, default=DEFAULT_CAMERA,
                      help=f"framing, from the head's bounds (default {DEFAULT_CAMERA})")
    look.add_argument("--crf", type=int, help="quality: H.264 CRF 0-51 (default 18) or VP9 CRF 0-63 (default 30); "
                      "lower is better and bigger")
    look.add_argument("--antialias", choices=ANTIALIAS_CHOICES, default="auto",
                      help="auto (default): MSAA 4x on a GPU, FXAA on the CPU renderer")
    look.add_argument("--device", default="auto",
                      help="OpenGL device: auto (a GPU when EGL offers one, default), cpu, or an EGL device number; "
                      "with --wav2lip: auto, cpu or cuda (onnxruntime)")
    from .wav2lip.cli import add_options as add_wav2lip_options

    add_wav2lip_options(parser)
    add_synthesis_options(parser)
    _retune_fps(parser)
    parser.set_defaults(run=lambda args: _run(args, options_from_args))


def _source(args: argparse.Namespace) -> str:
    """Which source the arguments name: text, audio or curves; InvalidOptionError for none or several."""
    text = args.text is not None or args.text_file is not None
    if args.text is not None and args.text_file is not None:
        raise InvalidOptionError("give the line as TEXT or --text-file, not both")
    if args.curves is not None:
        if text:
            raise InvalidOptionError("give TEXT, --audio or --curves, not several")
        if _take_options(args):
            raise InvalidOptionError("--transcript, --live and --no-heard-closures apply to --audio takes, not to "
                                     "--curves")
        return "curves"
    if text and args.audio is not None:
        raise InvalidOptionError("give TEXT or --audio, not both (to use the text as the take's transcript: "
                                 "--transcript)")
    if args.audio is not None:
        return "audio"
    if text:
        if _take_options(args):
            raise InvalidOptionError("--transcript, --live and --no-heard-closures apply to --audio takes, not to "
                                     "text")
        return "text"
    raise InvalidOptionError("nothing to render: give TEXT, --text-file, --audio TAKE or --curves LINE.json")


def _check_unused_options(args: argparse.Namespace, source: str) -> None:
    unused = dict(_TTS_ONLY) if source != "text" else {}
    if source == "curves":
        unused.update(_ANIMATION)
    given = [name for name, default in unused.items() if getattr(args, name) != default]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        where = "when speaking text" if source == "audio" else "when making curves (text or --audio), not to --curves"
        raise InvalidOptionError(f"{flags} only apply {where}")


def _settings(args: argparse.Namespace):
    from .settings import Background, RenderSettings, parse_size

    if args.transparent and args.background is not None:
        raise InvalidOptionError("--transparent has no background: drop --background or --transparent", "background")
    background = Background.parse(args.background if args.background is not None else DEFAULT_BACKGROUND)
    return RenderSettings(size=parse_size(args.size), fps=args.fps, background=background,
                          transparent=args.transparent, camera=args.camera, crf=args.crf, antialias=args.antialias,
                          profile=args.profile, device=args.device).checked()


def _take_options(args: argparse.Namespace) -> bool:
    """Whether any option that only an --audio take uses was given."""
    return args.transcript is not None or args.transcript_file is not None or args.live or args.no_heard_closures


def _transcript(args: argparse.Namespace) -> str | None:
    from ..lipsync.cli import _transcript as read_transcript

    return read_transcript(args)


def _make_line(args: argparse.Namespace, source: str, options_from_args, settings):
    """(utterance or None, curves, base name) for the source; speaking and lip sync run here."""
    from dataclasses import replace

    from ..output import slugify
    from .curves import Curves, load_curves

    if source == "curves":
        return None, load_curves(args.curves, args.audio), args.name or args.curves.stem
    options = replace(options_from_args(args), fps=settings.fps).checked()
    if source == "text":
        from ..cli import read_text
        from ..engine import Engine
        from ..options import checked_text

        text = checked_text(read_text(args))
        utterance = Engine(voice=args.voice).speak(text, options)
        return utterance, Curves.from_utterance(utterance, "line"), args.name or slugify(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.live:
            from ..lipsync import DEFAULT_SAMPLE_RATE, load_audio
            from ..live.offline import animate_recording

            audio = load_audio(args.audio, DEFAULT_SAMPLE_RATE)
            utterance = animate_recording(audio, DEFAULT_SAMPLE_RATE, options)
        else:
            from ..lipsync import lipsync

            utterance = lipsync(args.audio, _transcript(args), options, hear_closures=not args.no_heard_closures)
    for warning in caught:
        print(f"avatarlab: warning: {warning.message}", file=sys.stderr)
    return utterance, Curves.from_utterance(utterance, args.audio.stem), args.name or args.audio.stem


def _run(args: argparse.Namespace, options_from_args) -> int:
    from ..output import check_writable, write_utterance
    from .avatar import Avatar
    from .video import render_video

    source = _source(args)
    from .wav2lip.cli import run as run_wav2lip, wanted as wav2lip_wanted

    if wav2lip_wanted(args):
        return run_wav2lip(args, source, options_from_args)
    _check_unused_options(args, source)
    settings = _settings(args)
    avatar = Avatar.load(args.avatar, settings.profile)  # a bad avatar fails before any speech is made
    if not args.quiet:
        print(f"avatar {avatar.label}: {avatar.rig.describe()}", file=sys.stderr)
    for note in avatar.warnings():
        print(f"avatarlab: warning: {note}", file=sys.stderr)
    check_writable(args.out)
    if args.audio is not None and source == "audio" and args.name is None:
        if (args.out / f"{args.audio.stem}.wav").resolve() == args.audio.resolve():
            raise InvalidOptionError(f"writing {args.audio.stem}.wav into {args.out} would replace the take itself; "
                                     "choose another --out or --name")
    utterance, curves, name = _make_line(args, source, options_from_args, settings)
    video = args.out / f"{name}{settings.video_suffix}"
    result = render_video(curves, video, settings, avatar=avatar, progress=not args.quiet and sys.stderr.isatty())
    paths = [result.path]
    if utterance is not None:
        paths += write_utterance(utterance, args.out, name, csv_too=args.format == "csv")
    if not args.quiet:
        for path in paths:
            print(path)
        print(result.summary(), file=sys.stderr)
    return 0
