"""Inside the photo face's mouth: the lining (a cavity glued to the inner lip ring), upper and lower teeth and a
tongue, sized from the face's mouth width. The upper teeth stay with the skull; the lower teeth, the tongue and the
cavity's floor turn with the jaw. Closed lips hide them all: every part is kept behind the skin (the rest face's
and each shape's own) wherever skin covers it, so they show only through an opening mouth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..avatar.head import TEETH, TONGUE, VISEME_RECIPES, _teeth_arc, ellipsoid
from ..avatar.lips import smoothstep
from ..export.retarget import viseme_target_names
from .shapes import JAW_ANGLE, JAW_SHIFTS, jaw_turn
from .topology import Topology, wound_along

Array = np.ndarray
#: (positions, triangles, linear vertex colours or None, target name -> (n, 3) moves), as head_shell returns.
Part = tuple[Array, Array, Array | None, dict[str, Array]]
#: The default head's mouth half width (metres): its teeth and tongue sizes are scaled from it to this face's.
DEFAULT_HALF_WIDTH = 0.0237
SCALE_RANGE = (0.8, 1.25)  # a very narrow or wide mouth still gets teeth of a human size
#: How far parts stay behind the skin in front of them (metres): closed lips hide them, even rolled in.
SKIN_MARGIN = 0.0012
LOWER_TEETH_TOP = -0.001  # below the lip line (negative: above, behind the upper teeth): they show over the lower lip
TEETH_GAP = 0.0025  # the upper incisors' front behind the upper lip's inner edge
LINING_BEHIND = 0.0003  # metres the lining's front edge sits behind the inner lip ring
MOUTH_DEPTH = 0.026  # the lining's back behind the lips' inner edge (metres)
TONGUE_LENGTH = 0.032
TONGUE_POSES = {"_tongueUp": (0.0, 0.011, 0.002), "_tongueTip": (0.0, 0.0085, 0.012)}  # the default head's
TONGUE_OUT = (0.0, 0.004, 0.024)  # the tip's move at tongueOut: out between the parted lips


@dataclass(frozen=True)
class MouthFrame:
    """Where the mouth is on the rest (closed-lip) face, in the head frame."""

    x: float  # the mouth's middle
    lip_y: float  # where the lips meet at the middle
    front_z: float  # the upper lip's inner edge at the middle
    scale: float  # this mouth's width over the default head's, within SCALE_RANGE

    @classmethod
    def of(cls, p: Array) -> MouthFrame:
        half_width = float(np.linalg.norm(p[291] - p[61])) / 2
        return cls(float(p[[13, 14], 0].mean()), float(p[[13, 14], 1].mean()), float(p[13, 2]),
                   float(np.clip(half_width / DEFAULT_HALF_WIDTH, *SCALE_RANGE)))


def front_depth(xy: Array, face: Array, triangles: Array) -> Array:
    """z of the frontmost triangle over each (x, y) point, -inf where no triangle covers it (the mouth's hole)."""
    if not len(xy):
        return np.zeros(0)
    corners = face[triangles]  # (k, 3, 3); only those whose box meets the points' box
    low, high = xy.min(axis=0), xy.max(axis=0)
    corners = corners[(corners[..., :2].max(axis=1) >= low).all(axis=1)
                      & (corners[..., :2].min(axis=1) <= high).all(axis=1)]
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1 = (b - a)[None, :, :2], (c - a)[None, :, :2]
    v2 = xy[:, None, :] - a[None, :, :2]
    det = v0[..., 0] * v1[..., 1] - v0[..., 1] * v1[..., 0]
    det = np.where(np.abs(det) < 1e-12, np.nan, det)
    u = (v2[..., 0] * v1[..., 1] - v2[..., 1] * v1[..., 0]) / det
    v = (v0[..., 0] * v2[..., 1] - v0[..., 1] * v2[..., 0]) / det
    inside = (u >= -1e-6) & (v >= -1e-6) & (u + v <= 1 + 1e-6)
    z = a[None, :, 2] + u * (b - a)[None, :, 2] + v * (c - a)[None, :, 2]
    return np.where(inside, z, -np.inf).max(axis=1, initial=-np.inf)


def behind_skin(points: Array, face: Array, triangles: Array, margin: float = SKIN_MARGIN) -> Array:
    """``points`` pushed straight back wherever they are not at least ``margin`` behind the skin over them."""
    out = points.copy()
    skin = front_depth(points[:, :2], face, triangles)
    covered = np.isfinite(skin)
    out[covered, 2] = np.minimum(points[covered, 2], skin[covered] - margin)
    return out


def in_front_of(points: Array, body: tuple[Array, Array], margin: float = SKIN_MARGIN) -> Array:
    """``points`` brought straight forward wherever they are not at least ``margin`` in front of ``body``'s
    (positions, triangles) front surface: the neck must not show inside an open mouth."""
    out = points.copy()
    neck = front_depth(points[:, :2], *body)
    covered = np.isfinite(neck)
    out[covered, 2] = np.maximum(points[covered, 2], neck[covered] + margin)
    return out


def _jaw_moves(face: Array, points: Array) -> dict[str, Array]:
    """The jaw's own shapes at full weight for points that ride on the jaw (the face's jawOpen turn and shifts)."""
    moves = {"jawOpen": jaw_turn(face, points, JAW_ANGLE)}
    moves.update({name: np.tile(np.array(shift), (len(points), 1)) for name, shift in JAW_SHIFTS.items()})
    return moves


def teeth(frame: MouthFrame) -> tuple[Array, Array, Array, Array]:
    """(positions, triangles, colours, on_jaw): the default head's U-shaped teeth bands scaled to this mouth, the
    upper biting edge 3.3 mm below the lip line (it shows as soon as the lips part), the lower band's top 1 mm above
    it, just behind the upper (hidden by it and the lips until the jaw drops)."""
    s, y = frame.scale, frame.lip_y
    front = frame.front_z - TEETH_GAP
    upper, upper_tris = _teeth_arc(front, 0.020 * s, y + 0.009 * s, y - 0.0033 * s, scallop_bottom=True)
    lower, lower_tris = _teeth_arc(front - 0.0015 * s, 0.0185 * s, y - LOWER_TEETH_TOP * s, y - 0.0098 * s,
                                   scallop_bottom=False)
    positions = np.vstack([upper, lower]) + np.array([frame.x, 0.0, 0.0])
    triangles = np.vstack([upper_tris, lower_tris + len(upper)]).astype(np.int64)
    depth = smoothstep(front - 0.014 * s, front, positions[:, 2])[:, None]  # the back teeth in the mouth's shade
    colours = np.asarray(TEETH)[None] * (0.55 + 0.45 * depth)
    return positions, triangles, colours, np.r_[np.zeros(len(upper)), np.ones(len(lower))]


def tongue(frame: MouthFrame) -> tuple[Array, Array, Array, dict[str, Array]]:
    """(positions, triangles, colours, its own shapes): the default head's tongue scaled to this mouth, lying
    behind the lower teeth; tongueOut takes its tip out between the lips, the tongue poses lift it."""
    s = frame.scale
    front = frame.front_z - TEETH_GAP - 0.0055 * s  # the lower teeth's inner face
    centre = np.array([frame.x, frame.lip_y - (LOWER_TEETH_TOP + 0.001 + 0.0048) * s, front - TONGUE_LENGTH / 2])
    positions, triangles = ellipsoid(centre, (0.0155 * s, 0.0048 * s, TONGUE_LENGTH / 2), 8, 16)
    tip = smoothstep(centre[2] - 0.005, centre[2] + TONGUE_LENGTH / 2, positions[:, 2])[:, None]
    shapes = {"tongueOut": tip * np.array(TONGUE_OUT) * s}
    shapes.update({name: tip ** 2 * np.array(move) * s for name, move in TONGUE_POSES.items()})
    top = smoothstep(centre[1] - 0.005 * s, centre[1] + 0.005 * s, positions[:, 1])
    colours = np.asarray(TONGUE)[None] * (0.8 + 0.2 * top[:, None]) * (0.6 + 0.4 * tip)
    return positions, triangles.astype(np.int64), colours, shapes


def lining(face: Array, topo: Topology, frame: MouthFrame, jaw: Array) -> tuple[Array, Array, Array, Array]:
    """(positions, triangles, lip vertex per vertex, depth 0..1 per vertex): a cavity from the inner lip ring
    (depth 0, LINING_BEHIND behind the lips' edge, moving with it) through a ring 5 mm in, taller than the lips
    (behind them), to a deep ring and a back point MOUTH_DEPTH in: room for the teeth and the tongue, yet in
    front of the default avatar's neck, which the photo head sits on (about 4 cm behind the astronaut's lips)."""
    ring = topo.ring("lipsUpperInner", "lipsLowerInner")
    lip = face[ring]
    s, n = frame.scale, len(ring)
    centre = np.array([frame.x, frame.lip_y, frame.front_z])
    up = np.sign(0.5 - jaw[ring])[:, None] * np.array([0.0, 1.0, 0.0])  # the corners (0.5) go straight back
    near = lip + up * 0.004 * s - np.array([0.0, 0.0, 0.005])
    # the deep ring's points go round as the lip ring's do: the upper lip's across the roof, the lower's the floor
    across = (lip[:, 0] - frame.x) / np.abs(lip[:, 0] - frame.x).max()
    angle = np.arccos(np.clip(across, -1, 1)) * np.sign(up[:, 1])
    deep = centre + np.stack([np.cos(angle) * 0.021 * s, np.sin(angle) * 0.012 * s, np.full(n, -0.65 * MOUTH_DEPTH)],
                             axis=1)
    deep[:, 1] -= 0.004 * s
    back = centre + np.array([0.0, -0.006 * s, -MOUTH_DEPTH])
    edge = lip - np.array([0.0, 0.0, LINING_BEHIND])  # not on the shut lips' seam, where depths would tie
    positions = np.concatenate([edge, near, deep, back[None]])
    triangles = []
    for r in range(2):
        a, b = r * n, (r + 1) * n
        for i in range(n):
            j = (i + 1) % n
            triangles += [(a + i, a + j, b + j), (a + i, b + j, b + i)]
    triangles += [(2 * n + i, 2 * n + (i + 1) % n, 3 * n) for i in range(n)]
    lips = np.r_[ring, ring, ring, ring[0]]  # the lip vertex each lining vertex follows (at 1 - depth)
    depth = np.r_[np.zeros(n), np.full(n, 0.35), np.ones(n), 1.0]
    return positions, np.asarray(triangles, np.int64), lips, depth


def _facing(positions: Array, triangles: Array, point: Array) -> Array:
    """Triangles wound so their normals point towards ``point`` (the lining faces the mouth's inside)."""
    return wound_along(triangles, positions, point - positions[triangles].mean(axis=1))


class _Mouth:
    """The three parts at rest and their unclamped moves per target, then kept behind each target's skin."""

    def __init__(self, face: Array, topo: Topology, jaw: Array, body: tuple[Array, Array]) -> None:
        self.face, self.frame = face, MouthFrame.of(face)
        self.near = np.linalg.norm(face - face[[13, 14]].mean(axis=0), axis=1) < 0.06
        self.tris = topo.triangles[self.near[topo.triangles].any(axis=1)]
        positions, triangles = body
        mouth = face[[13, 14]].mean(axis=0)
        close = (np.abs(positions[triangles][..., :2] - mouth[:2]) < 0.06).all(axis=2).any(axis=1)
        self.body = (positions, triangles[close])
        self.lining, self.lining_tris, self.lips, self.depth = lining(face, topo, self.frame, jaw)
        self.lining_jaw = jaw[self.lips]  # the floor turns with the jaw, the roof stays with the skull
        self.teeth, self.teeth_tris, self.teeth_colours, self.teeth_jaw = teeth(self.frame)
        self.tongue, self.tongue_tris, self.tongue_colours, self.tongue_own = tongue(self.frame)
        inside = self.depth > 0
        self.lining[inside] = self.placed(self.lining[inside], face, True)
        self.teeth, self.tongue = self.placed(self.teeth, face, True), self.placed(self.tongue, face, True)

    def placed(self, points: Array, face: Array, under_skin: bool) -> Array:
        """In front of the body, then (when ``under_skin``) behind the skin, which wins where both cannot hold."""
        points = in_front_of(points, self.body)
        return behind_skin(points, face, self.tris) if under_skin else points

    def arkit_moves(self, name: str, delta: Array) -> list[Array]:
        """Unclamped (lining, teeth, tongue) moves for one ARKit shape whose face move is ``delta``."""
        k, t = len(self.lining), len(self.teeth)
        on_jaw = _jaw_moves(self.face, np.concatenate([self.lining, self.teeth, self.tongue])).get(name)
        if on_jaw is None:
            on_jaw = np.zeros((k + t + len(self.tongue), 3))
        lining_move = (1 - self.depth)[:, None] * delta[self.lips] \
            + (self.depth * self.lining_jaw)[:, None] * on_jaw[:k]
        return [lining_move, self.teeth_jaw[:, None] * on_jaw[k:k + t],
                on_jaw[k + t:] + self.tongue_own.get(name, 0.0)]

    def kept_behind(self, moves: list[Array], face_move: Array, tongue_out: bool) -> list[Array]:
        """The moves changed so that no part ends up in front of the moved skin (the lip ring is the skin's own
        edge; a tongue meant to come out is let out) nor, where it moved, behind the front of the neck."""
        if not any(np.any(m) for m in moves) and not np.any(face_move[self.near]):
            return moves
        k, t = len(self.lining), len(self.teeth)
        rest, move = np.concatenate([self.lining, self.teeth, self.tongue]), np.concatenate(moves)
        held = np.r_[self.depth > 0, np.ones(len(rest) - k, bool)]
        under_skin = held.copy()
        under_skin[k + t:] = not tongue_out
        moved = rest + move
        stirred = held & move.any(axis=1)  # still points were placed in front of the neck at rest
        moved[stirred] = in_front_of(moved[stirred], self.body)
        moved[under_skin] = behind_skin(moved[under_skin], self.face + face_move, self.tris)
        return np.split(np.where(held[:, None], moved - rest, move), [k, k + t])


def mouth_parts(face: Array, topo: Topology, jaw: Array, shapes: dict[str, Array],
                body: tuple[Array, Array]) -> tuple[Part, Part, Part]:
    """(lining, teeth, tongue) for the rest face (468, 3) with closed lips, given the face's jaw weight per vertex,
    its shapes (the ARKit shapes and the visemes by target name) and the neck and shoulders (positions and
    triangles in the face's frame, which the mouth stays in front of): each part with a move per target."""
    mouth = _Mouth(face, topo, jaw, body)
    visemes = viseme_target_names()
    moves = {name: mouth.arkit_moves(name, delta) for name, delta in shapes.items() if name not in visemes.values()}
    for pose in TONGUE_POSES:
        moves[pose] = [np.zeros_like(mouth.lining), np.zeros_like(mouth.teeth), mouth.tongue_own[pose]]
    tongue_out = {"tongueOut"}
    for viseme, target in visemes.items():
        recipe = VISEME_RECIPES[viseme]
        moves[target] = [sum((w * moves[name][i] for name, w in recipe.items() if name in moves), np.zeros_like(at))
                         for i, at in enumerate((mouth.lining, mouth.teeth, mouth.tongue))]
        tongue_out |= {target} if set(recipe) & set(TONGUE_POSES) else set()
    kept = [mouth.kept_behind(moves[name], shapes[name], name in tongue_out) for name in shapes]
    parts = [{name: k[i] for name, k in zip(shapes, kept)} for i in range(3)]
    inside = np.array([mouth.frame.x, mouth.frame.lip_y, mouth.frame.front_z - 0.01])
    return ((mouth.lining, _facing(mouth.lining, mouth.lining_tris, inside), None, parts[0]),
            (mouth.teeth, mouth.teeth_tris, mouth.teeth_colours, parts[1]),
            (mouth.tongue, mouth.tongue_tris, mouth.tongue_colours, parts[2]))
