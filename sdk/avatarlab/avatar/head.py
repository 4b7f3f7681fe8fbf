"""The default avatar head, built procedurally: skin with a split mouth, mouth interior, teeth, tongue, eyes, lids.

Every morph target is a displacement field over regions of the rest mesh (a jaw hinge rotation for jawOpen,
lip bands for the mouth shapes, lid arcs for blinks...), so the whole avatar comes from this file and stays
small enough to commit. Visemes are recipes over the ARKit shapes. Units are metres; +Y up, the face looks
along +Z, the avatar's left is +X (glTF conventions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..channels import ARKIT_BLENDSHAPES, OCULUS_VISEMES
from .lips import (INNER_LIP_ROWS, MOUTH_HALF_WIDTH, LipFrame, inner_lip_rows, jaw_weight, lip_frame, lip_mask,
                   lip_relief, mouth_shapes, smoothstep)

Array = np.ndarray

# ---- proportions (head-centred coordinates) ---------------------------------------------------------------
HEAD_RADII = (0.074, 0.100, 0.088)
ROWS, COLUMNS = 48, 80  # latitude rows and longitude columns of the skin grid away from the mouth
#: The grid is denser around the mouth: (extra density at its peak, width in radians) for rows and for columns.
ROW_CROWDING, COLUMN_CROWDING = (5.0, 0.1), (2.8, 0.4)
MOUTH_UNIT_Y = -0.45  # mouth line on the unit sphere before shaping
EYE_X, EYE_Y, EYE_RADIUS = 0.031, 0.018, 0.0125
EYE_PROTRUSION = 0.0035  # eyeball centre in front of the socket floor
NECK_PIVOT = np.array([0.0, -0.075, -0.012])  # where the Head node rotates (top of the neck)
JAW_OPEN_RAD = 0.30

SKIN = (0.86, 0.66, 0.55)
LIPS = (0.72, 0.38, 0.38)
BROWS = (0.28, 0.19, 0.14)
HAIR = (0.20, 0.13, 0.09)
MOUTH = (0.30, 0.07, 0.08)
TEETH = (0.9, 0.88, 0.82)
TONGUE = (0.80, 0.38, 0.40)
CLOTHES = (0.16, 0.24, 0.38)

#: Visemes as blends of ARKit shapes and two tongue poses of our own (keys are our viseme channel names), mixed the
#: way ARKit face capture shows each sound: lips sealed by press and roll (never mouthClose without jawOpen), the
#: jaw's opening shaped by funnel, pucker, stretch and smile, teeth shown by the lips lifting off them.
VISEME_RECIPES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"mouthPressLeft": 0.8, "mouthPressRight": 0.8, "mouthRollLower": 0.35, "mouthRollUpper": 0.35},
    "FF": {"mouthRollLower": 0.75, "mouthUpperUpLeft": 0.4, "mouthUpperUpRight": 0.4, "jawOpen": 0.08},
    "TH": {"jawOpen": 0.2, "_tongueTip": 1.0},
    "DD": {"jawOpen": 0.2, "_tongueUp": 1.0, "mouthStretchLeft": 0.15, "mouthStretchRight": 0.15},
    "kk": {"jawOpen": 0.28, "mouthStretchLeft": 0.15, "mouthStretchRight": 0.15},
    "CH": {"jawOpen": 0.15, "mouthFunnel": 0.6, "mouthPucker": 0.2},
    "SS": {"jawOpen": 0.05, "mouthStretchLeft": 0.4, "mouthStretchRight": 0.4, "mouthSmileLeft": 0.15,
           "mouthSmileRight": 0.15, "mouthUpperUpLeft": 0.15, "mouthUpperUpRight": 0.15},
    "nn": {"jawOpen": 0.15, "_tongueUp": 0.8},
    "RR": {"jawOpen": 0.15, "mouthFunnel": 0.4, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.75, "mouthUpperUpLeft": 0.1, "mouthUpperUpRight": 0.1},
    "E": {"jawOpen": 0.4, "mouthStretchLeft": 0.45, "mouthStretchRight": 0.45},
    "ih": {"jawOpen": 0.22, "mouthSmileLeft": 0.3, "mouthSmileRight": 0.3, "mouthStretchLeft": 0.35,
           "mouthStretchRight": 0.35},
    "oh": {"jawOpen": 0.4, "mouthFunnel": 0.8, "mouthPucker": 0.15},
    "ou": {"jawOpen": 0.2, "mouthPucker": 0.8, "mouthFunnel": 0.6},
}
_TONGUE_POSES = ("_tongueUp", "_tongueTip")


@dataclass
class Part:
    """A piece of geometry with its vertex colours, material and one displacement field per shape name."""

    name: str
    material: str
    positions: Array
    triangles: Array
    colors: Array
    shapes: dict[str, Array] = field(default_factory=dict)
    #: per-vertex weights naming what a vertex is, for tests that label rendered pixels ('lip', 'lining': 0..1)
    tags: dict[str, Array] = field(default_factory=dict)

    def shape(self, name: str) -> Array:
        return self.shapes.get(name, np.zeros_like(self.positions))


@dataclass(frozen=True)
class Landmarks:
    """Where the features ended up after shaping; every region is placed relative to these."""

    mouth_y: float
    mouth_z: float
    mouth_half_width: float
    eye_centres: tuple[Array, Array]  # left (+x), right (-x)


# ---- small maths ------------------------------------------------------------------------------------------
def gauss(x: Array, y: Array, cx: float, cy: float, sx: float, sy: float) -> Array:
    return np.exp(-(((x - cx) / sx) ** 2) - ((y - cy) / sy) ** 2)


def rotate_x(points: Array, pivot: Array, angle: float) -> Array:
    """Points rotated about the X axis through ``pivot`` (positive angle: the front moves down)."""
    c, s = np.cos(angle), np.sin(angle)
    rel = points - pivot
    out = rel.copy()
    out[:, 1] = c * rel[:, 1] - s * rel[:, 2]
    out[:, 2] = s * rel[:, 1] + c * rel[:, 2]
    return out + pivot


def vertex_normals(positions: Array, triangles: Array) -> Array:
    """Area-weighted unit normals (unit length within float32, as the validator checks)."""
    a, b, c = (positions[triangles[:, k]] for k in range(3))
    face = np.cross(b - a, c - a)
    normals = np.zeros_like(positions, dtype=np.float64)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), np.array([0.0, 0.0, 1.0]))
    return normals.astype(np.float32)


def ellipsoid(centre, radii, rows: int, columns: int, theta_max: float = np.pi) -> tuple[Array, Array]:
    """A UV ellipsoid (poles on Y, seam at the back, faces outwards); ``theta_max`` < pi leaves it open at the
    bottom."""
    theta = np.linspace(0.0, theta_max, rows + 1)[1:]
    phi = -np.pi + 2.0 * np.pi * np.arange(columns) / columns
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    positions = np.vstack([[0.0, 1.0, 0.0], unit]) * np.asarray(radii) + np.asarray(centre)
    triangles = []
    ring = lambda i, j: 1 + i * columns + (j % columns)  # noqa: E731
    for j in range(columns):
        triangles.append((0, ring(0, j + 1), ring(0, j)))
    for i in range(rows - 1):
        for j in range(columns):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            triangles += [(a, b, d), (a, d, c)]
    if theta_max >= np.pi - 1e-9:
        positions = np.vstack([positions[:-columns], [np.asarray(centre) - [0, radii[1], 0]]])
        bottom = len(positions) - 1
        triangles = [tuple(bottom if v >= bottom else v for v in tri) for tri in triangles]
        triangles = [tri for tri in triangles if len(set(tri)) == 3]
    return positions, np.asarray(triangles, dtype=np.uint32)[:, [0, 2, 1]]  # counter-clockwise seen from outside


# ---- skin ---------------------------------------------------------------------------------------------------
def _shape_skin(unit: Array, mouth_half_width: float) -> Array:
    """Unit sphere -> head: cranium, narrower jaw, nose, sockets, brow ridge, cheekbones, lips, chin."""
    ux, uy, uz = unit[:, 0], unit[:, 1], unit[:, 2]
    jaw = np.clip(-uy, 0.0, 1.0) ** 1.5
    x = HEAD_RADII[0] * ux * (1.0 - 0.30 * jaw) * (1.0 + 0.05 * smoothstep(-0.2, 0.6, uy))
    y = HEAD_RADII[1] * uy * np.where(uy > 0, 1.04, 1.0)
    z = HEAD_RADII[2] * uz * (1.0 + 0.12 * smoothstep(0.0, 0.8, -uz) * smoothstep(-0.5, 0.2, uy))
    z = z - 0.012 * smoothstep(0.0, 1.0, -uy) * smoothstep(0.3, 1.0, np.abs(ux))  # flatter jaw sides
    front = smoothstep(0.35, 0.85, uz)
    mouth_y = HEAD_RADII[1] * MOUTH_UNIT_Y
    # nose: a ridge growing from the bridge to the tip, then tucking under
    t = np.clip((EYE_Y - 0.004 - y) / 0.042, 0.0, 1.0)
    below_tip = smoothstep(EYE_Y - 0.046, EYE_Y - 0.058, y)
    nose = (0.004 + 0.021 * t ** 1.3) * np.exp(-((x / (0.0065 + 0.007 * t)) ** 2)) * (1.0 - below_tip)
    nose *= smoothstep(EYE_Y + 0.01, EYE_Y - 0.002, y)
    nostrils = 0.004 * (gauss(x, y, 0.010, EYE_Y - 0.045, 0.006, 0.006) + gauss(x, y, -0.010, EYE_Y - 0.045, 0.006,
                                                                                   0.006))
    sockets = -0.013 * (gauss(x, y, EYE_X, EYE_Y, 0.017, 0.012) + gauss(x, y, -EYE_X, EYE_Y, 0.017, 0.012))
    brow_ridge = 0.005 * gauss(x, y, 0.0, EYE_Y + 0.021, 0.05, 0.008)
    cheekbones = 0.005 * (gauss(x, y, 0.042, EYE_Y - 0.03, 0.014, 0.014) + gauss(x, y, -0.042, EYE_Y - 0.03, 0.014,
                                                                                    0.014))
    muzzle_height = np.where(y > mouth_y, 0.014, 0.024)
    muzzle = 0.006 * np.exp(-((x / 0.03) ** 4) - ((y - mouth_y - 0.002) / muzzle_height) ** 2)
    lips = muzzle + lip_relief(x, y, mouth_y, mouth_half_width)
    philtrum = -0.0015 * gauss(x, y, 0.0, mouth_y + 0.012, 0.006, 0.006)
    chin = 0.007 * gauss(x, y, 0.0, mouth_y - 0.04, 0.02, 0.012) + 0.009 * gauss(x, y, 0.0, mouth_y - 0.024, 0.024, 0.014)
    z = z + front * (nose + nostrils + sockets + brow_ridge + cheekbones + lips + philtrum + chin)
    return np.stack([x, y, z], axis=1)


@dataclass
class _SkinGrid:
    positions: Array
    triangles: Array
    upper_slit: Array  # vertex indices of the upper lip edge (corners included)
    lower_slit: Array  # the split copies under them (corners shared)
    half_width: float  # |x| of the corners


def crowded_samples(lo: float, hi: float, step: float, centre: float, crowding: tuple[float, float]) -> Array:
    """Samples from lo to hi (both included), ``step`` apart far away and ``1 + peak`` times closer at ``centre``."""
    peak, width = crowding
    fine = np.linspace(lo, hi, 8193)
    density = 1.0 + peak * np.exp(-(((fine - centre) / width) ** 2))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(fine))])
    count = max(1, int(round(cdf[-1] / step)))
    samples = np.interp(np.linspace(0.0, cdf[-1], count + 1), cdf, fine)
    samples[0], samples[-1] = lo, hi
    return samples


def _grid_angles() -> tuple[Array, Array]:
    """Latitudes (poles excluded) with the mouth line exactly on one, and longitudes with the face's centre on one;
    both crowd around the mouth."""
    mouth = float(np.arccos(MOUTH_UNIT_Y))
    step = np.pi / ROWS
    theta = np.concatenate([crowded_samples(0.0, mouth, step, mouth, ROW_CROWDING)[1:],
                            crowded_samples(mouth, np.pi, step, mouth, ROW_CROWDING)[1:-1]])
    half = crowded_samples(0.0, np.pi, 2.0 * np.pi / COLUMNS, 0.0, COLUMN_CROWDING)
    phi = np.concatenate([-half[:0:-1], half[:-1]])  # -pi .. 0 .. (not pi): the face's centre at len(half) - 1
    return theta, phi


def _skin_grid() -> _SkinGrid:
    """The head as a latitude/longitude grid whose mouth row is split into an upper and a lower lip edge."""
    theta, phi = _grid_angles()
    rows, columns = len(theta), len(phi)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    unit = np.vstack([unit, [[0, 1, 0], [0, -1, 0]]])
    top, bottom = len(unit) - 2, len(unit) - 1
    mouth_row = int(np.argmin(np.abs(np.cos(theta) - MOUTH_UNIT_Y)))
    unit[mouth_row * columns:(mouth_row + 1) * columns, 1] = MOUTH_UNIT_Y  # put the slit on an exact line
    index = lambda i, j: i * columns + (j % columns)  # noqa: E731
    centre = columns // 2
    row_x = np.abs(_shape_skin(unit[mouth_row * columns:(mouth_row + 1) * columns], MOUTH_HALF_WIDTH)[:, 0])
    half = int(np.argmin(np.abs(row_x[centre:centre + columns // 4] - MOUTH_HALF_WIDTH)))
    slit = list(range(centre - half, centre + half + 1))
    lower_copy = {}
    extra = []
    for j in slit[1:-1]:
        lower_copy[j] = len(unit) + len(extra)
        extra.append(unit[index(mouth_row, j)])
    unit = np.vstack([unit, extra])
    triangles = []
    for j in range(columns):
        triangles.append((top, index(0, j + 1), index(0, j)))
        triangles.append((bottom, index(rows - 1, j), index(rows - 1, j + 1)))
    for i in range(rows - 1):
        for j in range(columns):
            a, b, c, d = index(i, j), index(i, j + 1), index(i + 1, j), index(i + 1, j + 1)
            if i == mouth_row:  # the row under the slit hangs from the lower lip copies
                a = lower_copy.get(j % columns, a)
                b = lower_copy.get((j + 1) % columns, b)
            triangles += [(a, d, b), (a, c, d)]
    upper = np.array([index(mouth_row, j) for j in slit])
    lower = np.array([upper[0], *[lower_copy[j] for j in slit[1:-1]], upper[-1]])
    half_width = float(row_x[centre + half])
    return _SkinGrid(_shape_skin(unit, half_width), np.asarray(triangles, dtype=np.uint32), upper, lower, half_width)


def _lip_strips(grid: _SkinGrid) -> tuple[Array, Array, Array, Array, int]:
    """Inner lip surfaces: rows behind each lip edge curving into the mouth, so parted lips show their thickness.

    Returns their positions, triangles, the slit vertex each row vertex follows, how far each is into the mouth's
    lining (0 lip red .. 1 lining) and the index of the first."""
    base = len(grid.positions)
    positions, triangles, sources, lining = [], [], [], []
    for edge, sign in ((grid.upper_slit, 1.0), (grid.lower_slit, -1.0)):
        previous = edge
        for row, (*_, inside) in zip(inner_lip_rows(grid.positions[edge], sign, grid.half_width), INNER_LIP_ROWS):
            lining.extend([inside] * (len(edge) - 2))
            start = base + len(positions)
            current = np.empty(len(edge), dtype=np.int64)
            current[0], current[-1] = edge[0], edge[-1]  # the rows close at the corners
            current[1:-1] = np.arange(start, start + len(edge) - 2)
            positions.extend(row[1:-1])
            sources.extend(edge[1:-1])
            for k in range(len(edge) - 1):
                a, b, c, d = previous[k], previous[k + 1], current[k], current[k + 1]
                quad = [(a, c, d), (a, d, b)] if sign > 0 else [(a, d, c), (a, b, d)]
                triangles += [tri for tri in quad if len(set(tri)) == 3]
            previous = current
    return (np.asarray(positions), np.asarray(triangles, dtype=np.uint32), np.asarray(sources), np.asarray(lining),
            base)


INNER_LIP = (0.62, 0.27, 0.29)
GUMS = (0.45, 0.14, 0.16)


def _lining_colors(lining: Array) -> Array:
    """Lip red on the lip's edge, a deeper wet red inside, the gums' darker red where it meets the teeth."""
    first = np.clip(lining / 0.5, 0.0, 1.0)[:, None]
    second = np.clip(lining / 0.5 - 1.0, 0.0, 1.0)[:, None]
    return (np.asarray(LIPS) * (1 - first) + np.asarray(INNER_LIP) * first) * (1 - second) + np.asarray(GUMS) * second


def _lip_weight(p: Array, marks: Landmarks) -> Array:
    """1 on the lips' red, 0 on the skin."""
    return lip_mask(p[:, 0], p[:, 1], marks.mouth_y, marks.mouth_half_width) * smoothstep(0.03, 0.06, p[:, 2])


