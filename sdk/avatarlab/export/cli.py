"""``avatarlab export`` (lines -> WAV + curves + GLB, in batch) and ``avatarlab avatar`` (write the default head)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..options import SynthesisOptions
from ..errors import InvalidOptionError
from ..render.settings import CAMERA_PRESETS, DEFAULT_BACKGROUND, DEFAULT_CAMERA, FPS_CHOICES, MAX_SIDE
from .columns import CSV_COLUMNS
from .retarget import AUTO, profile_names

EXIT_SOME_FAILED = 1
DEFAULT_AVATAR_OUT = Path("out/avatarlab_head.glb")
#: `avatarlab avatar --vrm-license` presets (avatarlab.photo_avatar.vrm.LICENSES; listed here so --help needs no import).
VRM_LICENSE_CHOICES = ("private", "open")

_EXPORT_HELP = f"""\
Export dialogue lines offline: for each line a WAV, the curves JSON (docs/curves-json.md) and a GLB with the
avatar and a glTF animation of its morph targets and head/eye rotations (docs/export.md); with --video also an
MP4 of the avatar saying it (H.264 + AAC, rendered offscreen on the CPU or a GPU, docs/render.md).

SOURCE is a line of text, or a .csv file with a header row and the columns
{', '.join(CSV_COLUMNS)} (each row needs text or audio; empty cells take the command-line options).
A row with `audio` (a WAV, FLAC, OGG or MP3 file; a relative path is relative to the CSV's folder) is
animated from that recording instead of being spoken by a voice, with the same output files: its text, if
any, is the transcript (better timing), without text the words are recognized. emotion (and --fps, --seed,
--intensity) apply to it; voice and speed only apply to TTS rows: giving them on a row with audio is an error.
Lines already exported with the same settings (and the same recording) are skipped, so an interrupted batch
resumes and a re-recorded take is redone; a video whose picture settings changed is rendered again from the
line's files without speaking it again.
Exit status: 0 all lines exported or already done, 1 some lines failed, 2 usage error.

example CSV (a TTS line, a recording with its transcript, a recording alone):
  id,text,voice,emotion,speed,audio
  greet_01,Hello there!,,happy,,
  gate_02,Open the gate.,,angry,,takes/gate_02.wav
  reply_03,,,,,takes/reply_03.flac

examples:
  avatarlab export "Hello there, traveler!" --out out/
  avatarlab export lines.csv --out out/ --jobs 2
  avatarlab export lines.csv --out out/ --avatar my_character.glb --profile auto
  avatarlab export lines.csv --out out/ --video --fps 30 --size 1280x720 --camera face
"""


def register(commands, add_synthesis_options, options_from_args) -> None:
    """Add the ``export`` and ``avatar`` subcommands to the avatarlab CLI."""
    export = commands.add_parser("export", help="export lines to WAV + curves JSON + glTF animation (GLB), in batch",
                                 description=_EXPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("source", help="a line of text, or a .csv file of lines")
    export.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    export.add_argument("--name", help="base file name for a single text line: letters, digits, '.', '_', '-' "
                        "(default: a slug of the text)")
    export.add_argument("--avatar", type=Path, help="animate this .glb instead of the default head")
    export.add_argument("--profile", choices=profile_names(), default=AUTO,
                        help="how our channels map onto the avatar's morph targets (default: auto, from its names)")
    export.add_argument("--jobs", type=int, help="worker processes (default: every core)")
    export.add_argument("--csv", action="store_true", help="also write a Live Link Face-style CSV per line")
    export.add_argument("--force", action="store_true", help="redo lines that are already exported")
    export.add_argument("--quiet", action="store_true", help="no progress bar or summary, only errors")
    video = export.add_argument_group("video (with --video)")
    video.add_argument("--video", action="store_true",
                       help="also render <name>.mp4 of the avatar saying each line; --fps is then the video's frame "
                       f"rate too: {', '.join(map(str, FPS_CHOICES))} (--fps 30 renders half the frames of the "
                       "default 60)")
    video.add_argument("--size", help=f"video WIDTHxHEIGHT, even, up to {MAX_SIDE} a side (default 512x512)")
    video.add_argument("--background", help=f"a colour (#rrggbb, default {DEFAULT_BACKGROUND}) or an image file")
    video.add_argument("--camera", choices=CAMERA_PRESETS,
                       help=f"framing, from the head's bounds (default {DEFAULT_CAMERA})")
    add_synthesis_options(export)
    export.set_defaults(run=lambda args: _run_export(args, options_from_args(args)))

    avatar = commands.add_parser("avatar", help="write the default avatar head (GLB or VRM 1.0), or make one from a "
                                 "photo",
                                 description="Write the default avatar (52 ARKit + 15 viseme morph targets, head and "
                                 "eye nodes) as a GLB, for clients that need a model out of the box: a head made "
                                 "from the public-domain astronaut portrait; --procedural writes the stylised head "
                                 "instead, --photo makes one from your own photo. Any of them is written as a VRM "
                                 "1.0 model (humanoid skeleton, VRM expressions aa ih ou ee oh, blinks, emotions, "
                                 "look directions, eye-bone look-at) with --vrm or an --out ending in .vrm "
                                 "(docs/photo-avatar.md, VRM 1.0).",
                                 epilog="examples:\n  avatarlab avatar --vrm                      # out/avatarlab_head.vrm"
                                 "\n  avatarlab avatar --procedural --out toon.vrm --vrm-license open"
                                 "\n  avatarlab avatar --photo me.jpg --vrm --vrm-name Jo --vrm-author \"Jo Maker\"",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    avatar.add_argument("--out", type=Path, help=f"file to write: .glb, or .vrm for a VRM 1.0 model (default "
                        f"{DEFAULT_AVATAR_OUT}, or {DEFAULT_AVATAR_OUT.with_suffix('.vrm')} with --vrm)")
    avatar.add_argument("--photo", type=Path, help="make the head from this frontal photo of a face instead "
                        "(textured, same morph targets and nodes; docs/photo-avatar.md)")
    avatar.add_argument("--procedural", action="store_true",
                        help="write the procedural stylised head (vertex colours, no texture) instead")
    vrm = avatar.add_argument_group("VRM 1.0 (with --vrm or --out X.vrm)")
    vrm.add_argument("--vrm", action="store_true", help="write a VRM 1.0 model (--out must then end in .vrm)")
    vrm.add_argument("--vrm-name", help="the model's name in its VRM meta (default: the photo's file name, "
                     "or 'avatarlab default head' / 'avatarlab procedural head')")
    vrm.add_argument("--vrm-author", action="append", help="an author in the VRM meta; repeat for several "
                     "(default: the avatarlab command that made it)")
    vrm.add_argument("--vrm-license", choices=VRM_LICENSE_CHOICES,
                     help="usage terms under the VRM Public License 1.0: private = only the author may wear it, "
                     "personal non-profit use, no redistribution or changes, credit required (default for --photo "
                     "and the default head: both show a real person's likeness); open = anyone may wear, sell, "
                     "change and pass it on, no credit needed (default for --procedural). Violent, sexual, "
                     "political/religious and hateful use stay disallowed in both")
    avatar.set_defaults(run=_run_avatar)


def _load_avatar(path: Path | None) -> tuple[bytes, str]:
    from ..avatar import default_avatar_glb
    from .batch import ExportError
    from ..avatar.gltf import read_glb

    if path is None:
        return default_avatar_glb(), "default"
    try:
        data = path.read_bytes()
        read_glb(data)
    except OSError as error:
        raise ExportError(f"cannot read --avatar {path}: {error.strerror}") from error
    except Exception as error:  # noqa: BLE001 - any parse failure is a usage error
        raise ExportError(f"--avatar {path} is not a usable GLB: {error}") from error
    return data, path.name


def _lines(args: argparse.Namespace, options: SynthesisOptions) -> list:
    from .batch import ExportError, Line, read_csv_lines

    source = args.source
    if source.lower().endswith(".csv"):
        if args.name:
            raise ExportError("--name applies to a single text line, not to a CSV of lines")
        return read_csv_lines(Path(source), options, args.voice)
    from ..options import checked_text
    from ..output import checked_name, slugify

    text = checked_text(source.encode("utf-8", "surrogateescape"))
    return [Line(checked_name(args.name) if args.name is not None else slugify(text), text, args.voice, options)]


def _run_export(args: argparse.Namespace, options: SynthesisOptions) -> int:
    from ..avatar.gltf import read_glb
    from .batch import ExportError, Settings, run_batch
    from .glb import inspect_avatar

    from ..voice import resolve_voice

    options = options.checked()
    if args.jobs is not None and args.jobs < 1:
        raise ExportError("--jobs must be 1 or more")
    if args.voice is not None:
        resolve_voice(args.voice)  # an unknown --voice fails once, with the list of voices, not on every row
    lines = _lines(args, options)
    avatar, label = _load_avatar(args.avatar)
    info = inspect_avatar(read_glb(avatar), args.profile)
    video = _video_options(args, options.fps, avatar, info.profile.name)
    if not args.quiet:
        print(f"avatar {label}: profile {info.profile.name}, {sum(len(m) for m in info.meshes.values())} targets "
              f"on {len(info.meshes)} mesh(es)", file=sys.stderr)
    for note in info.warnings():
        print(f"avatarlab: warning: {note}", file=sys.stderr)
    settings = Settings(args.out, avatar, label, info.profile.name, args.csv, args.force, video)
    summary = run_batch(lines, settings, args.jobs, progress=not args.quiet)
    if not args.quiet or summary.failed:
        print(summary.text(), file=sys.stderr)
    if summary.interrupted:
        return 130
    return EXIT_SOME_FAILED if summary.failed else 0


def _video_options(args: argparse.Namespace, fps: int, avatar: bytes, profile: str):
    """With --video: the checked picture settings, after proving the avatar can be drawn and OpenGL is there, so
    a bad option, avatar or setup fails once, up front (exit 2), not on every line. Without: None, and the video
    options are refused."""
    given = [f"--{name}" for name in ("size", "background", "camera") if getattr(args, name) is not None]
    if not args.video:
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise InvalidOptionError(f"{', '.join(given)} only {verb} with --video (the MP4 of each line)")
        return None
    from ..render import Avatar
    from ..render.context import create_context
    from ..render.settings import parse_size
    from .video import video_options

    options = video_options(parse_size(args.size or "512x512"), fps, args.background or DEFAULT_BACKGROUND,
                            args.camera or DEFAULT_CAMERA, profile)
    Avatar.load(avatar, profile)  # an avatar the renderer cannot drive is refused here, with what it expected
    create_context(options.render.device).release()
    return options


def _avatar_vrm_meta(args: argparse.Namespace):
    """The VRM meta the avatar options ask for, or None when the avatar is written as a GLB (then any --vrm-*
    option is a usage error). Checked before any slow work."""
    from .batch import ExportError

    given = [f"--{name.replace('_', '-')}" for name in ("vrm_name", "vrm_author", "vrm_license")
             if getattr(args, name) is not None]
    if args.photo is not None and args.procedural:
        raise ExportError("--photo makes a head from the photo; --procedural writes the stylised head: give one of them")
    if args.out is None:
        args.out = DEFAULT_AVATAR_OUT.with_suffix(".vrm") if args.vrm else DEFAULT_AVATAR_OUT
    suffix = args.out.suffix.lower()
    if args.vrm and suffix != ".vrm":
        raise ExportError(f"--vrm writes a VRM 1.0 file: --out {args.out} must end in .vrm")
    if suffix != ".vrm":
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ExportError(f"{', '.join(given)} only {verb} to a VRM (--vrm, or an --out ending in .vrm)")
        return None
    from ..photo_avatar.vrm import VrmMeta

    if args.photo is not None:
        kind, name = "--photo", args.photo.stem
    elif args.procedural:
        kind, name = "--procedural", "avatarlab procedural head"
    else:
        kind, name = "", "avatarlab default head"
    authors = [author.strip() for author in args.vrm_author or [] if author.strip()]
    if args.vrm_author is not None and not authors:
        raise ExportError("--vrm-author must name someone")
    if args.vrm_name is not None and not args.vrm_name.strip():
        raise ExportError("--vrm-name must not be empty")
    meta = VrmMeta(args.vrm_name.strip() if args.vrm_name else name,
                   authors=authors or [f"avatarlab avatar {kind}".strip()],
                   license=args.vrm_license or ("open" if args.procedural else "private"))
    if args.photo is not None:
        meta.copyright_information = f"made from the photo {args.photo.name}"
    return meta


def _run_avatar(args: argparse.Namespace) -> int:
    from ..avatar import default_avatar_glb, procedural_avatar_glb
    from ..output import write_files_atomically

    meta = _avatar_vrm_meta(args)
    if args.photo is not None:
        from ..photo_avatar import write_photo_avatar

        for note in write_photo_avatar(args.photo, args.out, meta):
            print(f"avatarlab: {note}", file=sys.stderr)
        print(args.out)
        return 0
    glb = procedural_avatar_glb() if args.procedural else default_avatar_glb()
    if meta is not None:
        from ..photo_avatar.vrm import vrm_from_glb

        glb = vrm_from_glb(glb, meta)
    write_files_atomically({args.out: glb})
    print(args.out)
    return 0
