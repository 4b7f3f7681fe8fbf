"""ARKit morph targets authored on the face mesh's topology from its semantic regions (lips' inner and outer
rings, eyelids, brows, jaw below the lip line), as displacement fields in metres on the 468 vertices."""

from __future__ import annotations

import numpy as np

from ..channels import ARKIT_BLENDSHAPES
from .topology import Topology

Array = np.ndarray
#: How far jawOpen=1 turns the jaw, radians (about 17 degrees: some 25 mm between the lips).
JAW_ANGLE = 0.30
#: How far eyeBlink=1 takes the upper lid towards the lower (the lower lid comes up the rest of the way).
BLINK_UPPER = 0.95
#: The skin this close above a blinking lid (metres) comes down with it and folds onto its edge (FaceShapes._blink).
BLINK_RIGID, BLINK_FOLD = 0.005, 0.5
BLINK_BULGE = 0.0015  # metres the shut lids' middle comes forward: it lies over the eyeball's front
#: How far apart mouthFunnel=1 parts the lips at the middle (metres): ARKit's funnel is an open, rounded "O".
FUNNEL_PART = 0.014
#: (upper lid's share of the way down to the lower, lower lid's share up) when the eyes look fully down or up:
#: the upper lid rides on the iris, the lower lid drops a little looking down and rises a little looking up.
LOOK_DOWN_LIDS, LOOK_UP_LIDS = (0.35, -0.12), (-0.25, 0.08)
LOOK_SIDEWAYS = 0.0012  # metres the lids' middles follow an eye turned fully in or out
SIDES = (("Left", 1.0), ("Right", -1.0))  # ARKit's Left is the subject's left: +x


#: The jaw's sideways and forward moves at weight 1 (metres), for the face and the teeth and tongue alike.
JAW_SHIFTS = {"jawForward": (0.0, 0.0, 0.006), "jawLeft": (0.006, 0.0, 0.0), "jawRight": (-0.006, 0.0, 0.0)}


def jaw_turn(face: Array, points: Array, angle: float) -> Array:
    """How ``points`` move when turned by ``angle`` about the jaw hinge of the face (468, 3): level with the
    nose's bottom, 3 cm behind the face's deepest point (below the ears); positive angles drop the chin."""
    hinge = np.array([0.0, face[2, 1], face[:, 2].min() - 0.03])
    rel = points - hinge
    c, s = np.cos(angle), np.sin(angle)
    turned = np.stack([rel[:, 0], c * rel[:, 1] - s * rel[:, 2], s * rel[:, 1] + c * rel[:, 2]], axis=1)
    return turned - rel


def _falloff(distance: Array, radius: float) -> Array:
    return np.exp(-(distance / radius) ** 2)


def _distance_to(p: Array, indices: list[int]) -> Array:
    return np.linalg.norm(p[:, None, :] - p[indices][None, :, :], axis=2).min(axis=1)


def _nearest(p: Array, indices: list[int]) -> tuple[Array, Array]:
    """Index into ``indices`` of the nearest, and its distance, for every vertex."""
    d = np.linalg.norm(p[:, None, :] - p[indices][None, :, :], axis=2)
    return d.argmin(axis=1), d.min(axis=1)