def _skin_colors(p: Array, marks: Landmarks) -> Array:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    color = np.tile(np.asarray(SKIN), (len(p), 1))
    lips = _lip_weight(p, marks)
    brows = np.zeros(len(p))
    for side in (1.0, -1.0):
        arch = EYE_Y + 0.019 + 0.004 * np.exp(-(((x - side * 0.03) / 0.012) ** 2)) - 0.002 * (
            np.abs(x) > 0.04)
        brows = np.maximum(brows, np.exp(-(((x - side * 0.029) / 0.017) ** 6) - ((y - arch) / 0.0035) ** 4))
    brows *= smoothstep(0.04, 0.07, z)
    forehead_face = smoothstep(0.45, 0.65, z / HEAD_RADII[2]) * smoothstep(0.075, 0.06, y)
    sideburn_free = smoothstep(0.035, 0.02, y) * smoothstep(-0.02, 0.02, z)
    hair = smoothstep(0.03, 0.045, y + 0.03 * smoothstep(0.0, -0.06, z)) * (1 - forehead_face) * (1 - sideburn_free)
    hair = np.maximum(hair, smoothstep(-0.02, -0.05, z) * smoothstep(-0.07, -0.03, y))
    for weight, tint in ((lips, LIPS), (brows, BROWS), (np.clip(hair, 0, 1), HAIR)):
        color = color * (1 - weight[:, None]) + np.asarray(tint) * weight[:, None]
    return color


