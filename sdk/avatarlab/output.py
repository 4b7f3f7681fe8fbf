"""Writing an utterance to disk: WAV, the curves JSON, and a Live Link Face-style CSV.

Every file is written to a temporary name in the target folder and renamed
only when all of them are complete, so a failure leaves nothing half-written.
Every command that writes files goes through here, so they share one rule for file names
(`checked_name`) and one error for a folder that cannot be written (`OutputError`).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import tempfile
import unicodedata
import wave
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .channels import ARKIT_BLENDSHAPES, EYE_CHANNELS, HEAD_CHANNELS, OCULUS_VISEMES
from .errors import AvatarLabError, InvalidOptionError

if TYPE_CHECKING:  # the engine loads onnx: not for commands that only check a --name
    from .engine import Utterance

CURVES_FORMAT = "avatarlab.curves"
CURVES_VERSION = 1
_DECIMALS = 4
#: A base file name that stays inside the output folder and is not hidden: no separators, no "..", no leading dot.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class OutputError(AvatarLabError, OSError):
    """The output folder cannot be created or written (read-only, full, a file in its place...)."""


def slugify(text: str, limit: int = 48) -> str:
    """A file-name-safe name for a line of text: 'Hello there, traveler!' -> 'hello-there-traveler'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:limit].rstrip("-")
    return slug or "line"


def is_safe_name(name: str) -> bool:
    """True for 1 to 100 letters, digits, '.', '_' or '-' starting with a letter or digit."""
    return isinstance(name, str) and SAFE_NAME.fullmatch(name) is not None


def checked_name(name: str) -> str:
    """A base file name given by the user, or InvalidOptionError: a name like '../x' would write outside --out."""
    if not is_safe_name(name):
        raise InvalidOptionError(
            f"name {name!r} is not a plain file name: use 1 to 100 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit (for example {slugify(str(name))!r})", "name")
    return name


