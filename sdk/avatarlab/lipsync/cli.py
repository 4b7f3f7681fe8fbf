"""``avatarlab lipsync``: recorded speech (+ optional transcript) -> WAV + curves JSON (+ CSV), like ``speak``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InvalidTextError

#: What a folder given to `avatarlab lipsync` is searched for (not recursively).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm")
EXIT_SOME_FAILED = 1

_HELP = """\
Animate recorded speech: decode AUDIO (WAV, FLAC, OGG, MP3... up to 10 minutes), find its phonemes with
pocketsphinx (forced alignment when you give the transcript, word recognition when you do not), and write
<name>.wav and <name>.json (and <name>.csv) exactly as `avatarlab speak` does. See docs/lipsync.md.
Without a transcript, the lips also close where the live network hears p/b/m that a misrecognized word lost
(--no-heard-closures: the recognizer's closures only; fewer closures, fewer false ones).
--live uses the streaming audio-to-viseme network of the live path instead (docs/live.md): no words, any
language's sounds; less accurate than recognition on real English speakers, more on synthetic voices.


Without --transcript(-file), a file's transcript is its line in --transcripts, else a same-named .txt beside
it (take_01.wav: take_01.txt), else its words are recognized. Many files, or a folder of them, are animated in
one run (the models load once; two files at a time on two cores); a file that fails is reported, the others
are still written, exit status 1.

examples:
  avatarlab lipsync line.wav --out out/ --transcript "Hello there, traveler!"
  avatarlab lipsync line.mp3 --out out/ --format csv --emotion happy
  avatarlab lipsync line.ogg --out out/ --live          # the live network, as if streamed
  avatarlab lipsync takes/ --out out/                   # every audio file in takes/, with takes/*.txt
  avatarlab lipsync a.wav b.ogg --out out/ --transcripts lines.csv   # CSV columns: file,transcript
For GLB animation of recorded lines, list them in a CSV with an `audio` column: avatarlab export --help.
"""


def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """How a recorded take is animated: --transcript / --transcript-file (alignment) or --live (the network);
    --no-heard-closures for recognition."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--transcript", help="what is said (improves timing; English words)")
    source.add_argument("--transcript-file", type=Path, help="read the transcript from a UTF-8 text file")
    source.add_argument("--live", action="store_true",
                        help="animate with the streaming network of the live path (no transcript, no words)")
    parser.add_argument("--no-heard-closures", action="store_true",
                        help="without a transcript, close the lips only where the recognized words have p/b/m; "
                        "by default the live network's closures are added where a misrecognized word lost them "
                        "(more closures shown, some false)")


def register(commands, add_synthesis_options, options_from_args) -> None:
    parser = commands.add_parser("lipsync", help="animate a recorded line (audio file -> WAV + curves)",
                                 description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", type=Path, nargs="+", help="the recorded line (any format ffmpeg reads); "
                        "several files, or a folder of them, are animated in one run")
    add_recording_options(parser)
    parser.add_argument("--transcripts", type=Path, metavar="CSV", help="the transcripts of many files: a CSV with "
                        "the columns file,transcript (file relative to the CSV's folder)")
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
    from ..errors import InvalidOptionError
    from ..options import SynthesisOptions

    options = SynthesisOptions(fps=args.fps, seed=args.seed, emotion=args.emotion,
                               emotion_intensity=args.intensity).checked()
    if args.live and args.transcripts is not None:
        raise InvalidOptionError("--transcripts is not allowed with --live (the network hears no words)")
    if args.live and args.no_heard_closures:
        raise InvalidOptionError("--no-heard-closures applies to recognition, not to --live (the network's closures "
                                 "are all it has)")
    if len(args.audio) == 1 and not args.audio[0].is_dir():
        return _run_one(args, options)
    return _run_batch(args, options)


def _how(args: argparse.Namespace, options):
    """What every take of this run shares (batch.HowToAnimate)."""
    from .batch import HowToAnimate

    return HowToAnimate(options, args.sample_rate, args.live, not args.no_heard_closures)


def _run_one(args: argparse.Namespace, options) -> int:
    """One file: any error is the command's (exit 2), as it always was."""
    from ..cli import prepare_output, write_and_report
    from ..output import name_from
    from .batch import Take, animate

    audio: Path = args.audio[0]
    transcript = _transcript(args)
    if transcript is None and not args.live:
        transcript = transcript_for(audio, read_transcripts(args.transcripts) if args.transcripts else {})
    args.name = args.name if args.name is not None else name_from(audio.stem)
    prepare_output(args)
    utterance, notes = animate(Take(audio, transcript), _how(args, options))
    for note in notes:
        print(f"avatarlab: warning: {note}", file=sys.stderr)
    return write_and_report(utterance, args, f"{utterance.duration_s:.2f} s of audio ({utterance.method}), "
                            f"{len(utterance.frames)} frames at {options.fps} fps; text: {utterance.text!r}")


