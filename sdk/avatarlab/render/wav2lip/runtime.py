"""Run the Wav2Lip generator with onnxruntime from the user's checkpoint (its ONNX export cached: onnx_export.py).

    model = Wav2LipModel.load("wav2lip_gan.pth", device="auto")
    faces_out = model.predict(faces, mels)   # (n, 6, 96, 96), (n, 1, 80, 16) float32 -> (n, 3, 96, 96) in [0, 1]

Once the export is cached, loading and running need no torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import onnx_export
from .checkpoint import checked_path
from .errors import DeviceError, InferenceInputError
from .spec import FACE_CHANNELS, FACE_SIZE, MEL_BANDS, MEL_STEPS, OUT_CHANNELS

DEVICES = ("auto", "cpu", "cuda")
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEFAULT_BATCH = 32


def providers_for(device: str) -> list[str]:
    """onnxruntime providers for `device`: cuda needs onnxruntime-gpu and a GPU, auto takes CUDA when it is there."""
    import onnxruntime as ort

    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    available = ort.get_available_providers()
    if device == "cuda" and CUDA not in available:
        raise DeviceError("device 'cuda' needs onnxruntime-gpu (pip install onnxruntime-gpu) and a CUDA GPU; "
                          f"this onnxruntime offers {', '.join(available)}: use --device cpu or auto")
    if device in ("cuda", "auto") and CUDA in available:
        return [CUDA, CPU]
    return [CPU]


def _session(path: Path, providers: list[str]) -> Any | None:
    """An inference session on the file, or None when onnxruntime cannot read it (a damaged cache entry)."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), providers=providers)
    except Exception:  # noqa: BLE001 - a file onnxruntime cannot read is not a usable cache entry; re-export
        return None


def _checked(name: str, array: Any, tail: tuple[int, ...]) -> np.ndarray:
    """`array` as a C-contiguous float32 (n, *tail) array, or a clear error."""
    try:
        values = np.ascontiguousarray(array, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise InferenceInputError(f"{name} must be a float32 array of shape (n, {', '.join(map(str, tail))}): "
                                  f"{error}") from error
    if values.ndim != 1 + len(tail) or values.shape[1:] != tail:
        raise InferenceInputError(f"{name} must have shape (n, {', '.join(map(str, tail))}), got {values.shape}")
    if not np.isfinite(values).all():
        raise InferenceInputError(f"{name} holds NaN or infinite values")
    return values


class Wav2LipModel:
    """The generator as an onnxruntime session: `predict(faces, mels)` in batches of `batch_size`."""

    def __init__(self, session: Any, onnx_path: Path, checkpoint: Path, sha256: str, exported: bool,
                 batch_size: int = DEFAULT_BATCH) -> None:
        self.session = session
        self.onnx_path = onnx_path
        self.checkpoint = checkpoint
        self.sha256 = sha256
        self.exported = exported  # whether this load exported the checkpoint (False: the cached export was used)
        self.batch_size = batch_size
        self.providers: list[str] = list(session.get_providers())
        self.device = "cuda" if self.providers and self.providers[0] == CUDA else "cpu"

    @classmethod
    def load(cls, checkpoint: str | os.PathLike[str], device: str = "auto",
             batch_size: int = DEFAULT_BATCH) -> Wav2LipModel:
        """The model for this checkpoint: its cached ONNX export if valid, else a fresh export (needs torch)."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InferenceInputError(f"batch_size must be a positive integer, got {batch_size!r}")
        providers = providers_for(device)
        path = checked_path(checkpoint)
        sha256 = onnx_export.file_sha256(path)
        targets = onnx_export.candidates(path, sha256)
        for target in targets:
            session = _session(target, providers) if target.is_file() else None
            if session is not None and onnx_export.matches(dict(session.get_modelmeta().custom_metadata_map), sha256):
                return cls._made(session, target, path, sha256, False, batch_size, device)
        written = onnx_export.export_onnx(path, sha256, targets)
        session = _session(written, providers)
        if session is None:  # pragma: no cover - we just wrote it; only a broken onnxruntime gets here
            raise DeviceError(f"onnxruntime cannot open the exported model {written}")
        return cls._made(session, written, path, sha256, True, batch_size, device)

    @classmethod
    def _made(cls, session: Any, onnx_path: Path, checkpoint: Path, sha256: str, exported: bool, batch_size: int,
              device: str) -> Wav2LipModel:
        """The model, after checking an explicit 'cuda' really got the CUDA provider (it can fall back silently)."""
        model = cls(session, onnx_path, checkpoint, sha256, exported, batch_size)
        if device == "cuda" and model.device != "cuda":
            raise DeviceError(f"onnxruntime could not start CUDA (providers in use: {', '.join(model.providers)}); "
                              "check the CUDA and cuDNN libraries onnxruntime-gpu needs, or use --device cpu")
        return model

    def predict(self, faces: np.ndarray, mels: np.ndarray) -> np.ndarray:
        """faces (n, 6, 96, 96) and mels (n, 1, 80, 16), float32 -> faces (n, 3, 96, 96) float32 in [0, 1]."""
        faces = _checked("faces", faces, (FACE_CHANNELS, FACE_SIZE, FACE_SIZE))
        mels = _checked("mels", mels, (1, MEL_BANDS, MEL_STEPS))
        if len(faces) != len(mels):
            raise InferenceInputError(f"faces and mels must have the same length, got {len(faces)} and {len(mels)}")
        out = np.empty((len(faces), OUT_CHANNELS, FACE_SIZE, FACE_SIZE), dtype=np.float32)
        for start in range(0, len(faces), self.batch_size):
            stop = start + self.batch_size
            feeds = {onnx_export.INPUT_MEL: mels[start:stop], onnx_export.INPUT_FACE: faces[start:stop]}
            out[start:stop] = self.session.run([onnx_export.OUTPUT], feeds)[0]
        return out

    def __repr__(self) -> str:
        return f"Wav2LipModel({str(self.checkpoint)!r}, device={self.device!r}, onnx={str(self.onnx_path)!r})"
