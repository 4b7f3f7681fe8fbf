"""The default head's lips: rest relief and colour, inner lip surfaces, and the mouth's morph targets.

Everything is written in lip coordinates: ``s = |x| / W`` across the mouth (0 at the centre, 1 at a corner) and
``t``, the distance from the slit in units of that lip's red height (0 on the slit, 1 on the lip's border).
Targets are authored the way ARKit defines them and face capture drives them:

- shapes that keep the lips together (press, pucker, roll, shrug, smile...) move both edges of the slit alike
  (a roll only tucks its lip back), so the lips never part or pass through each other;
- shapes that open the mouth (jawOpen, funnel, lowerDown, upperUp) move the edges apart along ``sqrt(1 - s^2)``,
  so openings are round, not boxy, and the corners stay joined;
- ``mouthClose`` is sculpted against the open jaw: with ``jawOpen = w`` and ``mouthClose = w`` the edges meet
  (both lips travel, the lower one most), as on ARKit-authored heads; on its own it pushes the lips together
  past closed, which is why the curves keep it at or below jawOpen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray

#: Half the slit's length (metres); the grid's columns are chosen so a corner lands close to it.
MOUTH_HALF_WIDTH = 0.0235
#: Share of the lip gap that mouthClose closes by bringing the upper lip down (the lower lip does the rest).
CLOSE_UPPER_SHARE = 0.3
#: Inner lip surface rows: (distance away from the slit, depth into the mouth) in metres at the lip's centre, and
#: how far each is from the lip's red towards the mouth's lining (0..1). The last rows line the space in front of
#: the teeth, so nothing of the head's inside shows through parted lips.
INNER_LIP_ROWS = ((0.0007, 0.0016, 0.0), (0.0019, 0.0031, 0.35), (0.0033, 0.0043, 0.7), (0.0050, 0.0055, 1.0),
                  (0.0068, 0.0063, 1.0))


def smoothstep(edge0: float, edge1: float, x: Array) -> Array:
    """0 below edge0, 1 above edge1, a smooth cubic between (edges may be reversed)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def lip_heights(x: Array, half_width: float) -> tuple[Array, Array]:
    """Red heights of the upper lip (with a cupid's bow) and the lower lip at ``x``; both 0 at the corners."""
    s = np.clip(np.abs(x) / half_width, 0.0, 1.0)
    bow = 0.0009 * np.exp(-(((np.abs(x) - 0.0058) / 0.0032) ** 2)) - 0.0007 * np.exp(-((x / 0.0032) ** 2))
    upper = (0.0066 + bow) * (1.0 - s**2) ** 0.45
    lower = 0.0088 * (1.0 - s**2) ** 0.55
    return upper, lower


def lip_relief(x: Array, y: Array, mouth_y: float, half_width: float) -> Array:
    """How far the lips stand out of the face: full in the middle of each lip, less on the slit (a crease)."""
    upper, lower = lip_heights(x, half_width)
    t_up = (y - mouth_y) / np.maximum(upper, 0.0025)
    t_lo = (mouth_y - y) / np.maximum(lower, 0.003)
    s = np.abs(x) / half_width
    taper = np.exp(-(np.maximum(s - 0.7, 0.0) / 0.3) ** 2)
    up = 0.0040 * np.exp(-(((t_up - 0.55) / 0.6) ** 2))
    lo = 0.0046 * np.exp(-(((t_lo - 0.55) / 0.62) ** 2))
    sulcus = -0.0012 * np.exp(-(((t_lo - 1.9) / 0.55) ** 2)) * np.exp(-((x / 0.02) ** 2))
    return np.where(y >= mouth_y, up, lo + sulcus) * taper


def lip_mask(x: Array, y: Array, mouth_y: float, half_width: float, soft: float = 0.0011) -> Array:
    """1 on the red of the lips, 0 on skin, with a soft border ``soft`` metres wide."""
    upper, lower = lip_heights(x, half_width)
    inside_up = smoothstep(soft, -soft, y - mouth_y - upper)
    inside_lo = smoothstep(soft, -soft, mouth_y - y - lower)
    across = smoothstep(half_width * 1.03, half_width * 0.93, np.abs(x))
    return np.where(y >= mouth_y, inside_up, inside_lo) * across


def inner_lip_rows(edge: Array, sign: float, half_width: float) -> list[Array]:
    """Rows of the inner lip surface behind a slit edge (``sign`` +1 upper lip, -1 lower), shallower at corners."""
    s = np.clip(np.abs(edge[:, 0]) / half_width, 0.0, 1.0)
    scale = (0.25 + 0.75 * np.sqrt(1.0 - s**2))[:, None]
    return [edge + scale * np.array([0.0, sign * away, -depth]) for away, depth, _ in INNER_LIP_ROWS]