def name_from(raw: str) -> str:
    """A base file name derived from something the user did not choose as one (a CSV id, an audio file's stem):
    kept when safe, else its slug, so that derived names never need a retry."""
    return raw if is_safe_name(raw) else slugify(raw)


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono PCM WAV."""
    from .engine import to_pcm16

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(to_pcm16(audio).tobytes())
    return buffer.getvalue()


def _matrix(names: Iterable[str], values: np.ndarray) -> dict[str, Any]:
    return {"names": list(names), "frames": np.round(values.astype(np.float64), _DECIMALS).tolist()}


def curves_dict(utterance: Utterance, audio_file: str | None = None) -> dict[str, Any]:
    """The curves JSON document (schema in docs/curves-json.md); times in seconds."""
    sr = utterance.sample_rate
    seconds = lambda sample: round(sample / sr, 6)  # noqa: E731
    options = utterance.options
    frames = utterance.frames
    return {
        "format": CURVES_FORMAT,
        "version": CURVES_VERSION,
        "text": utterance.text,
        "voice": utterance.voice,
        "audio": audio_file,
        "fps": frames.fps,
        "sample_rate": sr,
        "num_samples": len(utterance.audio),
        "duration_s": seconds(len(utterance.audio)),
        "num_frames": len(frames),
        "seed": options.seed,
        "emotion": options.emotion,
        "emotion_intensity": options.emotion_intensity,
        "speed": options.speed,
        "phonemes": [
            {"symbol": p.symbol, "start": seconds(p.start), "end": seconds(p.end), "word_index": p.word_index,
             "stress": p.stress, "sentence": p.sentence_index}
            for p in utterance.timeline.phonemes
        ],
        "words": [
            {"text": w.text, "start": seconds(w.start), "end": seconds(w.end), "stressed": w.stressed,
             "sentence": w.sentence_index}
            for w in utterance.timeline.words
        ],
        "viseme_events": [
            {"viseme": v.viseme, "start": seconds(v.start), "end": seconds(v.end), "phoneme_index": v.phoneme_index}
            for v in utterance.visemes
        ],
        "visemes": _matrix(OCULUS_VISEMES, frames.visemes),
        "blendshapes": _matrix(ARKIT_BLENDSHAPES, frames.blendshapes),
        "head": _matrix(HEAD_CHANNELS, frames.head),
        "eyes": _matrix(EYE_CHANNELS, frames.eyes),
    }


def _live_link_timecode(frame: int, fps: int) -> str:
    seconds, frame_in_second = divmod(frame, fps)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frame_in_second:02d}.000"


def live_link_csv(utterance: Utterance) -> str:
    """Live Link Face's CSV layout: Timecode, BlendShapeCount, the 52 ARKit columns, head and eye rotations."""
    capital = lambda name: name[0].upper() + name[1:]  # noqa: E731
    rotation_names = ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                      "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    frames = utterance.frames
    head = {name: frames.head[:, i] for i, name in enumerate(HEAD_CHANNELS)}
    eyes = {name: frames.eyes[:, i] for i, name in enumerate(EYE_CHANNELS)}
    zeros = np.zeros(len(frames), dtype=np.float32)
    rotations = np.stack([
        head["headYaw"], head["headPitch"], head["headRoll"],
        eyes["leftEyeYaw"], eyes["leftEyePitch"], zeros,
        eyes["rightEyeYaw"], eyes["rightEyePitch"], zeros,
    ], axis=1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Timecode", "BlendShapeCount", *map(capital, ARKIT_BLENDSHAPES), *rotation_names])
    count = len(ARKIT_BLENDSHAPES) + len(rotation_names)
    for i in range(len(frames)):
        values = [f"{v:.{_DECIMALS}f}" for v in (*frames.blendshapes[i], *rotations[i])]
        writer.writerow([_live_link_timecode(frames.start_frame + i, frames.fps), count, *values])
    return out.getvalue()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _output_error(folder: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error)
    return OutputError(f"cannot write to output folder {folder}: {reason}; choose another folder"
                       + (" or free some space" if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else ""))


def check_writable(out_dir: Path) -> Path:
    """Create ``out_dir`` and prove a file can be made in it, so a read-only folder fails before any work."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".avatarlab-probe-", dir=out_dir)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise _output_error(out_dir, error) from error
    return out_dir


def write_files_atomically(files: Mapping[Path, bytes]) -> None:
    """Write every file to a temporary sibling, then rename all; on any error remove what was written.

    Raises OutputError (an AvatarLabError, so every command reports it the same way) when a folder cannot be
    created or written, or is full.
    """
    temporary: list[tuple[Path, Path]] = []
    folder = next(iter(files), Path(".")).parent
    try:
        for path, data in files.items():
            folder = path.parent
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            temporary.append((Path(name), path))
            os.fchmod(handle, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
        for name, path in temporary:
            folder = path.parent
            os.replace(name, path)
    except OSError as error:
        raise _output_error(folder, error) from error
    finally:
        for name, _ in temporary:
            name.unlink(missing_ok=True)


def write_utterance(utterance: Utterance, out_dir: Path, name: str | None = None, csv_too: bool = False) -> list[Path]:
    """Write <name>.wav and <name>.json (and <name>.csv) into ``out_dir``; returns the paths written.

    ``name`` must be a plain file name (`checked_name`); the default is a slug of the text.
    """
    name = checked_name(name) if name is not None else slugify(utterance.text)
    out_dir = Path(out_dir)
    wav_path, json_path = out_dir / f"{name}.wav", out_dir / f"{name}.json"
    files: dict[Path, bytes] = {
        wav_path: wav_bytes(utterance.audio, utterance.sample_rate),
        json_path: (json.dumps(curves_dict(utterance, wav_path.name), ensure_ascii=False) + "\n").encode("utf-8"),
    }
    if csv_too:
        files[out_dir / f"{name}.csv"] = live_link_csv(utterance).encode("utf-8")
    write_files_atomically(files)
    return list(files)