@dataclass
class _Regions:
    """Per-vertex weights of the skin's moving regions (the lips' own in ``lips``)."""

    jaw: Array
    lips: LipFrame
    mouth: Array
    corner: dict[float, Array]
    brow: dict[float, Array]
    brow_inner: dict[float, Array]
    brow_outer: dict[float, Array]
    cheek: dict[float, Array]
    cheek_puff: Array
    nose_side: dict[float, Array]
    under_eye: dict[float, Array]


def _chin_weight(p: Array, is_upper: Array, is_lower: Array, marks: Landmarks) -> Array:
    """The jaw's share away from the lips: 1 on the chin, fading up the cheeks and towards the ears."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    ym = marks.mouth_y
    below = np.where(is_lower, 1.0, np.where(is_upper, 0.0, smoothstep(ym + 0.001, ym - 0.008, y)))
    lateral = smoothstep(-0.035, 0.015, z) * smoothstep(ym + 0.03, ym - 0.005, y - 0.25 * np.abs(x))
    return below * lateral * smoothstep(0.075, 0.045, np.abs(x) + 0.3 * np.maximum(0, ym - y))


def _skin_regions(p: Array, is_upper: Array, is_lower: Array, marks: Landmarks) -> _Regions:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    ym, w = marks.mouth_y, marks.mouth_half_width
    front = smoothstep(0.035, 0.07, z)
    lips = lip_frame(p, is_upper, is_lower, ym, w)
    jaw = jaw_weight(lips, _chin_weight(p, is_upper, is_lower, marks))
    mouth = _mouth_weight(p, marks)
    sides = (1.0, -1.0)
    corner = _corner_weights(p, marks)
    brow_y = EYE_Y + 0.021
    brow = {s: gauss(x, y, s * 0.029, brow_y, 0.02, 0.011) * front for s in sides}
    brow_inner = {s: gauss(x, y, s * 0.013, brow_y, 0.012, 0.011) * front for s in sides}
    brow_outer = {s: gauss(x, y, s * 0.045, brow_y - 0.002, 0.012, 0.011) * front for s in sides}
    cheek = {s: gauss(x, y, s * 0.036, EYE_Y - 0.028, 0.014, 0.011) * front for s in sides}
    cheek_puff = (gauss(x, y, 0.043, ym + 0.006, 0.016, 0.02) + gauss(x, y, -0.043, ym + 0.006, 0.016, 0.02))
    cheek_puff *= smoothstep(0.0, 0.04, z)
    nose_side = {s: gauss(x, y, s * 0.011, EYE_Y - 0.036, 0.008, 0.012) * front for s in sides}
    under_eye = {s: gauss(x, y, s * EYE_X, EYE_Y - 0.016, 0.013, 0.007) * front for s in sides}
    return _Regions(jaw, lips, mouth, corner, brow, brow_inner, brow_outer, cheek, cheek_puff, nose_side, under_eye)


def _jaw_shapes(p: Array, jaw: Array, marks: Landmarks) -> dict[str, Array]:
    """Shapes that move with the lower jaw: open (a hinge rotation), forward, left, right."""
    w = jaw[:, None]
    return {
        "jawOpen": w * _jaw_move(p, marks),
        "jawForward": w * np.array([0.0, 0.0, 0.007]),
        "jawLeft": w * np.array([0.008, 0.0, 0.0]),
        "jawRight": w * np.array([-0.008, 0.0, 0.0]),
    }


def _jaw_move(p: Array, marks: Landmarks) -> Array:
    """Where the jaw's hinge rotation takes each point, minus where it was."""
    hinge = np.array([0.0, marks.mouth_y + 0.03, -0.01])
    return rotate_x(p, hinge, JAW_OPEN_RAD) - p