@dataclass
class LipFrame:
    """Lip coordinates of every vertex (inner lip rows carry their edge's), and the bands that move."""

    s: Array  # |x| / W
    side_left: Array  # partition of unity across the mouth: left (+x) share, the right one is 1 - it
    profile: Array  # sqrt(1 - s^2): how much an opening shape parts the lips at this x
    upper: Array  # 1 on the upper lip's side of the slit, 0 on the lower's, 0.5 on the mouth line beyond it
    t_up: Array
    t_lo: Array
    height_up: Array
    height_lo: Array
    band_up: Array  # the upper lip and the skin just above it
    band_lo: Array
    corner_gap: Array  # jaw weight of the lower edge minus the upper edge's: the gap jawOpen opens there


def lip_frame(p: Array, is_upper: Array, is_lower: Array, mouth_y: float, half_width: float) -> LipFrame:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    s = np.abs(x) / half_width
    on_line = np.abs(y - mouth_y) <= 1e-6
    upper = np.where(is_upper, 1.0, np.where(is_lower, 0.0, np.where(on_line, 0.5, (y > mouth_y) * 1.0)))
    height_up, height_lo = lip_heights(x, half_width)
    height_up, height_lo = np.maximum(height_up, 0.0025), np.maximum(height_lo, 0.003)
    t_up = np.maximum(y - mouth_y, 0.0) / height_up
    t_lo = np.maximum(mouth_y - y, 0.0) / height_lo
    front = smoothstep(0.035, 0.07, z)
    lateral = np.exp(-((np.maximum(s - 1.0, 0.0) / 0.75) ** 2))
    # beyond the corners the bands widen, so the cheeks follow the lips smoothly instead of creasing
    widen = 0.009 * smoothstep(0.6, 1.5, s)
    reach_up = np.maximum(y - mouth_y, 0.0) / (height_up + widen)
    reach_lo = np.maximum(mouth_y - y, 0.0) / (height_lo + widen)
    band_up = lateral * front * np.exp(-((np.maximum(reach_up - 0.9, 0.0) / 1.4) ** 2)) * (upper > 0)
    band_lo = lateral * front * np.exp(-((np.maximum(reach_lo - 0.9, 0.0) / 1.4) ** 2)) * (upper < 1)
    profile = np.sqrt(np.clip(1.0 - s**2, 0.0, 1.0))
    return LipFrame(s, smoothstep(-0.008, 0.008, x), profile, upper, t_up, t_lo, height_up, height_lo, band_up,
                    band_lo, _jaw_lower_edge(s, profile) - _jaw_upper_edge(s))


def _beyond(s: Array) -> Array:
    """1 up to the corner, fading over half a mouth width beyond it."""
    return np.exp(-((np.maximum(s - 1.0, 0.0) / 0.5) ** 2))


def _jaw_lower_edge(s: Array, profile: Array) -> Array:
    """The lower lip follows the jaw fully in the middle; the corners a quarter of the way."""
    return 0.25 * _beyond(s) + 0.75 * profile


def _jaw_upper_edge(s: Array) -> Array:
    """The upper lip barely follows the jaw, except near the corners where the lips join."""
    return 0.25 * np.minimum(s, 1.0) ** 4 * _beyond(s)


def jaw_weight(f: LipFrame, chin: Array) -> Array:
    """How much each skin vertex turns with the jaw: the lip edges' profiles blending into the chin's weight."""
    lower = _jaw_lower_edge(f.s, f.profile)
    lower = lower + (chin - lower) * smoothstep(0.2, 2.2, f.t_lo)
    upper = _jaw_upper_edge(f.s) * np.exp(-(f.t_up**2))
    return f.upper * upper + (1.0 - f.upper) * lower


def _both(f: LipFrame, up: Array, lo: Array) -> Array:
    """A field from its upper-lip and lower-lip halves (they must agree on the slit to keep the lips together)."""
    return f.upper[:, None] * up + (1.0 - f.upper[:, None]) * lo


def _vec(n: int, x: Array | float = 0.0, y: Array | float = 0.0, z: Array | float = 0.0) -> Array:
    """(n, 3) displacements from per-vertex or constant components."""
    return np.stack([np.broadcast_to(np.asarray(v, float), (n,)) for v in (x, y, z)], axis=1)


