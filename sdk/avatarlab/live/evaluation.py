"""Frame-level viseme-class accuracy: how the recognition and streaming paths are scored.

Ground truth is a timeline with exact phone times (our engine's, or espeak-ng's phoneme events).
Besides the 15 Oculus visemes, scores are given on 7 mouth shapes, because several visemes look alike
(DD, kk, nn, SS, TH differ mostly inside the mouth).
"""

from __future__ import annotations

import numpy as np

from ..channels import OCULUS_VISEMES, VISEME_INDEX

MOUTH_SHAPES: dict[str, str] = {
    "PP": "closed", "FF": "labiodental", "ou": "round", "oh": "round", "RR": "round", "CH": "round",
    "aa": "open", "E": "spread", "ih": "spread", "TH": "tongue", "DD": "tongue", "kk": "tongue",
    "nn": "tongue", "SS": "tongue", "sil": "rest",
}
SHAPE_NAMES = tuple(dict.fromkeys(MOUTH_SHAPES[v] for v in OCULUS_VISEMES))
#: viseme index -> mouth-shape index
SHAPE_OF_VISEME = np.array([SHAPE_NAMES.index(MOUTH_SHAPES[v]) for v in OCULUS_VISEMES], dtype=np.int64)


def frame_labels(spans: list[tuple[str, float, float]], times: np.ndarray) -> np.ndarray:
    """Viseme index at each time, from (viseme name, start s, end s) spans tiling the audio."""
    starts = np.array([s for _, s, _ in spans])
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(spans) - 1)
    return np.array([VISEME_INDEX[spans[i][0]] for i in index], dtype=np.int64)


def accuracy(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """(15-viseme accuracy, 7-mouth-shape accuracy) over frames both cover."""
    n = min(len(truth), len(predicted))
    if n == 0:
        return 0.0, 0.0
    t, p = np.asarray(truth[:n]), np.asarray(predicted[:n])
    return float(np.mean(t == p)), float(np.mean(SHAPE_OF_VISEME[t] == SHAPE_OF_VISEME[p]))
