"""The Wav2Lip generator's published contract, torch-free so the ONNX path and the pipeline can import it.

Input: 6 channels at 96x96 (the target face with its lower half masked, stacked with a reference face; RGB or BGR
as the weights were trained: the original code feeds BGR in [0, 1]) and an 80-band mel window of 16 frames
(16 kHz audio, hop 200: 80 mel frames a second). Output: the 96x96 face, 3 channels in [0, 1].
"""

from __future__ import annotations

FACE_CHANNELS = 6
FACE_SIZE = 96
MEL_BANDS = 80
MEL_STEPS = 16
OUT_CHANNELS = 3

#: Bumped whenever model.py or the export settings change the exported graph: part of the ONNX cache key.
MODEL_CODE_VERSION = 1