def mouth_shapes(p: Array, f: LipFrame, jaw_move: Array) -> dict[str, Array]:
    """The lip shapes of the skin (and its inner lip rows). ``jaw_move``: each vertex's jawOpen displacement at
    full jaw weight (the hinge rotation), from which mouthClose is sculpted."""
    n = len(p)
    x = p[:, 0] / np.maximum(f.s, 1.0)  # beyond the corners, drawn in as far as the corner is
    col = lambda w: np.asarray(w, float)[:, None]  # noqa: E731
    on_lips = smoothstep(1.1, 0.75, f.s)
    edge_up, edge_lo = (np.exp(-((t / 0.5) ** 2)) * on_lips for t in (f.t_up, f.t_lo))
    rise_up, rise_lo = smoothstep(0.0, 1.0, f.t_up), smoothstep(0.0, 1.0, f.t_lo)
    band = _both(f, col(f.band_up), col(f.band_lo))[:, 0]
    opening = f.profile
    shapes: dict[str, Array] = {}

    # mouthClose: the lip gap jawOpen opens at this x, closed by both lips (the lower one most)
    gap = col(f.corner_gap) * jaw_move
    down = np.zeros_like(gap)
    down[:, 1] = CLOSE_UPPER_SHARE * gap[:, 1]
    close_up = col(f.band_up * np.exp(-((f.t_up / 1.5) ** 2)))
    close_lo = col(f.band_lo * np.exp(-((f.t_lo / 1.6) ** 2)))
    shapes["mouthClose"] = _both(f, close_up * down, close_lo * (down - gap))

    # funnel: lips flare forward into an open O (corners drawn in, edges parted along the profile)
    rounded = opening**1.5  # parted most in the middle: an O, not a slot
    funnel_up = _vec(n, 0.0, 0.0052 * rounded, 0.0055 + 0.0025 * edge_up)
    funnel_lo = _vec(n, 0.0, -0.0062 * rounded, 0.0055 + 0.0025 * edge_lo)
    shapes["mouthFunnel"] = col(band) * (_vec(n, -0.30 * x) + _both(f, funnel_up, funnel_lo))
    # pucker: closed lips pushed forward and gathered; the red bunches up and down, the slit stays shut
    pucker_up = _vec(n, 0.0, 0.0014 * rise_up, 0.0015 * edge_up)
    pucker_lo = _vec(n, 0.0, -0.0016 * rise_lo, 0.0015 * edge_lo)
    forward = 0.0068 * (0.45 + 0.55 * opening)
    shapes["mouthPucker"] = col(band) * (_vec(n, -0.45 * x, 0.0, forward) + _both(f, pucker_up, pucker_lo))
    # rolls: the red turns into the mouth; the edge goes back, the border comes towards the slit
    roll = lambda t: t * np.exp(-((t / 1.25) ** 4))  # noqa: E731
    back_up, back_lo = np.exp(-((f.t_up / 1.2) ** 2)), np.exp(-((f.t_lo / 1.0) ** 2))
    inside = smoothstep(1.1, 0.55, f.s)  # closed-lip shapes stay inside the corners (no crease beyond them)
    shapes["mouthRollUpper"] = col(f.band_up * f.upper * inside) * _vec(n, 0.0, -0.6 * f.height_up * roll(f.t_up),
                                                                        -0.0035 * back_up)
    shapes["mouthRollLower"] = col(f.band_lo * (1.0 - f.upper) * inside) * _vec(n, 0.0, 0.7 * f.height_lo * roll(f.t_lo),
                                                                       -0.006 * back_lo)
    # shrugs: one lip pushed up, the other carried along on the slit
    shrug_lo_lo = _vec(n, 0.0, 0.0015 + 0.0015 * rise_lo, 0.0022 * rise_lo)
    shrug_lo_up = _vec(n, 0.0, 0.0015 * np.exp(-((f.t_up / 1.2) ** 2)))
    shapes["mouthShrugLower"] = col(band) * _both(f, shrug_lo_up, shrug_lo_lo)
    shrug_up_up = _vec(n, 0.0, 0.0018 + 0.0012 * rise_up, 0.0015 * rise_up)
    shrug_up_lo = _vec(n, 0.0, 0.0018 * np.exp(-((f.t_lo / 0.9) ** 2)))
    shapes["mouthShrugUpper"] = col(band) * _both(f, shrug_up_up, shrug_up_lo)

    # per side: press (thin, closed lips), lowerDown and upperUp (one lip pulled off the teeth)
    press_up = _vec(n, 0.0, -0.0018 * rise_up, -0.0012 * np.exp(-(f.t_up**2)))
    press_lo = _vec(n, 0.0, 0.0022 * rise_lo, -0.0012 * np.exp(-(f.t_lo**2)))
    below = np.exp(-((np.maximum(f.t_lo - 1.0, 0.0) / 1.1) ** 2))
    above = np.exp(-((np.maximum(f.t_up - 1.0, 0.0) / 1.0) ** 2))
    lower_down = col(f.band_lo * (1.0 - f.upper) * below) * _vec(n, 0.0, -0.0065 * opening**0.7, 0.001 * opening)
    upper_up = col(f.band_up * f.upper * above) * _vec(n, 0.0, 0.0055 * opening**0.7, 0.001 * opening)
    press = col(band * inside) * _both(f, press_up, press_lo)
    for suffix, share in (("Left", f.side_left), ("Right", 1.0 - f.side_left)):
        shapes["mouthPress" + suffix] = col(share) * press
        shapes["mouthLowerDown" + suffix] = col(share) * lower_down
        shapes["mouthUpperUp" + suffix] = col(share) * upper_up
    shapes["tongueOut"] = col(f.band_lo * (1.0 - f.upper) * below) * _vec(n, 0.0, -0.005 * opening, 0.0015 * opening)
    return shapes
