"""Where FXAA runs: bands of rows, each only as wide as the avatar's triangles in it, grown by a margin.

llvmpipe pays for every pixel a full-screen pass covers (it runs both sides of a branch, so FXAA's early out
saves nothing), and FXAA costs about as much per pixel as the lighting. So FXAA is drawn as one rectangle per
band of BAND_ROWS rows, spanning the screen boxes of the avatar's triangles in that band grown by MARGIN pixels:
every pixel FXAA can change (the avatar and the pixels next to it) and little else. The triangles are placed
from the same posed vertices that were drawn (morphs, node transforms, skinning), so the bands follow the head
however it turns; big rectangles keep llvmpipe's pixel blocks full, unlike the avatar's own small triangles.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: Rows per band: thinner bands hug the avatar closer and cost more rectangles.
BAND_ROWS = 8
#: FXAA changes pixels up to one pixel (diagonally) from an edge; a pixel centre is half a pixel from its edge.
MARGIN = 2.0


def clip_to_pixels(positions: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """(n, 2) pixel coordinates (GL's bottom-left origin) of ``positions`` (n, 3) under ``matrix`` (model, view
    and projection); None when a vertex sits on or behind the camera plane (the caller then filters everything)."""
    w = positions @ matrix[3, :3] + matrix[3, 3]
    if len(w) and w.min() <= 1e-6:
        return None
    ndc = (positions @ matrix[:2, :3].T + matrix[:2, 3]) / w[:, None]
    return (ndc * 0.5 + 0.5) * np.asarray(size, dtype=ndc.dtype)


def band_rectangles(parts: Iterable[tuple[np.ndarray, np.ndarray]], size: tuple[int, int]) -> np.ndarray:
    """(k, 4) float32 rectangles x0, y0, x1, y1 in pixels, one per band the triangles reach, inside the frame.

    ``parts``: per drawn primitive, its vertices in pixels (n, 2) and its triangles (m, 3) as vertex indices.
    """
    width, height = size
    bands = -(-height // BAND_ROWS)
    low = np.full(bands, np.inf)
    high = np.full(bands, -np.inf)
    for pixels, triangles in parts:
        if len(triangles) == 0:
            continue
        x, y = pixels[:, 0], pixels[:, 1]
        a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
        x0 = np.minimum(np.minimum(x[a], x[b]), x[c]) - MARGIN
        x1 = np.maximum(np.maximum(x[a], x[b]), x[c]) + MARGIN
        y0 = np.minimum(np.minimum(y[a], y[b]), y[c]) - MARGIN
        y1 = np.maximum(np.maximum(y[a], y[b]), y[c]) + MARGIN
        seen = (x1 > 0) & (x0 < width) & (y1 > 0) & (y0 < height)
        x0, x1 = x0[seen], x1[seen]
        first = np.clip(np.floor(y0[seen] / BAND_ROWS), 0, bands - 1).astype(np.intp)
        last = np.clip(np.floor(y1[seen] / BAND_ROWS), 0, bands - 1).astype(np.intp)
        reach = last - first
        for step in range(int(reach.max(initial=-1)) + 1):  # most triangles lie in one or two bands
            rows = reach >= step
            np.minimum.at(low, first[rows] + step, x0[rows])
            np.maximum.at(high, first[rows] + step, x1[rows])
    used = np.flatnonzero(high > low)
    rectangles = np.empty((len(used), 4), np.float32)
    rectangles[:, 0] = np.clip(np.floor(low[used]), 0, width)
    rectangles[:, 1] = used * BAND_ROWS
    rectangles[:, 2] = np.clip(np.ceil(high[used]), 0, width)
    rectangles[:, 3] = np.minimum((used + 1) * BAND_ROWS, height)
    return rectangles[rectangles[:, 2] > rectangles[:, 0]]


def rectangle_triangles(rectangles: np.ndarray) -> np.ndarray:
    """Two triangles per rectangle: (6k, 2) float32 pixel corners."""
    x0, y0, x1, y1 = rectangles.T
    corners = np.stack([x0, y0, x1, y0, x0, y1, x0, y1, x1, y0, x1, y1], axis=1)
    return np.ascontiguousarray(corners.reshape(-1, 2), dtype=np.float32)
