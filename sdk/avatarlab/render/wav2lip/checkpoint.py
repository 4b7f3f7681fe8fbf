"""Read a Wav2Lip generator checkpoint safely and check it fits our generator (model.py) before using it.

Accepted, as the authors released them and as their training code saved them: a dict holding `state_dict` (its
`optimizer`, `global_step`, `global_epoch` entries are ignored) or a bare state dict; keys with or without the
`module.` prefix DataParallel adds; torch's legacy (pre-1.6, non-zip) file format or the current zip one.
Loading uses `torch.load(weights_only=True)`: checkpoints come from strangers, and a pickle may run code.

Importing this module does not need torch; reading a checkpoint does (`avatarlab[wav2lip]`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CheckpointError, CheckpointMismatchError, CheckpointNotFoundError, MissingDependencyError

if TYPE_CHECKING:
    import torch

    from .model import Wav2LipGenerator

#: What a user should give, named in every error about a wrong file.
EXPECTED = "a Wav2Lip generator checkpoint such as wav2lip_gan.pth or wav2lip.pth"
#: How many keys of each kind an error message names.
SHOW_KEYS = 5
PREFIX = "module."
#: BatchNorm's step counter: unused in eval mode, and absent from checkpoints saved by torch before 0.4.1.
OPTIONAL_SUFFIX = "num_batches_tracked"


def require_torch() -> Any:
    """torch, or a clear error saying which extra installs it."""
    try:
        import torch
    except ImportError as error:  # pragma: no cover - torch is in the test extras
        raise MissingDependencyError(
            "reading a Wav2Lip checkpoint and exporting it to ONNX needs torch: pip install 'avatarlab[wav2lip]' "
            f"({error})") from error
    return torch


def checked_path(path: str | os.PathLike[str]) -> Path:
    """The checkpoint's path if it names a readable file; a clear error otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointNotFoundError(f"checkpoint not found: {path} (expected {EXPECTED}; the project never "
                                      "downloads or bundles Wav2Lip weights: see docs/wav2lip.md)")
    if not path.is_file():
        raise CheckpointError(f"checkpoint is not a file: {path} (expected {EXPECTED})")
    if not os.access(path, os.R_OK):
        raise CheckpointError(f"checkpoint is not readable: {path} (check its permissions)")
    return path


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors by key, `module.` stripped, the training entries dropped."""
    path = checked_path(path)
    torch = require_torch()
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as error:  # torch raises KeyError, EOFError, RuntimeError, UnpicklingError... by format
        raise _load_error(path, error) from error
    return _state_dict(path, data, torch)


def _load_error(path: Path, error: Exception) -> CheckpointError:
    """Why torch.load failed, in words: objects refused by weights_only, or not a torch file at all."""
    if "weights only" in str(error).lower():
        return CheckpointError(
            f"{path} holds Python objects besides tensors, numbers and strings; they are not loaded because a "
            f"checkpoint's pickle can run code (torch.load weights_only=True). Expected {EXPECTED}, as released by "
            "its authors or saved with torch.save({'state_dict': model.state_dict()}, path)")
    return CheckpointError(f"{path} is not a torch checkpoint ({type(error).__name__}: {str(error)[:200]}); "
                           f"expected {EXPECTED}")


def _state_dict(path: Path, data: Any, torch: Any) -> dict[str, torch.Tensor]:
    """Unwrap `state_dict` if there is one, check every value is a tensor, strip the DataParallel prefix."""
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not data:
        raise CheckpointError(f"{path} holds no state dict ({type(data).__name__}); expected {EXPECTED}")
    not_tensors = [str(key) for key, value in data.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{path} is not a state dict: the values of {_first(not_tensors)} are not tensors; "
                              f"expected {EXPECTED}")
    return {(key[len(PREFIX):] if key.startswith(PREFIX) else key): value for key, value in data.items()}


def _first(keys: list[str]) -> str:
    """The first few keys, quoted, and how many more."""
    shown = ", ".join(repr(key) for key in keys[:SHOW_KEYS])
    return shown + (f" and {len(keys) - SHOW_KEYS} more" if len(keys) > SHOW_KEYS else "")


def _kind_hint(keys: set[str]) -> str:
    """A sentence naming the Wav2Lip project's other networks when the keys look like one of theirs."""
    if any(key.startswith("face_encoder.") for key in keys) and not any(
            key.startswith("face_encoder_blocks.") for key in keys):
        return (" Its keys look like the SyncNet lip-sync expert (lip_sync_expert.pth): that network scores sync "
                "during training and is not a generator.")
    if any(key.startswith("binary_pred.") for key in keys):
        return (" Its keys look like the visual quality discriminator (visual_quality_disc.pth), which is not a "
                "generator.")
    return ""


def check_state_dict(state: dict[str, torch.Tensor], model: Wav2LipGenerator, path: str | os.PathLike[str]) -> None:
    """Raise CheckpointMismatchError naming the first missing and unexpected keys and shape mismatches."""
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    missing = [key for key in expected if key not in state and not key.endswith(OPTIONAL_SUFFIX)]
    unexpected = [key for key in state if key not in expected]
    mismatched = [(key, expected[key], tuple(state[key].shape)) for key in state
                  if key in expected and tuple(state[key].shape) != expected[key]]
    if not (missing or unexpected or mismatched):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys: {_first(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys: {_first(unexpected)}")
    if mismatched:
        shown = ", ".join(f"{key!r} expected {list(want)} found {list(got)}"
                          for key, want, got in mismatched[:SHOW_KEYS])
        more = f" and {len(mismatched) - SHOW_KEYS} more" if len(mismatched) > SHOW_KEYS else ""
        parts.append(f"{len(mismatched)} shape mismatches: {shown}{more}")
    raise CheckpointMismatchError(
        f"{path} does not fit the Wav2Lip generator: {'; '.join(parts)}. Expected {EXPECTED}."
        + _kind_hint(set(state)), missing, unexpected, mismatched)


def load_generator(path: str | os.PathLike[str]) -> Wav2LipGenerator:
    """The generator in eval mode with the checkpoint's weights (float32, CPU)."""
    state = read_state_dict(path)
    from .model import build_generator

    model = build_generator(seed=0)  # the seed only keeps the init cheap to reason about: every tensor is replaced
    check_state_dict(state, model, path)
    floats = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    model.load_state_dict(floats, strict=False)  # strict on everything but num_batches_tracked (checked above)
    return model.eval()
