"""What the photo does not show: the back of the head (a shell swept from the face's outline over an ellipsoid to
the back of the skull) and the default avatar's neck and shoulders, coloured from the photo's skin and hair."""

from __future__ import annotations

import numpy as np

from ..avatar.head import NECK_PIVOT, build_body, ellipsoid
from .lift import LiftedFace
from .topology import Topology, wound_along

#: Glabella to the back of the skull, metres (an adult head is 18-20 cm long).
HEAD_LENGTH = 0.19
SWEEP = tuple(np.arange(1, 10) / 10)  # rings between the face's outline (0) and the back pole (1)


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
    (1 - k/K) of its outline vertex's morph moves so the seam never opens. The ears come with it (still)."""
    p, oval = face.positions, topo.regions["faceOval"][:-1]  # the chain is closed: last == first
    edge = p[oval]
    centre, axes = _shell_axes(face, topo)
    scaled = (edge - centre) / axes
    # each outline vertex's own distance on the ellipsoid's scale, eased to 1 at the back: the shell leaves the
    # face's edge without a step in or out, whatever the face's depth
    ratio = np.linalg.norm(scaled, axis=1, keepdims=True)
    direction = scaled / ratio
    pole = np.array([[0.0, 0.0, -1.0]])
    ease = lambda t: t * t * (3 - 2 * t)  # noqa: E731
    rings = [edge] + [centre + _slerp(direction, pole, t) * axes * (ratio + (1 - ratio) * ease(t)) for t in SWEEP]
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
    triangles = wound_along(triangles, positions, positions[triangles].mean(axis=1) - centre)
    skin = sample(image, points[oval, :2])
    hair = sample(image, points[10, :2] - (points[152, :2] - points[10, :2]) * 0.12, radius=5)[0]
    colours = [skin] + [skin * (1 - t) + hair * t for t in SWEEP] + [hair[None]]
    weights = [1.0] + [1.0 - t for t in SWEEP] + [0.0]
    ear_positions, ear_triangles, ear_colours = ears(face, image, points, positions)
    moves = {name: np.concatenate([delta[oval] * w for w in weights[:-1]] + [np.zeros((1 + len(ear_positions), 3))])
             for name, delta in shapes.items()}
    return (np.concatenate([positions, ear_positions]), np.concatenate([triangles, ear_triangles + len(positions)]),
            np.concatenate([linear(np.concatenate(colours)), ear_colours]), moves)


#: An adult ear: about 6 cm tall, 3.5 cm from front to back, its back rim standing 1-2 cm off the skull; metres.
EAR_HALF_DEPTH, EAR_HALF_THICKNESS, EAR_STAND_OFF, EAR_BOWL = 0.016, 0.0035, 0.014, 0.004
EAR_TILT = np.radians(15.0)  # the ear's long axis leans back


def _shell_axes(face: LiftedFace, topo: Topology) -> tuple[np.ndarray, np.ndarray]:
    """The back-of-head ellipsoid's centre and semi-axes (the shell's rings lie on it)."""
    p, oval = face.positions, topo.regions["faceOval"][:-1]
    edge = p[oval]
    back = p[1, 2] - HEAD_LENGTH
    centre = np.array([0.0, edge[:, 1].mean(), (edge[:, 2].max() + back) / 2])
    axes = np.array([np.abs(edge[:, 0]).max() * 1.04, (edge[:, 1].max() - edge[:, 1].min()) / 2, centre[2] - back])
    return centre, axes


def ears(face: LiftedFace, image: np.ndarray, points: np.ndarray, skull: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, triangles, linear colours): an ear on each side of the skull, top level with the brows and
    lobe with the nose's base, just behind the face's outline, its rim standing off the head; the colour of the
    photo's skin at the sides of the face. Rigid: they turn with the head and take no morph target."""
    p = face.positions
    top, bottom = p[[105, 334], 1].mean(), p[2, 1]  # brows, the nose's base
    y = (top + bottom) / 2
    positions, triangles, colours = [], [], []
    for side, outline_point, cheek in ((-1.0, 234, 93), (1.0, 454, 323)):
        z = p[outline_point, 2] - EAR_HALF_DEPTH * 0.9
        x = side * _skull_side(skull, side, y, z)  # where the ear's middle meets the skull
        half_height = (top - bottom) / 2 * 1.05
        ear, ear_tris = ellipsoid((0.0, 0.0, 0.0), (EAR_HALF_THICKNESS, half_height, EAR_HALF_DEPTH), 12, 20)
        radial = np.clip((ear[:, 1] / half_height) ** 2 + (ear[:, 2] / EAR_HALF_DEPTH) ** 2, 0, 1)
        outer = ear[:, 0] > 0  # the side away from the skull: a bowl (the concha) inside a rim
        ear[outer, 0] -= EAR_BOWL * (1 - radial[outer]) ** 2
        ear[:, 0] += EAR_STAND_OFF * (EAR_HALF_DEPTH - ear[:, 2]) / (2 * EAR_HALF_DEPTH)  # back edge off the head
        ear[:, 0] *= side
        c, s_ = np.cos(EAR_TILT), np.sin(EAR_TILT)
        ear = ear @ np.array([[1, 0, 0], [0, c, -s_], [0, s_, c]]).T
        ear += np.array([x - side * 0.003, y, z])  # its inner side sunk into the skull: no gap behind it
        triangles.append(ear_tris + sum(len(q) for q in positions))
        positions.append(ear)
        skin = linear(sample(image, points[cheek, :2], radius=4)[0]) * 0.9
        shade = 1 - 0.45 * (1 - radial) ** 2 * outer  # the bowl's inside is in shadow
        colours.append(skin[None] * shade[:, None])
    return np.vstack(positions), np.vstack(triangles), np.vstack(colours)


def _skull_side(skull: np.ndarray, side: float, y: float, z: float) -> float:
    """How far out the shell reaches on one side at height y and depth z: the inverse-distance mean of |x| over
    the shell's vertices nearest (y, z) on that side."""
    candidates = skull[skull[:, 0] * side > 0]
    distance = np.hypot(candidates[:, 1] - y, candidates[:, 2] - z)
    nearest = np.argsort(distance)[:4]
    weights = 1 / (distance[nearest] + 1e-4)
    return float((np.abs(candidates[nearest, 0]) * weights).sum() / weights.sum())


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


__all__ = ["NECK_PIVOT", "body", "ears", "head_shell", "neck_pivot"]