def _corner_weights(p: Array, marks: Landmarks) -> dict[float, Array]:
    """Around each mouth corner (left +1, right -1), in the front of the face."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    front = smoothstep(0.035, 0.07, z)
    return {s: np.exp(-((x - s * marks.mouth_half_width) ** 2 + (y - marks.mouth_y) ** 2) / 0.011 ** 2) * front
            for s in (1.0, -1.0)}


def _mouth_weight(p: Array, marks: Landmarks) -> Array:
    """The mouth and the skin around it (what mouthLeft / mouthRight carry sideways)."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    return np.exp(-((x / (1.4 * marks.mouth_half_width)) ** 2) - ((y - marks.mouth_y) / 0.018) ** 2) * smoothstep(
        0.035, 0.07, z)


def _sideways(weight: Array) -> tuple[Array, Array]:
    """mouthLeft and mouthRight for a weight field."""
    return weight[:, None] * np.array([0.009, 0.0, 0.0]), weight[:, None] * np.array([-0.009, 0.0, 0.0])


def _corner_shapes(corner: dict[float, Array]) -> dict[str, Array]:
    """Shapes that move the mouth's corners: smile, frown, dimple, stretch (the skin's and the cavity's walls)."""
    shapes = {}
    for s, suffix in ((1.0, "Left"), (-1.0, "Right")):
        c = corner[s][:, None]
        shapes[f"mouthSmile{suffix}"] = c * np.array([s * 0.004, 0.008, -0.003])
        shapes[f"mouthFrown{suffix}"] = c * np.array([s * 0.001, -0.007, 0.0])
        shapes[f"mouthDimple{suffix}"] = c * np.array([s * 0.003, 0.0, -0.005])
        shapes[f"mouthStretch{suffix}"] = c * np.array([s * 0.008, -0.002, -0.002])
    return shapes


