"""BlazeFace face detection (MediaPipe's face_detection_short_range / full_range_sparse models) in numpy:
SSD anchors, box and keypoint decoding and weighted non-maximum suppression, with the options of MediaPipe's
face_detection_short_range.pbtxt / face_detection_full_range.pbtxt (see docs/sync-check.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Rect, crop, letterbox
from .runtime import load


@dataclass(frozen=True)
class DetectorSpec:
    """One detector model and the anchor/decoding options MediaPipe runs it with."""

    model: str
    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float
    min_score: float = 0.5
    iou_threshold: float = 0.3


SHORT_RANGE = DetectorSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 1.0)
FULL_RANGE = DetectorSpec("face_detection_full_range_sparse.tflite", 192, (4,), 0.0, min_score=0.5, iou_threshold=0.3)

#: Keypoints the detector gives, in its order (the subject's right eye is the one on the image's left).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear_tragion", "left_ear_tragion")


@dataclass(frozen=True)
class Detection:
    """One face: score, box (x0, y0, x1, y1) and the six keypoints (6, 2), all in image pixels."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: np.ndarray

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def anchors(spec: DetectorSpec) -> np.ndarray:
    """SSD anchor centres (n, 2) in 0..1 for fixed-size anchors, as MediaPipe's SsdAnchorsCalculator makes them.

    Consecutive layers with the same stride share one grid; each layer adds one anchor per aspect ratio (1.0)
    plus one interpolated-scale anchor when interpolated_scale_aspect_ratio > 0.
    """
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        per_cell = 0
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            per_cell += 1 + (1 if spec.interpolated_scale_aspect_ratio > 0 else 0)
            layer += 1
        cells = int(np.ceil(spec.input_size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float64)


def decode(regressors: np.ndarray, scores: np.ndarray, anchor_centres: np.ndarray, spec: DetectorSpec
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs -> (scores (k,), boxes (k, 4) as x0 y0 x1 y1, keypoints (k, 6, 2)) over the threshold, in the
    detector input's unit square. Scores are sigmoids of logits clipped to +-100."""
    probability = 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -100.0, 100.0)))
    keep = probability >= spec.min_score
    raw = regressors.reshape(len(anchor_centres), -1)[keep].astype(np.float64) / spec.input_size
    centre = anchor_centres[keep]
    cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
    half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + centre[:, None, :]
    return probability[keep], boxes, keypoints


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with many (x0 y0 x1 y1)."""
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, threshold: float
                 ) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's WEIGHTED suppression: each cluster (IoU > threshold with its best box) becomes one detection
    whose box and keypoints are the score-weighted mean of the cluster, with the best score."""
    order = np.argsort(-scores, kind="stable")
    remaining = list(order)
    faces = []
    while remaining:
        best = remaining[0]
        overlaps = iou(boxes[best], boxes[remaining])
        cluster = [index for index, overlap in zip(remaining, overlaps) if overlap > threshold or index == best]
        weights = scores[cluster][:, None]
        box = (boxes[cluster] * weights).sum(axis=0) / weights.sum()
        points = (keypoints[cluster] * weights[:, :, None]).sum(axis=0) / weights.sum()
        faces.append((float(scores[best]), box, points))
        remaining = [index for index in remaining if index not in set(cluster)]
    return faces


def detect_faces(image: np.ndarray, spec: DetectorSpec = SHORT_RANGE) -> list[Detection]:
    """Faces in an (h, w, 3) uint8 RGB image, best first, in image pixels."""
    model = load(spec.model)
    frame = letterbox(image.shape[1], image.shape[0])
    tensor = crop(image, frame, spec.input_size, border="zero") / 127.5 - 1.0  # the model wants -1..1
    outputs = model.run(tensor)
    regressors = next(v for v in outputs.values() if v.shape[-1] == 16)
    logits = next(v for v in outputs.values() if v.shape[-1] == 1)
    scores, boxes, keypoints = decode(regressors, logits, _anchors(spec), spec)
    detections = []
    for score, box, points in weighted_nms(scores, boxes, keypoints, spec.iou_threshold):
        corners = frame.to_image(box.reshape(2, 2))
        detections.append(Detection(score, (float(corners[0, 0]), float(corners[0, 1]), float(corners[1, 0]),
                                            float(corners[1, 1])), frame.to_image(points)))
    return detections


_ANCHORS: dict[DetectorSpec, np.ndarray] = {}


def _anchors(spec: DetectorSpec) -> np.ndarray:
    if spec not in _ANCHORS:
        _ANCHORS[spec] = anchors(spec)
    return _ANCHORS[spec]


def detection_rect(detection: Detection) -> Rect:
    """The landmark model's crop from a detection: the box, turned so the eyes lie level, squared on its long
    side and grown 1.5x (MediaPipe's face_detection_front_detection_to_roi)."""
    from .geometry import rotation_from

    x0, y0, x1, y1 = detection.box
    rotation = rotation_from(detection.keypoints[0], detection.keypoints[1])
    return Rect((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation).scaled(1.5)