class FaceShapes:
    """Builds every shape from the lifted landmarks ``p`` (468, 3)."""

    def __init__(self, p: Array, topo: Topology) -> None:
        self.p, self.r = p, topo.regions
        r = self.r
        self.upper_lip = sorted(set(r["lipsUpperOuter"]) | set(r["lipsUpperInner"]))
        self.lower_lip = sorted(set(r["lipsLowerOuter"]) | set(r["lipsLowerInner"]))
        self.corners = {"Left": 291, "Right": 61}
        self.mouth = p[r["lipsUpperInner"] + r["lipsLowerInner"]].mean(axis=0)
        self.jaw = self._jaw_weight()
        self.lips = _falloff(_distance_to(p, self.upper_lip + self.lower_lip), 0.006)  # 1 on the lips
        self.upper = self.lips * (self.jaw < 0.5)
        self.lower = self.lips * self.jaw

    def _lip_line(self, x: Array) -> Array:
        """y of the line between the lips (midway between the inner rings) at each x."""
        upper, lower = self.r["lipsUpperInner"], self.r["lipsLowerInner"]
        middle = (self.p[upper] + self.p[lower]) / 2
        order = np.argsort(middle[:, 0])
        return np.interp(x, middle[order, 0], middle[order, 1])

    def _jaw_weight(self) -> Array:
        """1 on the lower lip and everything below the lip line, 0 above; soft beside the mouth corners."""
        p = self.p
        below = self._lip_line(p[:, 0]) - p[:, 1]
        left, right = p[self.corners["Left"], 0], p[self.corners["Right"], 0]
        beside = np.maximum(p[:, 0] - left, right - p[:, 0]).clip(0)
        weight = np.clip(below / (0.002 + 0.5 * beside), 0, 1)
        weight[self.lower_lip] = 1.0
        weight[self.upper_lip] = 0.0
        weight[[self.corners["Left"], self.corners["Right"], 78, 308]] = 0.5
        return weight

    def jaw_rotation(self, angle: float) -> Array:
        """Every vertex turned by ``angle`` about the jaw hinge; positive angles drop the chin."""
        return jaw_turn(self.p, self.p, angle)

    def _part(self, height: float) -> Array:
        """The lips parted into a round opening ``height`` metres tall at the middle (upper lip up, lower lip
        down, each half of it), tapering to nothing at the corners like an ellipse."""
        half_width = (self.p[self.corners["Left"], 0] - self.p[self.corners["Right"], 0]) / 2
        across = np.sqrt(np.clip(1.0 - ((self.p[:, 0] - self.mouth[0]) / half_width) ** 2, 0.0, 1.0))
        return (across * (self.upper - self.lower) * height / 2)[:, None] * np.array([0, 1.0, 0])

    def _side(self, sign: float, width: float = 0.006) -> Array:
        return 1.0 / (1.0 + np.exp(-sign * (self.p[:, 0] - self.mouth[0]) / width))

    def _corner(self, side: str, radius: float = 0.015) -> Array:
        return _falloff(np.linalg.norm(self.p - self.p[self.corners[side]], axis=1), radius)

    def _lids(self, eye: str, close: float, lower_share: float, rigid: float = 0.0) -> Array:
        """Upper lid moved ``close`` of the way to the lower (negative: opened wider), the lower lid
        ``lower_share`` of the way up; the skin around follows the nearest lid vertex (see _lids_moved)."""
        upper, lower = self.r[f"{eye}EyeUpper"], self.r[f"{eye}EyeLower"]
        gap = self.p[lower] - self.p[upper]
        return self._lids_moved(eye, np.concatenate([close * gap, -lower_share * gap]), rigid)

    def _blink(self, eye: str) -> Array:
        """The lids meet (BLINK_UPPER); the skin within BLINK_RIGID above the upper lid comes down with it whole
        and is drawn BLINK_FOLD of the way onto the lid's edge: the photo's lashes and crease, the darkest skin
        around an eye, fold into a thin line where the lids meet, and the light lid skin above covers the eye."""
        p = self.p
        upper, lower = self.r[f"{eye}EyeUpper"], self.r[f"{eye}EyeLower"]
        gap = p[lower] - p[upper]
        bulge = np.concatenate([np.sin(np.linspace(0, np.pi, len(chain))) for chain in (upper, lower)])
        lid_delta = np.concatenate([BLINK_UPPER * gap, -(1.0 - BLINK_UPPER) * gap])
        lid_delta[:, 2] += BLINK_BULGE * bulge  # over the eyeball, not sunk behind the lid line
        out = self._lids_moved(eye, lid_delta, BLINK_RIGID)
        for chain, side, reach in ((upper, 1.0, BLINK_RIGID), (lower, -1.0, BLINK_RIGID / 2)):
            nearest, distance = _nearest(p, chain)
            fold = (distance < reach) & (side * (p[:, 1] - p[chain][nearest, 1]) > 0)
            fold[upper + lower] = False
            out[fold] += BLINK_FOLD * (p[chain][nearest[fold]] - p[fold])
        return out

    def _lids_sideways(self, eye: str, shift: float) -> Array:
        """Both lids' middles moved ``shift`` metres along x (the corners stay): the lids following the eye's
        turn to one side, the skin around following as it does for _lids."""
        upper, lower = self.r[f"{eye}EyeUpper"], self.r[f"{eye}EyeLower"]
        along = [np.sin(np.linspace(0, np.pi, len(chain))) for chain in (upper, lower)]
        return self._lids_moved(eye, np.concatenate(along)[:, None] * np.array([shift, 0.0, 0.0]))

    def _lids_moved(self, eye: str, lid_delta: Array, rigid: float = 0.0) -> Array:
        """Upper then lower lid vertices moved by ``lid_delta``; the skin within 3 cm follows its nearest lid
        vertex, fully up to ``rigid`` metres from it, then fading over 7 mm."""
        p, out = self.p, np.zeros_like(self.p)
        lid = self.r[f"{eye}EyeUpper"] + self.r[f"{eye}EyeLower"]
        nearest, distance = _nearest(p, lid)
        eye_centre = p[lid].mean(axis=0)
        near = np.linalg.norm(p - eye_centre, axis=1) < 0.03
        out[near] = lid_delta[nearest[near]] * _falloff(np.maximum(distance[near] - rigid, 0), 0.007)[:, None]
        out[lid] = lid_delta
        return out

    def _brow(self, eye: str, part: str) -> Array:
        brow = self.r[f"{eye}EyebrowLower"] + self.r[f"{eye}EyebrowUpper"]
        weight = _falloff(_distance_to(self.p, brow), 0.012)
        weight *= self.p[:, 1] > self.p[self.r[f"{eye}EyeUpper"], 1].max()
        if part == "all":
            return weight
        inner, outer = self.p[brow[-1]], self.p[brow[0]]  # chains run outer -> inner
        toward = np.linalg.norm(self.p - (inner if part == "inner" else outer), axis=1)
        return weight * _falloff(toward, 0.02)

    def build(self) -> dict[str, Array]:
        p, zero = self.p, np.zeros_like(self.p)
        shapes: dict[str, Array] = {name: zero for name in ARKIT_BLENDSHAPES}
        full = self.jaw_rotation(JAW_ANGLE)
        lips_x = (p[:, 0] - self.mouth[0])[:, None] * np.array([1.0, 0, 0])
        lips_y = (p[:, 1] - self.mouth[1])[:, None] * np.array([0, 1.0, 0])
        shapes["jawOpen"] = full * self.jaw[:, None]
        for name, shift in JAW_SHIFTS.items():
            shapes[name] = self.jaw[:, None] * np.array(shift)
        shapes["mouthClose"] = (-0.5 * self.lower[:, None] + 0.5 * self.upper[:, None]) * full
        shapes["mouthFunnel"] = self.lips[:, None] * (np.array([0, 0, 0.006]) - 0.4 * lips_x) + self._part(FUNNEL_PART)
        shapes["mouthPucker"] = self.lips[:, None] * (np.array([0, 0, 0.008]) - 0.4 * lips_x - 0.25 * lips_y)
        shapes["tongueOut"] = self.lower[:, None] * np.array([0, -0.005, 0.001]) \
            + self.upper[:, None] * np.array([0, 0.0015, 0])  # the lips part for the tongue (mouth.py)
        shapes["mouthRollUpper"] = self.upper[:, None] * np.array([0, -0.003, -0.003])
        shapes["mouthRollLower"] = self.lower[:, None] * np.array([0, 0.003, -0.003]) * (self.lips[:, None])
        shapes["mouthShrugUpper"] = self.upper[:, None] * np.array([0, 0.002, 0.001])
        shapes["mouthShrugLower"] = self.lower[:, None] * np.array([0, 0.003, 0.002])
        wide = _falloff(np.linalg.norm(p - self.mouth, axis=1), 0.025)[:, None]
        shapes["mouthLeft"] = wide * np.array([0.006, 0, 0])
        shapes["mouthRight"] = wide * np.array([-0.006, 0, 0])
        cheek_points = {"Left": 425, "Right": 205}
        puff = np.zeros_like(p)
        for side, sign in SIDES:
            side_weight = self._side(sign)[:, None]
            corner = self._corner(side)[:, None]
            shapes[f"mouthSmile{side}"] = corner * np.array([sign * 0.006, 0.005, -0.002])
            shapes[f"mouthStretch{side}"] = corner * np.array([sign * 0.006, -0.002, -0.001])
            shapes[f"mouthFrown{side}"] = corner * np.array([0, -0.004, 0])
            shapes[f"mouthDimple{side}"] = corner * np.array([sign * 0.002, 0, -0.003])
            shapes[f"mouthPress{side}"] = side_weight * (self.upper[:, None] * np.array([0, -0.0015, -0.0005])
                                                         + self.lower[:, None] * np.array([0, 0.0015, -0.0005]))
            shapes[f"mouthLowerDown{side}"] = side_weight * self.lower[:, None] * np.array([0, -0.004, 0.0005])
            shapes[f"mouthUpperUp{side}"] = side_weight * self.upper[:, None] * np.array([0, 0.004, 0.0005])
            cheek = _falloff(np.linalg.norm(p - p[cheek_points[side]], axis=1), 0.02)[:, None]
            puff = puff + cheek * np.array([sign * 0.004, 0, 0.004])
            shapes[f"cheekSquint{side}"] = cheek * np.array([0, 0.003, 0])
            wing = _falloff(np.linalg.norm(p - p[{"Left": 278, "Right": 48}[side]], axis=1), 0.008)[:, None]
            shapes[f"noseSneer{side}"] = wing * np.array([0, 0.003, 0.001])
            eye = side.lower()
            shapes[f"eyeBlink{side}"] = self._blink(eye)
            shapes[f"eyeSquint{side}"] = self._lids(eye, 0.15, 0.3)
            shapes[f"eyeWide{side}"] = self._lids(eye, -0.3, 0.0)
            # the lids follow the gaze (the eyes themselves turn on the LeftEye / RightEye nodes)
            shapes[f"eyeLookDown{side}"] = self._lids(eye, LOOK_DOWN_LIDS[0], LOOK_DOWN_LIDS[1])
            shapes[f"eyeLookUp{side}"] = self._lids(eye, LOOK_UP_LIDS[0], LOOK_UP_LIDS[1])
            shapes[f"eyeLookOut{side}"] = self._lids_sideways(eye, sign * LOOK_SIDEWAYS)
            shapes[f"eyeLookIn{side}"] = self._lids_sideways(eye, -sign * LOOK_SIDEWAYS)
            shapes[f"browDown{side}"] = self._brow(eye, "all")[:, None] * np.array([0, -0.004, 0.001])
            shapes[f"browOuterUp{side}"] = self._brow(eye, "outer")[:, None] * np.array([0, 0.005, 0])
        shapes["cheekPuff"] = puff
        shapes["browInnerUp"] = (self._brow("left", "inner") + self._brow("right", "inner"))[:, None] \
            * np.array([0, 0.005, 0])
        return shapes


def close_lips(p: Array, topo: Topology) -> Array:
    """The face with its lips together: a photo with parted lips (a smile showing teeth) gets a closed rest
    pose, which the mouth shapes open from. Each inner-lip vertex goes to the point half way to its partner on
    the other lip (the rings pair up corner to corner), both to the same point, so the rest pose shows no sliver of
    the mouth between them; the lip skin follows its nearest inner-lip vertex up or down, fading over 10 mm."""
    r = topo.regions
    upper, lower = r["lipsUpperInner"], r["lipsLowerInner"]
    gap = p[lower] - p[upper]
    gap[:, 1] = np.minimum(gap[:, 1], 0.0)  # only where the lower lip is below the upper one
    gap[:, [0, 2]] = 0.0
    jaw = FaceShapes(p, topo).jaw
    out = p.copy()
    for ring, share, side in ((upper, 0.5, jaw < 0.5), (lower, -0.5, jaw >= 0.5)):
        nearest, distance = _nearest(p, ring)
        move = share * gap[nearest] * _falloff(distance, 0.01)[:, None]
        out[side] += move[side]
    out[upper] = out[lower] = (p[upper] + p[lower]) / 2  # exactly the same points: no crack between the lips
    return out
