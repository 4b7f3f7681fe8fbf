"""Runs a .tflite model with LiteRT (`ai-edge-litert`): one interpreter per model, loaded once per process."""

from __future__ import annotations

import functools
import os

import numpy as np

from .models import model_path

#: Threads per interpreter (MediaPipe's CPU graphs use the cores they find; so do we, capped at 4).
THREADS = min(4, os.cpu_count() or 1)


class TFLiteModel:
    """One model: ``run(input)`` -> outputs by name, as float32 arrays with the batch dimension dropped."""

    def __init__(self, name: str) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        self._interpreter = Interpreter(model_path=str(model_path(name)), num_threads=THREADS)
        self._interpreter.allocate_tensors()
        details = self._interpreter.get_input_details()[0]
        self.input_index = details["index"]
        self.input_shape = tuple(int(v) for v in details["shape"])
        self._outputs = [(d["name"], d["index"]) for d in self._interpreter.get_output_details()]

    def run(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        self._interpreter.set_tensor(self.input_index, tensor.reshape(self.input_shape).astype(np.float32))
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index)[0].astype(np.float32) for name, index in self._outputs}


@functools.lru_cache(maxsize=None)
def load(name: str) -> TFLiteModel:
    return TFLiteModel(name)