def _skin_shapes(p: Array, r: _Regions, marks: Landmarks, normals: Array) -> dict[str, Array]:
    """ARKit shapes of the skin: the lips' from lips.py, the rest a few region weights times a direction."""
    v = lambda *xyz: np.array(xyz)  # noqa: E731
    col = lambda weight: weight[:, None]  # noqa: E731
    shapes = _jaw_shapes(p, r.jaw, marks)
    shapes.update(mouth_shapes(p, r.lips, _jaw_move(p, marks)))
    shapes["mouthLeft"], shapes["mouthRight"] = _sideways(r.mouth)
    shapes["browInnerUp"] = col(r.brow_inner[1.0] + r.brow_inner[-1.0]) * v(0, 0.008, 0)
    shapes["cheekPuff"] = col(r.cheek_puff) * normals * 0.012
    shapes.update(_corner_shapes(r.corner))
    for s, suffix in ((1.0, "Left"), (-1.0, "Right")):
        shapes[f"mouthSmile{suffix}"] += col(r.cheek[s]) * v(0, 0.003, 0.002)
        shapes[f"browDown{suffix}"] = col(r.brow[s]) * v(-s * 0.002, -0.006, 0.001)
        shapes[f"browOuterUp{suffix}"] = col(r.brow_outer[s]) * v(0, 0.008, 0)
        shapes[f"cheekSquint{suffix}"] = col(r.cheek[s]) * v(0, 0.005, 0.002)
        shapes[f"noseSneer{suffix}"] = col(r.nose_side[s]) * v(0, 0.004, 0.001) + col(r.brow_inner[s]) * v(0, -0.002, 0)
        shapes[f"eyeSquint{suffix}"] = col(r.under_eye[s]) * v(0, 0.003, 0.001)
        shapes[f"eyeWide{suffix}"] = col(r.brow[s]) * v(0, 0.002, 0)
    return shapes


