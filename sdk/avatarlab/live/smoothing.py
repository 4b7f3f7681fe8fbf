"""The decision rule on per-frame viseme probabilities: class biases, then an HMM forward filter.

Each frame's log-probabilities first get a per-viseme bias (``bias``): a shift of the class priors the network
learned from its training voices. Tuned on speakers left out of training (models/audio2face/tune_decision.py),
it can favour the classes an unfamiliar voice loses most (closed p/b/m, rounded vowels). The shipped model's
biases are zero: tuned ones helped the left-out speakers but not the reserved ones (docs/live.md).
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
    def __init__(self, classes: int, stay: float = DEFAULT_STAY, bias: np.ndarray | None = None) -> None:
        if not 0.0 <= stay < 1.0:
            raise ValueError(f"stay must be in [0, 1), got {stay}")
        self.classes, self.stay = classes, stay
        self.bias = np.zeros(classes, np.float32) if bias is None else np.asarray(bias, np.float32)
        if self.bias.shape != (classes,) or not np.all(np.isfinite(self.bias)):
            raise ValueError(f"bias must be {classes} finite numbers, got {bias!r}")
        self._belief = np.full(classes, 1.0 / classes)

    def push(self, log_probs: np.ndarray) -> np.ndarray:
        """(k, classes) log-probabilities -> the k most likely visemes given everything so far (biases added)."""
        log_probs = np.asarray(log_probs) + self.bias
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
