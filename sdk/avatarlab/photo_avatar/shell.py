"""What the photo does not show: the back of the head (a shell swept from the face's outline over an ellipsoid to
the back of the skull) and the default avatar's neck and shoulders, coloured from the photo's skin and hair."""

from __future__ import annotations

import numpy as np

from ..avatar.head import NECK_PIVOT, build_body
from .lift import LiftedFace
from .topology import Topology

#: Glabella to the back of the skull, metres (an adult head is 18-20 cm long).
HEAD_LENGTH = 0.19
SWEEP = (0.2, 0.4, 0.6, 0.8)  # rings between the face's outline (0) and the back pole (1)


def linear(srgb: np.ndarray) -> np.ndarray:
    return (np.asarray(srgb, np.float64) / 255.0) ** 2.2


def sample(image: np.ndarray, xy: np.ndarray, radius: int = 3) -> np.ndarray:
    """Mean sRGB colour of a small square around each image point."""
    h, w = image.shape[:2]
    out = []
    for x, y in np.rint(np.atleast_2d(xy)).astype(int):
        (x0, x1), (y0, y1) = np.clip([x - radius, x + radius + 1], 0, w), np.clip([y - radius, y + radius + 1], 0, h)
        patch = image[y0:y1, x0:x1].reshape(-1, 3) if x1 > x0 and y1 > y0 else np.zeros((1, 3))
        out.append(patch.mean(axis=0))
    return np.asarray(out)


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    angle = np.arccos(np.clip((a * b).sum(axis=1), -1, 1))[:, None]
    safe = np.where(angle < 1e-6, 1.0, np.sin(angle))
    mixed = (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / safe
    return np.where(angle < 1e-6, a, mixed)


def head_shell(face: LiftedFace, topo: Topology, image: np.ndarray, points: np.ndarray,
               shapes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(positions, triangles, linear colours, shapes): the face's outline swept back to a pole; ring k keeps
    (1 - k/K) of its outline vertex's morph moves so the seam never opens."""
    p, oval = face.positions, topo.regions["faceOval"][:-1]  # the chain is closed: last == first
    edge = p[oval]
    centre = np.array([0.0, edge[:, 1].mean(), 0.0])
    back = p[1, 2] - HEAD_LENGTH
    centre[2] = (edge[:, 2].mean() + back) / 2
    axes = np.array([np.abs(edge[:, 0]).max(), (edge[:, 1].max() - edge[:, 1].min()) / 2, centre[2] - back])
    direction = (edge - centre) / axes
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    pole = np.array([[0.0, 0.0, -1.0]])
    rings = [edge] + [centre + _slerp(direction, pole, t) * axes for t in SWEEP]
    positions = np.concatenate([*rings, centre[None] + pole * axes])
    n, k = len(oval), len(rings)
    triangles = []
    for ring in range(k - 1):
        a, b = ring * n, (ring + 1) * n
        for i in range(n):
            j = (i + 1) % n
            triangles += [(a + i, b + i, b + j), (a + i, b + j, a + j)]
    triangles += [((k - 1) * n + i, k * n, (k - 1) * n + (i + 1) % n) for i in range(n)]
    triangles = np.asarray(triangles)
    outward = positions[triangles].mean(axis=1) - centre
    a, b, c = (positions[triangles[:, i]] for i in range(3))
    flip = (np.cross(b - a, c - a) * outward).sum(axis=1) < 0
    triangles[flip] = triangles[flip][:, [0, 2, 1]]
    skin = sample(image, points[oval, :2])
    hair = sample(image, points[10, :2] - (points[152, :2] - points[10, :2]) * 0.12, radius=5)[0]
    colours = [skin] + [skin * (1 - t) + hair * t for t in SWEEP] + [hair[None]]
    weights = [1.0] + [1.0 - t for t in SWEEP] + [0.0]
    moves = {name: np.concatenate([delta[oval] * w for w in weights[:-1]] + [np.zeros((1, 3))])
             for name, delta in shapes.items()}
    return positions, triangles, linear(np.concatenate(colours)), moves


def neck_pivot(face: LiftedFace) -> np.ndarray:
    """Where the Head node turns, in the face's frame: the top of the neck, under the middle of the skull."""
    p = face.positions
    return np.array([0.0, p[152, 1] + 0.025, (p[1, 2] - HEAD_LENGTH / 2)])


def body(image: np.ndarray, points: np.ndarray) -> list:
    """The default avatar's neck and shoulders (root frame, its neck pivot at NECK_PIVOT), the neck in the
    photo's skin colour (sampled below the cheeks)."""
    parts = build_body()
    skin = linear(sample(image, points[[187, 411], :2], radius=4).mean(axis=0)) * 0.9
    parts[0].colors = np.tile(skin, (len(parts[0].positions), 1))
    return parts


__all__ = ["NECK_PIVOT", "body", "head_shell", "neck_pivot"]
