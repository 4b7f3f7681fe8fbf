"""Rotated rectangles and the crops the face models see: one bilinear warp serves the detector's letterbox
and the landmark model's rotated face crop, and its inverse un-projects the models' outputs to image pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle in image pixels: centre, width, height and rotation (radians, clockwise on screen,
    since image y points down)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def to_image(self, unit: np.ndarray) -> np.ndarray:
        """Points in the rectangle's unit square (0..1 across, 0..1 down) -> image pixels."""
        unit = np.asarray(unit, dtype=np.float64)
        local_x = (unit[..., 0] - 0.5) * self.width
        local_y = (unit[..., 1] - 0.5) * self.height
        cos, sin = np.cos(self.rotation), np.sin(self.rotation)
        return np.stack([self.cx + cos * local_x - sin * local_y, self.cy + sin * local_x + cos * local_y], axis=-1)

    def scaled(self, factor: float, square_long: bool = True) -> "Rect":
        """The rectangle grown by ``factor`` about its centre (squared on its long side, as MediaPipe does)."""
        width, height = self.width, self.height
        if square_long:
            width = height = max(width, height)
        return Rect(self.cx, self.cy, width * factor, height * factor, self.rotation)


def letterbox(image_width: int, image_height: int) -> Rect:
    """The square around the whole image (padding the short side), the detector's input rectangle."""
    side = float(max(image_width, image_height))
    return Rect(image_width / 2.0, image_height / 2.0, side, side, 0.0)


def crop(image: np.ndarray, rect: Rect, size: int, border: str = "zero") -> np.ndarray:
    """Sample ``rect`` of an (h, w, 3) uint8 image into a (size, size, 3) float32 array of 0..255, bilinearly.

    ``border``: "zero" pads outside the image with black (the detector's letterbox), "replicate" repeats the
    edge pixels (the landmark crop), as MediaPipe's ImageToTensorCalculator does.
    """
    grid = (np.arange(size, dtype=np.float64) + 0.5) / size
    unit = np.stack(np.meshgrid(grid, grid), axis=-1)
    points = rect.to_image(unit) - 0.5  # pixel centres sit at integer + 0.5
    height, width = image.shape[:2]
    x, y = points[..., 0], points[..., 1]
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    source = image.astype(np.float32)

    def at(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        values = source[np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)]
        if border == "zero":
            inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
            values = values * inside[..., None]
        return values

    top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
    bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def rotation_from(start: np.ndarray, end: np.ndarray, target: float = 0.0) -> float:
    """MediaPipe's rect rotation from two keypoints in image pixels: target - atan2(-(dy), dx), normalised to
    [-pi, pi); 0 when ``end`` lies straight right of ``start``."""
    angle = target - np.arctan2(-(end[1] - start[1]), end[0] - start[0])
    return float(angle - 2 * np.pi * np.floor((angle + np.pi) / (2 * np.pi)))
