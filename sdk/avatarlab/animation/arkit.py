"""Articulatory features -> ARKit mouth blendshapes, and the final lip-closure guarantee.

ARKit conventions kept here (what face capture produces, and what ARKit-authored heads are sculpted for):
``mouthClose`` closes the lips *against an open jaw* (its target is modelled with the jaw dropped), so it is
never above ``jawOpen``: it is the share of the jaw's opening that the lips seal. A p/b/m closes the lips
through the PP viseme, ``mouthPress*`` and ``mouthRoll*`` with the jaw nearly shut, and ``mouthClose`` only
cancels what little jaw opening remains.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from ..channels import ARKIT_BLENDSHAPES, ARKIT_INDEX
from .phonemes import CLOSURE, FUNNEL, JAW, LOWER, ROUND, SPREAD, TONGUE, TUCK, UPPER

NUM_BLENDSHAPES: Final = len(ARKIT_BLENDSHAPES)
#: Widest jaw opening in neutral speech; emotions may add a little on top.
JAW_MAX: Final = 0.7


def _both(name: str) -> tuple[int, int]:
    return ARKIT_INDEX[name + "Left"], ARKIT_INDEX[name + "Right"]


def _set(out: np.ndarray, name: str, value: np.ndarray) -> None:
    """Write a channel; names without a side that exist as Left/Right pairs write both."""
    if name in ARKIT_INDEX:
        out[:, ARKIT_INDEX[name]] = value
    else:
        out[:, list(_both(name))] = value[:, None]


def mouth_blendshapes(features: np.ndarray) -> np.ndarray:
    """ARKit (n, 52) with only the mouth/jaw/tongue channels filled from articulatory features."""
    f = np.clip(features, 0.0, 1.0)
    out = np.zeros((f.shape[0], NUM_BLENDSHAPES))
    jaw, closure, tuck = f[:, JAW], f[:, CLOSURE], f[:, TUCK]
    _set(out, "jawOpen", np.minimum(jaw, JAW_MAX))
    _set(out, "mouthClose", closure * np.minimum(jaw, JAW_MAX))
    _set(out, "mouthPress", 0.75 * closure**1.5)
    _set(out, "mouthFunnel", f[:, FUNNEL] * (1.0 - closure))
    _set(out, "mouthPucker", f[:, ROUND])
    _set(out, "mouthStretch", 0.35 * f[:, SPREAD] * (1.0 - f[:, ROUND]))
    _set(out, "mouthSmile", 0.2 * f[:, SPREAD] * (1.0 - f[:, ROUND]))
    _set(out, "mouthRollLower", 0.65 * tuck + 0.2 * closure)
    _set(out, "mouthRollUpper", 0.1 * tuck + 0.15 * closure)
    _set(out, "mouthShrugLower", 0.2 * closure + 0.15 * tuck)
    _set(out, "mouthUpperUp", 0.2 * tuck + 0.6 * f[:, UPPER])
    _set(out, "mouthLowerDown", f[:, LOWER] * (1.0 - closure) * (1.0 - tuck))
    _set(out, "tongueOut", f[:, TONGUE])
    return out


def enforce_lip_targets(blendshapes: np.ndarray, closure: np.ndarray, labiodental: np.ndarray,
                        seal: np.ndarray | None = None) -> np.ndarray:
    """Re-impose p/b/m closure and f/v lip tuck after anything (e.g. emotion) was layered on top.

    ``seal`` (default ``closure``): the share of the jaw's opening the lips close against, per frame;
    ``mouthClose`` ends as ``seal * jawOpen``, so it never exceeds ``jawOpen`` (ARKit's convention).
    Caps, floors and that product only, so it is idempotent and leaves frames away from those segments untouched.
    """
    out = blendshapes.copy()
    c, l = closure[:, None], labiodental[:, None]
    idx = lambda *names: [ARKIT_INDEX[n] for n in names]  # noqa: E731
    opening = idx("mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                  "mouthUpperUpRight", "tongueOut")
    out[:, opening] = np.minimum(out[:, opening], 1.0 - c)
    out[:, idx("jawOpen")] = np.minimum(out[:, idx("jawOpen")], 1.0 - 0.92 * c)
    press = idx("mouthPressLeft", "mouthPressRight")
    out[:, press] = np.maximum(out[:, press], 0.75 * c)
    # f/v: lower lip rolled under the upper teeth, jaw nearly shut, lips not sealed.
    out[:, idx("mouthRollLower")] = np.maximum(out[:, idx("mouthRollLower")], 0.65 * l)
    out[:, idx("jawOpen")] = np.minimum(out[:, idx("jawOpen")], 1.0 - 0.85 * l)
    lower = idx("mouthLowerDownLeft", "mouthLowerDownRight", "mouthClose", "tongueOut", "mouthFunnel")
    out[:, lower] = np.minimum(out[:, lower], 1.0 - l)
    upper = idx("mouthUpperUpLeft", "mouthUpperUpRight")
    out[:, upper] = np.minimum(out[:, upper], 1.0 - 0.7 * l)
    sealed = np.maximum(closure, seal) if seal is not None else closure
    out[:, ARKIT_INDEX["mouthClose"]] = np.clip(sealed * (1.0 - labiodental), 0.0, 1.0) * out[:, ARKIT_INDEX["jawOpen"]]
    return out
