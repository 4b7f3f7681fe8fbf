"""The trained audio-to-viseme network (data/audio2face.onnx) run as a stream with onnxruntime.

The graph carries its convolution context in explicit state tensors, so feeding features in any
split gives the same log-probabilities as one call over the whole utterance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..channels import OCULUS_VISEMES
from . import features as feat

DATA = Path(__file__).resolve().parent.parent / "data"
MODEL_PATH = DATA / "audio2face.onnx"
META_PATH = DATA / "audio2face.json"


@dataclass(frozen=True)
class VisemeModel:
    """An onnxruntime session of the network and what its metadata says about it."""

    session: ort.InferenceSession
    lookahead: int  # feature frames between the newest input and the frame an output names
    classes: int
    meta: dict

    @property
    def smoothing_stay(self) -> float:
        """The forward filter setting tuned on validation speech when the model was trained."""
        from .smoothing import DEFAULT_STAY

        return float(self.meta.get("smoothing", {}).get("stay", DEFAULT_STAY))

    @property
    def decision_bias(self) -> np.ndarray:
        """Per-viseme log-probability biases of the decision rule (zeros when the metadata has none)."""
        given = self.meta.get("decision", {}).get("log_bias", {})
        unknown = set(given) - set(OCULUS_VISEMES)
        if unknown:
            raise ValueError(f"audio2face.json's decision biases name unknown visemes: {sorted(unknown)}")
        if len(OCULUS_VISEMES) != self.classes:
            raise ValueError(f"the model has {self.classes} classes, not the {len(OCULUS_VISEMES)} visemes")
        return np.array([float(given.get(v, 0.0)) for v in OCULUS_VISEMES], np.float32)

    @classmethod
    def load(cls, path: Path = MODEL_PATH, meta_path: Path | None = None) -> VisemeModel:
        meta_path = meta_path or path.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        _check_features(meta.get("features", {}))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a few hundred thousand multiply-adds per frame: threads only cost
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(session, int(meta["lookahead_frames"]), int(meta["net"]["classes"]), meta)

    def initial_states(self) -> list[np.ndarray]:
        return [np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
                for i in self.session.get_inputs()[1:]]


def _check_features(saved: dict) -> None:
    expected = {"sample_rate": feat.SAMPLE_RATE, "hop": feat.HOP, "window": feat.WINDOW, "n_fft": feat.N_FFT,
                "n_mels": feat.N_MELS}
    wrong = {k: (saved.get(k), v) for k, v in expected.items() if saved.get(k) != v}
    if wrong:
        raise ValueError(f"the audio2face model was trained on other features than avatarlab.live.features "
                         f"computes ({wrong}); retrain it with models/audio2face/train.py")


@lru_cache(maxsize=1)
def default_model() -> VisemeModel:
    return VisemeModel.load()


class VisemeStream:
    """Log-mel frames in, per-frame viseme log-probabilities out, ``lookahead`` frames behind."""

    def __init__(self, model: VisemeModel | None = None) -> None:
        self.model = model or default_model()
        self._states = self.model.initial_states()
        self._names = [i.name for i in self.model.session.get_inputs()]
        self.frames_in = 0

    def push(self, frames: np.ndarray) -> np.ndarray:
        """(k, n_mels) features -> (m, classes) log-probabilities of the next m frames (m <= k at the start)."""
        if len(frames) == 0:
            return np.zeros((0, self.model.classes), np.float32)
        feeds = {self._names[0]: np.ascontiguousarray(frames.T[None], dtype=np.float32)}
        feeds.update(zip(self._names[1:], self._states))
        logits, *self._states = self.model.session.run(None, feeds)
        skip = max(0, self.model.lookahead - self.frames_in)  # outputs before frame 0 name nothing
        self.frames_in += len(frames)
        out = logits[0].T[skip:]
        out = out - out.max(axis=1, keepdims=True)
        return (out - np.log(np.exp(out).sum(axis=1, keepdims=True))).astype(np.float32)

    def finish(self) -> np.ndarray:
        """The last ``lookahead`` frames' outputs, computed by feeding silence past the end."""
        pad = np.full((self.model.lookahead, feat.N_MELS), np.log(feat.LOG_FLOOR), np.float32)
        return self.push(pad)
