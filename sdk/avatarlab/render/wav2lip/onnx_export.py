"""Export a checkpoint's generator to ONNX once, cached by the checkpoint's SHA-256, so later runs need no torch.

The cache file sits beside the checkpoint (`<stem>.<sha256[:16]>.v<code version>.onnx`), or in the user cache
directory when the checkpoint's folder is not writable ($AVATARLAB_CACHE_DIR, else $XDG_CACHE_HOME/avatarlab/wav2lip,
else ~/.cache/avatarlab/wav2lip). The file carries the full hash and the code version in its metadata and is only
used when both match; it is written to a temporary file in the same folder and renamed, so a crash or a second
process never leaves a half-written model under the final name.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path

from .checkpoint import load_generator, require_torch
from .errors import Wav2LipError
from .spec import FACE_CHANNELS, FACE_SIZE, MEL_BANDS, MEL_STEPS, MODEL_CODE_VERSION

OPSET = 17
INPUT_FACE = "face"
INPUT_MEL = "mel"
OUTPUT = "face_out"
META_SHA256 = "avatarlab.wav2lip.checkpoint_sha256"
META_VERSION = "avatarlab.wav2lip.code_version"
CACHE_ENV = "AVATARLAB_CACHE_DIR"
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The file's SHA-256 in hex, read in 1 MiB chunks (checkpoints are ~140-420 MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def user_cache_dir() -> Path:
    """The folder used when a checkpoint's own folder is not writable."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser() / "wav2lip"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "avatarlab" / "wav2lip"


def cache_name(checkpoint: Path, sha256: str) -> str:
    """The cache file's name: the checkpoint's stem, its hash and the code version."""
    return f"{checkpoint.stem}.{sha256[:16]}.v{MODEL_CODE_VERSION}.onnx"


def candidates(checkpoint: Path, sha256: str) -> list[Path]:
    """Where a cached export may be, in the order they are looked up (and written)."""
    name = cache_name(checkpoint, sha256)
    return [checkpoint.parent / name, user_cache_dir() / name]


def matches(metadata: dict[str, str], sha256: str) -> bool:
    """Whether an ONNX file's custom metadata says it is our export of this checkpoint by this code version."""
    return metadata.get(META_SHA256) == sha256 and metadata.get(META_VERSION) == str(MODEL_CODE_VERSION)


def export_bytes(checkpoint: Path, sha256: str) -> bytes:
    """The generator with the checkpoint's weights as an ONNX model (dynamic batch axis), metadata included."""
    torch = require_torch()
    import onnx

    model = load_generator(checkpoint)
    mel = torch.zeros(1, 1, MEL_BANDS, MEL_STEPS)
    face = torch.zeros(1, FACE_CHANNELS, FACE_SIZE, FACE_SIZE)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice: it needs no onnxscript
        torch.onnx.export(model, (mel, face), buffer, input_names=[INPUT_MEL, INPUT_FACE], output_names=[OUTPUT],
                          dynamic_axes={INPUT_MEL: {0: "batch"}, INPUT_FACE: {0: "batch"}, OUTPUT: {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    for key, value in ((META_SHA256, sha256), (META_VERSION, str(MODEL_CODE_VERSION)),
                       ("avatarlab.wav2lip.checkpoint_name", checkpoint.name)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = "Wav2Lip generator exported by avatarlab from the user's checkpoint (docs/wav2lip.md)"
    return proto.SerializeToString()


def write_atomic(data: bytes, target: Path) -> None:
    """Write to a temporary file in the target's folder, flush it to disk, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # a temporary file is private (0600); the export is no secret
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def export_onnx(checkpoint: Path, sha256: str, targets: list[Path]) -> Path:
    """Export once and write to the first target folder that accepts it; a clear error if none does."""
    data = export_bytes(checkpoint, sha256)
    failures = []
    for target in targets:
        try:
            write_atomic(data, target)
            return target
        except OSError as error:
            failures.append(f"{target.parent}: {error.strerror or error}")
    raise Wav2LipError("cannot write the ONNX export of the checkpoint: " + "; ".join(failures)
                       + f" (set {CACHE_ENV} to a writable folder)")
