"""`--plot`: mouth opening (orange) against the audio reference (blue) over time, one grid line a second,
and the correlation over lag below it (the chosen offset in red). A PNG drawn with numpy, no plotting library."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .analysis import SIGNAL_RATE, to_signal_rate
from .check import SyncResult

PIXELS_PER_SECOND = 200
HEIGHT = 200
CORRELATION_HEIGHT = 120
BACKGROUND, GRID = (255, 255, 255), (215, 215, 215)
MOUTH, REFERENCE, MARK = (230, 120, 20), (40, 90, 200), (210, 30, 30)


def _scaled(signal: np.ndarray) -> np.ndarray:
    low, high = np.nanpercentile(signal, 2), np.nanpercentile(signal, 98)
    return np.clip((signal - low) / max(high - low, 1e-12), 0.0, 1.0)


def _draw(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray, colour: tuple[int, int, int]) -> None:
    """A polyline through (xs, ys) pixels, two pixels thick, by sampling each segment densely."""
    for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 2
        px = np.rint(np.linspace(x0, x1, steps)).astype(int)
        py = np.rint(np.linspace(y0, y1, steps)).astype(int)
        for dy in (0, 1):
            inside = (px >= 0) & (px < canvas.shape[1]) & (py + dy >= 0) & (py + dy < canvas.shape[0])
            canvas[py[inside] + dy, px[inside]] = colour


def render_plot(result: SyncResult) -> np.ndarray:
    """The plot as an (h, w, 3) uint8 image."""
    mouth = to_signal_rate(result.openings, result.fps, 0.0, result.frames / result.fps)
    reference = result.reference_signal[:len(mouth)]
    width = max(int(len(mouth) / SIGNAL_RATE * PIXELS_PER_SECOND), 200)
    canvas = np.full((HEIGHT + CORRELATION_HEIGHT + 10, width, 3), BACKGROUND, np.uint8)
    for second in range(int(len(mouth) / SIGNAL_RATE) + 1):
        canvas[:HEIGHT, min(second * PIXELS_PER_SECOND, width - 1)] = GRID
    for signal, colour in ((reference, REFERENCE), (mouth, MOUTH)):
        xs = np.arange(len(signal)) * PIXELS_PER_SECOND / SIGNAL_RATE
        _draw(canvas, xs, (HEIGHT - 5) - _scaled(signal) * (HEIGHT - 10), colour)
    lags, values = result.alignment.lags_s, np.nan_to_num(result.alignment.correlation, nan=-1.0)
    top = HEIGHT + 10
    xs = (lags - lags[0]) / (lags[-1] - lags[0]) * (width - 1)
    canvas[top:, int(np.rint((0 - lags[0]) / (lags[-1] - lags[0]) * (width - 1)))] = GRID
    canvas[top:, int(np.rint((result.offset_ms / 1000 - lags[0]) / (lags[-1] - lags[0]) * (width - 1)))] = MARK
    _draw(canvas, xs, top + (1 - (values + 1) / 2) * (CORRELATION_HEIGHT - 3), REFERENCE)
    return canvas


def write_plot(result: SyncResult, path: str | Path) -> Path:
    from ..render.images import write_png

    return write_png(Path(path), render_plot(result))
