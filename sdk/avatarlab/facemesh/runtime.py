"""Runs a .tflite model with LiteRT (`ai-edge-litert`): one interpreter per model, loaded once per process."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Iterator

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
        with _quiet_native_stderr():  # LiteRT logs "INFO: Created TensorFlow Lite XNNPACK delegate" here
            self._interpreter.allocate_tensors()
        details = self._interpreter.get_input_details()[0]
        self.input_index = details["index"]
        self.input_shape = tuple(int(v) for v in details["shape"])
        self._outputs = [(d["name"], d["index"]) for d in self._interpreter.get_output_details()]

    def run(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        self._interpreter.set_tensor(self.input_index, tensor.reshape(self.input_shape).astype(np.float32))
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index)[0].astype(np.float32) for name, index in self._outputs}


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Native code's writes to file descriptor 2 are dropped inside the block (Python's sys.stderr is flushed
    first and restored after); does nothing when descriptor 2 cannot be duplicated."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


@functools.lru_cache(maxsize=None)
def load(name: str) -> TFLiteModel:
    return TFLiteModel(name)
