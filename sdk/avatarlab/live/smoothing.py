"""Causal smoothing of per-frame viseme probabilities: an HMM forward filter.

The forward filter keeps a belief over the 15 visemes, which stays with its viseme with probability
``stay`` per 10 ms frame; it only uses the past, so it adds no delay. ``stay`` = 1 / classes (or less)
means no smoothing: each frame's most likely viseme. Training tunes ``stay`` on validation speech;
the network's own 65-frame context makes its decisions steady enough that no smoothing scored best.
"""

from __future__ import annotations

import numpy as np

#: Used when the model's metadata has no tuned value (train.py tunes it on validation speech).
DEFAULT_STAY = 0.7


class ForwardFilter:
    def __init__(self, classes: int, stay: float = DEFAULT_STAY) -> None:
        if not 0.0 <= stay < 1.0:
            raise ValueError(f"stay must be in [0, 1), got {stay}")
        self.classes, self.stay = classes, stay
        self._belief = np.full(classes, 1.0 / classes)

    def push(self, log_probs: np.ndarray) -> np.ndarray:
        """(k, classes) log-probabilities -> the k most likely visemes given everything so far."""
        if self.stay <= 1.0 / self.classes:
            return np.asarray(log_probs).argmax(axis=1).astype(np.int64)
        out = np.empty(len(log_probs), dtype=np.int64)
        move = (1.0 - self.stay) / (self.classes - 1)
        for i, row in enumerate(log_probs):
            prior = self._belief * (self.stay - move) + move
            belief = prior * np.exp(row - row.max())
            self._belief = belief / belief.sum()
            out[i] = int(np.argmax(self._belief))
        return out
