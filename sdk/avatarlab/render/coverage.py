"""Where FXAA runs: bands of rows, each only as wide as the avatar's triangles in it, grown by a margin.

llvmpipe pays for every pixel a full-screen pass covers (it runs both sides of a branch, so FXAA's early out
saves nothing), and FXAA costs about as much per pixel as the lighting. So FXAA is drawn as one rectangle per
band of BAND_ROWS rows, spanning the screen boxes of the avatar's triangles in that band grown by MARGIN pixels:
every pixel FXAA can change (the avatar and the pixels next to it) and little else. The triangles are placed
from the same posed vertices that were drawn (morphs, node transforms, skinning), so the bands follow the head
however it turns; big rectangles keep llvmpipe's pixel blocks full, unlike the avatar's own small triangles.
"""

from __future__ import annotations

import numpy as np

#: Rows per band: thinner bands hug the avatar closer and cost more rectangles.
BAND_ROWS = 8
#: FXAA changes pixels up to one pixel (diagonally) from an edge; a pixel centre is half a pixel from its edge.
MARGIN = 2.0


def clip_to_pixels(positions: np.ndarray, matrix: np.ndarray, size: tuple[int, int], out: np.ndarray) -> bool:
    """Write the pixel coordinates (GL's bottom-left origin) of ``positions`` (n, 3) under ``matrix`` (model, view
    and projection) into ``out`` (n, 2); False when a vertex sits on or behind the camera plane (the caller then
    filters everything)."""
    matrix = matrix.astype(np.float32)
    w = positions @ matrix[3, :3] + matrix[3, 3]
    if len(w) and w.min() <= 1e-6:
        return False
    np.divide(positions @ matrix[:2, :3].T + matrix[:2, 3], w[:, None], out=out)
    out *= 0.5
    out += 0.5
    out *= np.asarray(size, np.float32)
    return True


def band_rectangles(pixels: np.ndarray, corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(k, 4) float32 rectangles x0, y0, x1, y1 in pixels, one per band the triangles reach, inside the frame.

    ``pixels``: every drawn vertex on screen (n, 2); ``corners``: (3, m) the triangles' vertex indices into it,
    corner by corner (so each corner's gather is one contiguous array: a millisecond less per frame).
    """
    width, height = size
    bands = -(-height // BAND_ROWS)
    placed = np.take(pixels, corners, axis=0)  # (3, m, 2)
    low = np.minimum(np.minimum(placed[0], placed[1]), placed[2]) - MARGIN  # (m, 2): x0, y0 of each triangle
    high = np.maximum(np.maximum(placed[0], placed[1]), placed[2]) + MARGIN
    inside = (high[:, 1] >= 0) & (low[:, 1] <= height)  # the rest would be clipped into the edge bands
    if not inside.all():
        low, high = low[inside], high[inside]
    first = np.clip(low[:, 1] * (1.0 / BAND_ROWS), 0, bands - 1).astype(np.intp)
    last = np.clip(high[:, 1] * (1.0 / BAND_ROWS), 0, bands - 1).astype(np.intp)
    left = np.full(bands, np.inf, np.float32)
    right = np.full(bands, -np.inf, np.float32)
    for band in (first, last):  # most triangles lie in one or two bands
        np.minimum.at(left, band, low[:, 0])
        np.maximum.at(right, band, high[:, 0])
    tall = np.flatnonzero(last - first > 1)
    if len(tall):  # the bands in between, for the few triangles taller than that
        between = last[tall] - first[tall] - 1
        rows = np.repeat(tall, between)
        steps = np.arange(len(rows)) - np.repeat(np.cumsum(between) - between, between)
        np.minimum.at(left, first[rows] + 1 + steps, low[rows, 0])
        np.maximum.at(right, first[rows] + 1 + steps, high[rows, 0])
    left, right = np.maximum(left, 0), np.minimum(right, width)
    used = np.flatnonzero(right > left)
    rectangles = np.empty((len(used), 4), np.float32)
    rectangles[:, 0] = np.floor(left[used])
    rectangles[:, 1] = used * BAND_ROWS
    rectangles[:, 2] = np.ceil(right[used])
    rectangles[:, 3] = np.minimum((used + 1) * BAND_ROWS, height)
    return rectangles


def rectangle_triangles(rectangles: np.ndarray) -> np.ndarray:
    """Two triangles per rectangle: (6k, 2) float32 pixel corners."""
    x0, y0, x1, y1 = rectangles.T
    corners = np.stack([x0, y0, x1, y0, x0, y1, x0, y1, x1, y0, x1, y1], axis=1)
    return np.ascontiguousarray(corners.reshape(-1, 2), dtype=np.float32)
