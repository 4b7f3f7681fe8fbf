"""Dominance-function coarticulation (Cohen & Massaro 1993) over articulatory features and visemes.

Each segment pulls every feature towards its target with a dominance that is flat over the
segment's core and decays as a Gaussian before (anticipation) and after (carry-over) it; the
frame value is the dominance-weighted mean. Lip-critical segments (p b m, f v) are then forced
to visibly reach their pose, because a blend can average a 20 ms closure away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from ..channels import OCULUS_VISEMES, VISEME_INDEX
from .phonemes import CLOSURE, CRITICAL_FF, CRITICAL_PP, FUNNEL, JAW, LOWER, NUM_FEATURES, TONGUE, TUCK, UPPER
from .track import Track

#: Segments considered around the one that contains a frame. A fixed-size window keeps every
#: frame's sums over identical operands, hence bit-identical results however calls are split.
NEIGHBOURS: Final = 20
RADIUS_S: Final = 0.35  # no influence beyond this distance from a segment
#: Across a sentence silence, carry-over reaches at most this far; anticipation never crosses it,
#: so a frame's value cannot change when the engine appends the next sentence to the timeline.
CROSS_ZONE_RADIUS_S: Final = 0.15
CRITICAL_TAU_ANT_S: Final = 0.03  # how early a forced closure starts forming before its segment
CRITICAL_TAU_CARRY_S: Final = 0.02  # releases are quicker (the burst)
CONTACT_POWER: Final = 8  # the PP viseme follows the closure envelope to this power (shape_visemes)
_REST_WEIGHT: Final = 1e-3
_SUB_CHUNK: Final = 256
_SIL: Final = VISEME_INDEX["sil"]


@dataclass(frozen=True)
class Articulation:
    """Per-frame articulatory features, visemes and the lip-critical envelopes (1 = must be reached)."""

    features: np.ndarray  # (n, F)
    visemes: np.ndarray  # (n, 15)
    closure: np.ndarray  # (n,) p/b/m envelope
    labiodental: np.ndarray  # (n,) f/v envelope


def _taper(distance: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """1 up to half the radius, smoothly 0 at the radius."""
    x = np.clip(2.0 * distance / radius - 1.0, 0.0, 1.0)
    return 1.0 - x * x * (3.0 - 2.0 * x)


def _dominance(alpha: np.ndarray, tau_ant: np.ndarray, tau_carry: np.ndarray,
               before: np.ndarray, after: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """alpha * exp(-(d/tau)^2) with d the distance outside the core, times the reach taper."""
    ahead = before > 0.0
    distance = np.where(ahead, before, np.maximum(after, 0.0))
    tau = np.where(ahead, tau_ant, tau_carry)
    return alpha * np.exp(-np.square(distance / tau)) * reach


def _envelope(track: Track, idx: np.ndarray, valid: np.ndarray, frames: np.ndarray, fps: int,
              t: np.ndarray, seg_distance: np.ndarray, reach: np.ndarray, code: int) -> np.ndarray:
    """1 inside each segment of this code (and at the frame nearest its centre), Gaussian release outside."""
    mask = valid & (track.critical[idx] == code)
    centre = 0.5 * (track.start[idx] + track.end[idx])
    nearest = np.rint(np.where(mask, centre, 0.0) * fps).astype(np.int64) == frames[:, None]
    inside = (seg_distance <= 0.0) & (t[:, None] < track.end[idx])
    tau = np.where(t[:, None] < track.start[idx], CRITICAL_TAU_ANT_S, CRITICAL_TAU_CARRY_S)
    env = np.where(inside | nearest, 1.0, np.exp(-np.square(seg_distance / tau)) * reach)
    return np.where(mask, env, 0.0).max(axis=1)


def _chunk(track: Track, frames: np.ndarray, fps: int) -> Articulation:
    t = frames / fps
    home = np.searchsorted(track.start, t, side="right") - 1
    raw = home[:, None] + np.arange(-NEIGHBOURS, NEIGHBOURS + 1)[None, :]
    valid = (raw >= 0) & (raw < len(track))
    idx = np.clip(raw, 0, len(track) - 1)
    seg_distance = np.maximum(np.maximum(track.start[idx] - t[:, None], t[:, None] - track.end[idx]), 0.0)
    zone, home_zone = track.zone[idx], track.zone[home][:, None]
    radius = np.where(zone == home_zone, RADIUS_S, CROSS_ZONE_RADIUS_S)
    reach = np.where(valid & (zone <= home_zone), _taper(seg_distance, radius), 0.0)
    valid = valid & (zone <= home_zone)
    before = track.core_lo[idx] - t[:, None]
    after = t[:, None] - track.core_hi[idx]

    dom = _dominance(track.alpha[idx], track.tau_ant[idx], track.tau_carry[idx],
                     before[..., None], after[..., None], reach[..., None])  # (n, K, F)
    features = (dom * track.target[idx]).sum(axis=1) / (dom.sum(axis=1) + _REST_WEIGHT)

    vdom = _dominance(track.alpha_vis[idx], track.tau_vis_ant[idx], track.tau_vis_carry[idx], before, after, reach)
    visemes = (vdom[..., None] * track.viseme[idx]).sum(axis=1)
    visemes[:, _SIL] += _REST_WEIGHT
    visemes /= (vdom.sum(axis=1) + _REST_WEIGHT)[:, None]

    closure = _envelope(track, idx, valid, frames, fps, t, seg_distance, reach, CRITICAL_PP)
    labiodental = _envelope(track, idx, valid, frames, fps, t, seg_distance, reach, CRITICAL_FF)
    labiodental = np.where(closure >= 1.0, 0.0, labiodental)
    closure = np.where(labiodental >= 1.0, 0.0, closure)
    return Articulation(features, visemes, closure, labiodental)


def articulate(track: Track, frames: np.ndarray, fps: int) -> Articulation:
    """Blend the timeline into per-frame features/visemes for absolute frame indices ``frames``."""
    if frames.size == 0:
        z = np.zeros((0,))
        return Articulation(np.zeros((0, NUM_FEATURES)), np.zeros((0, len(OCULUS_VISEMES))), z, z)
    parts = [_chunk(track, frames[i:i + _SUB_CHUNK], fps) for i in range(0, frames.size, _SUB_CHUNK)]
    return Articulation(*(np.concatenate([getattr(p, name) for p in parts])
                          for name in ("features", "visemes", "closure", "labiodental")))


def impose_lip_targets(features: np.ndarray, closure: np.ndarray, labiodental: np.ndarray) -> np.ndarray:
    """Force closure for p/b/m and lip-to-teeth for f/v, opening-related features yielding to them."""
    out = features.copy()
    open_pp = 1.0 - closure
    out[:, CLOSURE] = np.maximum(out[:, CLOSURE], closure) * (1.0 - labiodental)
    out[:, TUCK] = np.maximum(out[:, TUCK] * open_pp, labiodental)
    out[:, JAW] *= (1.0 - 0.9 * closure) * (1.0 - 0.6 * labiodental)
    for f in (FUNNEL, LOWER, TONGUE):
        out[:, f] *= open_pp * (1.0 - labiodental)
    out[:, UPPER] *= open_pp
    return out


def shape_visemes(visemes: np.ndarray, loudness: np.ndarray, closure: np.ndarray,
                  labiodental: np.ndarray) -> np.ndarray:
    """Scale open-mouth visemes by loudness, let 'sil' take the rest, then force PP/FF where required."""
    out = visemes.copy()
    gain = 0.35 + 0.65 * loudness
    for name in ("aa", "E", "ih", "oh", "ou"):
        out[:, VISEME_INDEX[name]] *= gain
    speech = np.delete(out, _SIL, axis=1).sum(axis=1)
    out[:, _SIL] = np.clip(1.0 - speech, 0.0, 1.0)
    ff = np.zeros(out.shape[1]); ff[VISEME_INDEX["FF"]] = 1.0
    pp = np.zeros(out.shape[1]); pp[VISEME_INDEX["PP"]] = 1.0
    out = out * (1.0 - 0.95 * labiodental[:, None]) + 0.95 * labiodental[:, None] * ff
    # PP shows where the lips touch, not while they travel: the closure envelope's eighth power is above
    # one half only within ~9 ms before and ~6 ms after the segment (the features keep the whole approach)
    contact = closure ** CONTACT_POWER
    out = out * (1.0 - contact[:, None]) + contact[:, None] * pp
    return np.clip(out, 0.0, 1.0)