def _build_skin() -> tuple[Part, Landmarks]:
    grid = _skin_grid()
    upper_edge = grid.positions[grid.upper_slit]
    marks = Landmarks(
        mouth_y=float(upper_edge[:, 1].mean()),
        mouth_z=float(upper_edge[:, 2].max()),
        mouth_half_width=grid.half_width,
        eye_centres=(_eye_centre(grid.positions, 1.0), _eye_centre(grid.positions, -1.0)),
    )
    strip_positions, strip_triangles, sources, lining, base = _lip_strips(grid)
    positions = np.vstack([grid.positions, strip_positions])
    triangles = np.vstack([grid.triangles, strip_triangles])
    is_upper = np.zeros(len(positions), bool)
    is_lower = np.zeros(len(positions), bool)
    is_upper[grid.upper_slit[1:-1]] = True
    is_lower[grid.lower_slit[1:-1]] = True
    region_points = positions.copy()
    region_points[base:] = grid.positions[sources]  # inner lip rows move exactly like their lip edge
    is_upper[base:], is_lower[base:] = is_upper[sources], is_lower[sources]
    regions = _skin_regions(region_points, is_upper, is_lower, marks)
    normals = vertex_normals(positions, triangles)
    shapes = _skin_shapes(positions, regions, marks, normals)
    colors = _skin_colors(positions, marks)
    colors[base:] = _lining_colors(lining)
    lip = _lip_weight(positions, marks)
    lip[base:] = 1.0 - np.clip(lining / 0.5 - 1.0, 0.0, 1.0)
    tags = {"lip": lip, "lining": np.r_[np.zeros(base), lining]}
    return Part("skin", "Skin", positions, triangles, colors, shapes, tags), marks


def _eye_centre(skin: Array, side: float) -> Array:
    """Eyeball centre: on the socket floor plus a little, so the front of the eye stands out of the skin."""
    near = np.argmin((skin[:, 0] - side * EYE_X) ** 2 + (skin[:, 1] - EYE_Y) ** 2 + (skin[:, 2] < 0) * 1.0)
    return np.array([side * EYE_X, EYE_Y, skin[near, 2] - EYE_RADIUS + EYE_PROTRUSION + 0.006])


# ---- eyelids --------------------------------------------------------------------------------------------------
_LID_ROWS, _LID_COLUMNS = 7, 18
_UPPER_LID = {"top": 80.0, "edge": 22.0, "radius": 1.14}
_LOWER_LID = {"top": -78.0, "edge": -26.0, "radius": 1.10}
#: Lid edge elevations (degrees) and azimuth shifts per shape: (upper edge, lower edge, azimuth shift).
_LID_POSES: dict[str, tuple[float, float, float]] = {
    "eyeBlink": (-10.0, -14.0, 0.0),
    "eyeSquint": (12.0, -10.0, 0.0),
    "eyeWide": (40.0, -32.0, 0.0),
    "eyeLookUp": (32.0, -20.0, 0.0),
    "eyeLookDown": (4.0, -34.0, 0.0),
    "eyeLookIn": (22.0, -26.0, -6.0),
    "eyeLookOut": (22.0, -26.0, 6.0),
}


def _lid_points(centre: Array, lid: dict, edge: float, shift: float) -> Array:
    elevation = np.radians(np.linspace(lid["top"], edge, _LID_ROWS))
    azimuth = np.radians(np.linspace(-85.0, 85.0, _LID_COLUMNS) + shift)
    e, a = np.meshgrid(elevation, azimuth, indexing="ij")
    r = EYE_RADIUS * lid["radius"]
    # the lid edge bulges out a little so it reads as a rim
    rim = 1.0 + 0.05 * (np.arange(_LID_ROWS) / (_LID_ROWS - 1))[:, None] ** 3
    points = np.stack([np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)], axis=-1) * r * rim[..., None]
    return points.reshape(-1, 3) + centre


def _grid_triangles(rows: int, columns: int, flip: bool) -> Array:
    triangles = []
    for i in range(rows - 1):
        for j in range(columns - 1):
            a, b, c, d = i * columns + j, i * columns + j + 1, (i + 1) * columns + j, (i + 1) * columns + j + 1
            triangles += [(a, b, d), (a, d, c)] if flip else [(a, d, b), (a, c, d)]
    return np.asarray(triangles, dtype=np.uint32)


def _build_lids(marks: Landmarks) -> Part:
    positions, triangles, shapes = [], [], {}
    offset = 0
    for centre, side, suffix in ((marks.eye_centres[0], 1.0, "Left"), (marks.eye_centres[1], -1.0, "Right")):
        for lid, is_upper in ((_UPPER_LID, True), (_LOWER_LID, False)):
            rest = _lid_points(centre, lid, lid["edge"], 0.0)
            positions.append(rest)
            triangles.append(_grid_triangles(_LID_ROWS, _LID_COLUMNS, flip=not is_upper) + offset)
            for pose, (upper_edge, lower_edge, shift) in _LID_POSES.items():
                moved = _lid_points(centre, lid, upper_edge if is_upper else lower_edge, side * shift)
                shapes.setdefault(pose + suffix, []).append((offset, moved - rest))
            offset += len(rest)
    all_positions = np.vstack(positions)
    fields = {}
    for name, pieces in shapes.items():
        field_ = np.zeros_like(all_positions)
        for start, delta in pieces:
            field_[start:start + len(delta)] = delta
        fields[name] = field_
    colors = np.tile(np.asarray(SKIN) * 0.97, (len(all_positions), 1))
    rows = np.tile(np.repeat(np.arange(_LID_ROWS), _LID_COLUMNS), 4)
    lash = (rows == _LID_ROWS - 1)[:, None]
    colors = np.where(lash, np.asarray(BROWS) * 0.6, colors)  # a dark lash line on the lid edge
    return Part("lids", "Skin", all_positions, np.vstack(triangles), colors, fields)


