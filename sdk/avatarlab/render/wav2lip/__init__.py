"""Wav2Lip video render with the user's own weights (docs/wav2lip.md).

The generator is our own torch code shaped like the authors' released checkpoints (model.py); a checkpoint is
read safely and checked (checkpoint.py), exported once to ONNX beside it (onnx_export.py) and run with
onnxruntime (runtime.py). torch is needed only for the first export: `pip install 'avatarlab[wav2lip]'`.

    from avatarlab.render.wav2lip import Wav2LipModel
    model = Wav2LipModel.load("wav2lip_gan.pth", device="auto")
    out = model.predict(faces, mels)  # (n, 6, 96, 96), (n, 1, 80, 16) float32 -> (n, 3, 96, 96) in [0, 1]
"""

from __future__ import annotations

from .errors import (CheckpointError, CheckpointMismatchError, CheckpointNotFoundError, DeviceError,
                     InferenceInputError, MissingDependencyError, Wav2LipError)
from .pipeline import Wav2LipRenderer, Wav2LipResult
from .runtime import DEVICES, Wav2LipModel
from .spec import FACE_CHANNELS, FACE_SIZE, MEL_BANDS, MEL_STEPS, MODEL_CODE_VERSION

__all__ = [
    "DEVICES", "FACE_CHANNELS", "FACE_SIZE", "MEL_BANDS", "MEL_STEPS", "MODEL_CODE_VERSION", "CheckpointError",
    "CheckpointMismatchError", "CheckpointNotFoundError", "DeviceError", "InferenceInputError",
    "MissingDependencyError", "Wav2LipError", "Wav2LipModel", "Wav2LipRenderer", "Wav2LipResult",
]