def _run_batch(args: argparse.Namespace, options) -> int:
    """Many files in one process: usage problems stop it before any work (exit 2); a file that fails is
    reported, the others are written, and the exit status is 1."""
    import time

    from ..cli import prepare_output
    from ..errors import AvatarLabError, InvalidOptionError
    from ..output import name_from, write_utterance
    from .batch import Take, animate_many, failure_text

    if args.name is not None:
        raise InvalidOptionError("--name applies to one audio file; with several each is named after its file")
    if args.transcript is not None or args.transcript_file is not None:
        raise InvalidOptionError("--transcript and --transcript-file apply to one audio file; for several give a "
                                 "same-named .txt beside each, or --transcripts CSV")
    _check_sample_rate(args.sample_rate)
    files = batch_inputs(args.audio)
    names = _output_names(files, name_from)
    transcripts = read_transcripts(args.transcripts) if args.transcripts is not None else {}
    prepare_output(args)
    failures: list[tuple[Path, str]] = []
    audio_s, started = 0.0, time.perf_counter()
    bar = _progress(len(files), args.quiet)
    takes: list[Take] = []
    for audio in files:  # a transcript that cannot be read fails its file before any work
        try:
            takes.append(Take(audio, None if args.live else transcript_for(audio, transcripts)))
        except AvatarLabError as error:
            failures.append((audio, str(error)))
            if bar is not None:
                bar.update(1)
    name_of = dict(zip(files, names))
    try:
        for take, animated in animate_many(takes, _how(args, options)):
            if animated.utterance is None:
                failures.append((take.audio, animated.failure or "failed"))
            else:
                try:
                    paths = write_utterance(animated.utterance, args.out, name_of[take.audio],
                                            csv_too=args.format == "csv")
                except Exception as error:  # noqa: BLE001 - a file that cannot be written fails alone
                    failures.append((take.audio, failure_text(error)))
                else:
                    audio_s += animated.utterance.duration_s
                    _say(bar, args.quiet, [str(path) for path in paths], sys.stdout)
                    _say(bar, args.quiet, [f"avatarlab: warning: {take.audio}: {note}" for note in animated.notes],
                         sys.stderr)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - started
    if not args.quiet or failures:
        print(f"{len(files) - len(failures)} animated, {len(failures)} failed in {wall:.1f} s ({audio_s:.1f} s of "
              f"audio, {audio_s / max(wall, 1e-9):.0f}x real time)", file=sys.stderr)
        for audio, error in failures:
            print(f"  failed {audio}: {error}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else 0


def batch_inputs(paths: list[Path]) -> list[Path]:
    """The audio files to animate: files as given (a missing one fails on its own), folders' audio files
    (by AUDIO_SUFFIXES, not recursive, sorted by name). A folder without any is a usage error."""
    from ..errors import InvalidOptionError

    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not found:
            raise InvalidOptionError(f"folder {path} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
        files += found
    return files


def _output_names(files: list[Path], name_from) -> list[str]:
    """Each file's base output name (its stem); two files that would write the same name are a usage error."""
    from ..errors import InvalidOptionError

    names = [name_from(path.stem) for path in files]
    first: dict[str, Path] = {}
    for path, name in zip(files, names):
        if name in first:
            raise InvalidOptionError(f"{first[name]} and {path} would both write {name}.wav and {name}.json; "
                                     "rename one, or animate them into different --out folders")
        first[name] = path
    return names


def _check_sample_rate(rate: int) -> None:
    """--sample-rate once for the batch, not once per file."""
    from ..errors import InvalidOptionError
    from .audio_input import _MAX_RATE, _MIN_RATE

    if not _MIN_RATE <= rate <= _MAX_RATE:
        raise InvalidOptionError(f"--sample-rate must be from {_MIN_RATE} to {_MAX_RATE} Hz, got {rate}")


def _progress(total: int, quiet: bool):
    """A progress bar over the files on stderr, as `avatarlab export` shows (none with --quiet)."""
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="lip sync", file=sys.stderr, dynamic_ncols=True)


def _say(bar, quiet: bool, lines: list[str], stream) -> None:
    """Print above the progress bar without breaking it; warnings are printed even with --quiet."""
    for line in lines:
        if stream is sys.stdout and quiet:
            continue
        if bar is not None:
            bar.write(line, file=stream)
        else:
            print(line, file=stream)


def read_transcripts(path: Path) -> dict[Path, str]:
    """--transcripts: resolved audio path -> transcript, from a CSV with the columns file,transcript."""
    import csv

    from ..errors import InvalidOptionError

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
            columns = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InvalidOptionError(f"cannot read --transcripts {path} as a UTF-8 CSV: {error}") from error
    if not {"file", "transcript"} <= columns:
        raise InvalidOptionError(f"--transcripts {path} needs a header row with the columns file,transcript "
                                 f"(found: {', '.join(sorted(c for c in columns if c)) or 'no rows'})")
    return {(path.parent / row["file"].strip()).resolve(): row["transcript"] or ""
            for row in rows if (row["file"] or "").strip()}


def transcript_for(audio: Path, transcripts: dict[Path, str]) -> str | None:
    """The file's line in --transcripts, else the same-named .txt beside it, else None (recognition);
    checked like any text to speak (InvalidTextError)."""
    from ..options import checked_text

    transcript = transcripts.get(audio.resolve())
    beside = audio.with_suffix(".txt")
    if transcript is None and beside.is_file():
        try:
            transcript = beside.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidTextError(f"cannot read the transcript {beside} as UTF-8 text: {error}") from error
    if transcript is None or not transcript.strip():
        return None
    return checked_text(transcript.encode("utf-8", "surrogateescape"))