# ---- mouth interior ------------------------------------------------------------------------------------------
def _jaw_weights_below(p: Array, y0: float, y1: float) -> Array:
    return smoothstep(y0, y1, p[:, 1])


#: The teeth's front surface behind the slit (metres), and where their biting edges sit below the mouth line.
TEETH_BACK = 0.0074
UPPER_TEETH_EDGE, LOWER_TEETH_EDGE = 0.0033, 0.0043


def _build_mouth(marks: Landmarks) -> Part:
    """The mouth cavity: the back half of an ellipsoid, seen from inside through the lips and the teeth."""
    centre = np.array([0.0, marks.mouth_y - 0.002, marks.mouth_z - TEETH_BACK - 0.016])
    radii = (marks.mouth_half_width + 0.003, 0.0135, 0.02)
    sphere, triangles = ellipsoid(centre, radii, 16, 32)
    keep = sphere[:, 2] <= centre[2] + 0.01
    keep[0] = True
    index = -np.ones(len(sphere), int)
    index[keep] = np.arange(keep.sum())
    triangles = index[triangles]
    triangles = triangles[(triangles >= 0).all(axis=1)].astype(np.uint32)
    positions = sphere[keep]
    jaw = _jaw_weights_below(positions, centre[1] + 0.004, centre[1] - 0.012)
    colors = np.tile(np.asarray(MOUTH), (len(positions), 1))
    shapes = _jaw_shapes(positions, jaw, marks)
    # the walls follow the mouth's corners, so the cheeks never pass through them
    walls = positions.copy()
    walls[:, 2] = marks.mouth_z - 0.004 + 0.4 * (positions[:, 2] - centre[2] - 0.01)
    shapes.update(_corner_shapes(_corner_weights(walls, marks)))
    inward = positions * np.array([-1.0, 0.0, 0.0])
    shapes["mouthFunnel"], shapes["mouthPucker"] = 0.3 * inward, 0.45 * inward
    sideways = _jaw_shapes(positions, 0.25 + 0.75 * jaw, marks)
    shapes["jawLeft"], shapes["jawRight"] = sideways["jawLeft"], sideways["jawRight"]
    shapes["mouthLeft"], shapes["mouthRight"] = _sideways(_mouth_weight(walls, marks))
    return Part("mouth", "MouthInterior", positions, triangles, colors, shapes)


def _teeth_arc(front_z: float, radius: float, top: float, bottom: float, scallop_bottom: bool) -> tuple[Array, Array]:
    """A U-shaped band of teeth: a rectangular section swept along an arc, with a scalloped biting edge."""
    angles = np.radians(np.linspace(-70, 70, 29))
    centre_z = front_z - radius
    thickness = 0.004
    positions = []
    for k, a in enumerate(angles):
        notch = 0.0007 * abs(np.sin(k * np.pi / 2))  # tooth gaps
        y_top = top - (0 if scallop_bottom else notch)
        y_bottom = bottom + (notch if scallop_bottom else 0)
        for r, yy in ((radius, y_top), (radius, y_bottom), (radius - thickness, y_bottom), (radius - thickness, y_top)):
            positions.append((r * np.sin(a), yy, centre_z + r * np.cos(a) * 1.0))
    positions = np.asarray(positions)
    triangles = []
    for k in range(len(angles) - 1):
        for s in range(4):
            a, b = 4 * k + s, 4 * k + (s + 1) % 4
            c, d = a + 4, b + 4
            triangles += [(a, c, d), (a, d, b)]
    for cap, flip in ((0, True), (4 * (len(angles) - 1), False)):
        quad = [(cap, cap + 1, cap + 2), (cap, cap + 2, cap + 3)]
        triangles += [(t[0], t[2], t[1]) for t in quad] if flip else quad
    return positions, np.asarray(triangles, dtype=np.uint32)


def _build_teeth(marks: Landmarks) -> Part:
    """Upper teeth a little below the mouth line (they show when the lips part); the lower ones just behind them."""
    ym, front = marks.mouth_y, marks.mouth_z - TEETH_BACK
    upper, upper_tris = _teeth_arc(front, 0.020, ym + 0.009, ym - UPPER_TEETH_EDGE, scallop_bottom=True)
    lower, lower_tris = _teeth_arc(front - 0.0015, 0.0185, ym - LOWER_TEETH_EDGE + 0.0012, ym - 0.0098,
                                   scallop_bottom=False)
    positions = np.vstack([upper, lower])
    triangles = np.vstack([upper_tris, lower_tris + len(upper)])
    jaw = np.r_[np.zeros(len(upper)), np.ones(len(lower))]
    colors = np.tile(np.asarray(TEETH), (len(positions), 1))
    return Part("teeth", "Teeth", positions, triangles, colors, _jaw_shapes(positions, jaw, marks))


