"""Errors of the Wav2Lip render: each says what is wrong and what to do next (the CLI prints them, exit code 2)."""

from __future__ import annotations

from ..errors import RenderError


class Wav2LipError(RenderError):
    """The Wav2Lip render cannot go on (checkpoint, dependency, device or input trouble)."""


class CheckpointError(Wav2LipError, ValueError):
    """The checkpoint is missing, is not a torch file, or does not hold a Wav2Lip generator."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No file at the checkpoint's path."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint is a torch file but its tensors do not fit the Wav2Lip generator.

    ``missing``, ``unexpected`` and ``mismatched`` (key, expected shape, found shape) hold the full lists; the
    message names the first few of each."""

    def __init__(self, message: str, missing: list[str] | None = None, unexpected: list[str] | None = None,
                 mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] | None = None) -> None:
        super().__init__(message)
        self.missing = list(missing or [])
        self.unexpected = list(unexpected or [])
        self.mismatched = list(mismatched or [])


class MissingDependencyError(Wav2LipError, ImportError):
    """torch (needed to read a checkpoint and export it to ONNX) is not installed."""


class DeviceError(Wav2LipError, ValueError):
    """The device asked for is unknown or not available (CUDA without onnxruntime-gpu or a GPU)."""


class InferenceInputError(Wav2LipError, ValueError):
    """The arrays given to the model have the wrong shape or type."""