def _build_tongue(marks: Landmarks) -> Part:
    """The tongue lies behind the lower teeth; tongueOut pushes it out, two poses of our own lift its tip."""
    front = marks.mouth_z - TEETH_BACK - 0.0015 - 0.004  # the lower teeth's inner face
    centre = np.array([0.0, marks.mouth_y - LOWER_TEETH_EDGE - 0.0038, front - 0.021])
    positions, triangles = ellipsoid(centre, (0.0155, 0.0048, 0.021), 10, 24)
    shapes = _jaw_shapes(positions, np.ones(len(positions)), marks)
    tip = smoothstep(centre[2] - 0.005, centre[2] + 0.021, positions[:, 2])[:, None]
    shapes["tongueOut"] = tip * np.array([0.0, 0.0095, 0.022])  # up and out over the lower lip
    shapes["_tongueUp"] = tip ** 2 * np.array([0.0, 0.011, 0.002])
    shapes["_tongueTip"] = tip ** 2 * np.array([0.0, 0.0085, 0.012])  # between the teeth, just showing
    colors = np.tile(np.asarray(TONGUE), (len(positions), 1))
    colors[:, :] *= (0.85 + 0.15 * smoothstep(centre[1] - 0.005, centre[1] + 0.005, positions[:, 1]))[:, None]
    return Part("tongue", "Tongue", positions, triangles, colors, shapes)


# ---- eyes and body ------------------------------------------------------------------------------------------
def build_eye() -> Part:
    """One eyeball at the origin looking along +Z: sclera, a blue-grey iris, a pupil, a faint limbal ring."""
    positions, triangles = ellipsoid((0, 0, 0), (EYE_RADIUS,) * 3, 16, 24)
    # rotate so the pole looks along +Z (finer rings around the iris)
    positions = positions[:, [0, 2, 1]] * [1.0, -1.0, 1.0]
    angle = np.degrees(np.arccos(np.clip(positions[:, 2] / EYE_RADIUS, -1, 1)))
    iris = smoothstep(34.0, 30.0, angle)
    pupil = smoothstep(15.0, 12.0, angle)
    colors = np.tile([0.93, 0.92, 0.9], (len(positions), 1))
    colors = colors * (1 - iris[:, None]) + np.array([0.28, 0.42, 0.52]) * iris[:, None]
    colors = colors * (1 - pupil[:, None]) + np.array([0.03, 0.03, 0.04]) * pupil[:, None]
    return Part("eye", "Eye", positions, triangles, colors)


def build_ears() -> Part:
    """Two simple ears on the sides of the head (they turn with it, no morph targets)."""
    positions, triangles, colors = [], [], []
    for side in (1.0, -1.0):
        ear, ear_tris = ellipsoid((side * 0.071, EYE_Y - 0.02, -0.012), (0.009, 0.027, 0.016), 10, 16)
        ear[:, 0] += side * 0.006 * smoothstep(-0.03, 0.0, ear[:, 2] + 0.012 - 0.0)  # the rim stands off the head
        triangles.append(ear_tris + sum(len(p) for p in positions))
        positions.append(ear)
        colors.append(np.tile(np.asarray(SKIN) * 0.93, (len(ear), 1)))
    return Part("ears", "Skin", np.vstack(positions), np.vstack(triangles), np.vstack(colors))


def build_body() -> list[Part]:
    """A neck and shoulders, so the head does not float."""
    neck, neck_tris = ellipsoid((0, -0.11, -0.015), (0.054, 0.08, 0.05), 12, 32)
    neck[:, 1] = np.clip(neck[:, 1], -0.18, -0.035)
    shoulders, shoulder_tris = ellipsoid((0, -0.19, -0.015), (0.19, 0.06, 0.105), 12, 40, theta_max=np.pi / 2)
    neck_colors = np.tile(np.asarray(SKIN) * 0.95, (len(neck), 1))
    shirt_colors = np.tile(np.asarray(CLOTHES), (len(shoulders), 1))
    return [Part("neck", "Skin", neck, neck_tris, neck_colors),
            Part("shoulders", "Clothes", shoulders, shoulder_tris, shirt_colors)]


# ---- the whole head -------------------------------------------------------------------------------------------
def shape_names() -> list[str]:
    """Morph target names of the head mesh: the 52 ARKit shapes, then the 15 visemes as Ready Player Me names them."""
    from ..export.retarget import viseme_target_names

    visemes = viseme_target_names()
    return [*ARKIT_BLENDSHAPES, *(visemes[name] for name in OCULUS_VISEMES)]


def _add_visemes(part: Part) -> None:
    from ..export.retarget import viseme_target_names

    for viseme, target in viseme_target_names().items():
        total = np.zeros_like(part.positions)
        for shape, weight in VISEME_RECIPES[viseme].items():
            total = total + weight * part.shape(shape)
        part.shapes[target] = total
    for pose in _TONGUE_POSES:
        part.shapes.pop(pose, None)


@dataclass
class HeadModel:
    """Everything the GLB writer needs, in head-centred coordinates."""

    head_parts: list[Part]
    eye: Part
    ears: Part
    body: list[Part]
    landmarks: Landmarks
    pivot: Array = field(default_factory=lambda: NECK_PIVOT.copy())


def build_head() -> HeadModel:
    skin, marks = _build_skin()
    parts = [skin, _build_lids(marks), _build_mouth(marks), _build_teeth(marks), _build_tongue(marks)]
    for part in parts:
        _add_visemes(part)
    missing = set(shape_names()) - set().union(*(p.shapes for p in parts))
    assert not missing, f"head lacks shapes {missing}"
    return HeadModel(parts, build_eye(), build_ears(), build_body(), marks)


ShapeFilter = Callable[[str], bool]
