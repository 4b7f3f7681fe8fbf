"""Retarget profiles: how our channels drive another rig's morph targets and rotation nodes.

The profiles are data (``data/retarget_profiles.json``) so the C# and JS packages can carry the same file.
A target maps to a weighted sum of our channels, clipped to 0..1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import numpy as np

from ..animation import FaceFrames
from ..channels import ARKIT_BLENDSHAPES, OCULUS_VISEMES
from ..errors import AvatarLabError

#: Channels a profile may read: the 15 visemes and the 52 ARKit blendshapes (their names never collide).
WEIGHT_CHANNELS: tuple[str, ...] = (*OCULUS_VISEMES, *ARKIT_BLENDSHAPES)
ROTATION_ROLES: tuple[str, ...] = ("head", "leftEye", "rightEye")
AUTO = "auto"


class RetargetError(AvatarLabError):
    """A profile name or profile file is wrong (a usage error)."""


@dataclass(frozen=True)
class Profile:
    """One rig convention: target name -> ((channel, weight), ...), plus candidate rotation node names."""

    name: str
    description: str
    targets: Mapping[str, tuple[tuple[str, float], ...]]
    nodes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def match(self, target_names: Iterable[str]) -> dict[int, str]:
        """Index of each model target this profile drives -> the profile's own target name."""
        lookup = {_key(name): name for name in self.targets}
        matched = {}
        for index, name in enumerate(target_names):
            key = lookup.get(name) or lookup.get(_key(name)) or lookup.get(_key(_strip_prefix(name)))
            if key is not None:
                matched[index] = key
        return matched

    def weights(self, target: str, frames: FaceFrames) -> np.ndarray:
        """The per-frame weight of one target, 0..1."""
        columns = _channel_columns(frames)
        total = np.zeros(len(frames), dtype=np.float64)
        for channel, weight in self.targets[target]:
            total += weight * columns[channel]
        return np.clip(total, 0.0, 1.0).astype(np.float32)


def _key(name: str) -> str:
    return name.lower()


def _strip_prefix(name: str) -> str:
    """'blendShape1.jawOpen' or 'Face|jawOpen' (DCC exporters' prefixes) -> 'jawOpen'."""
    for separator in (".", "|", ":"):
        name = name.rsplit(separator, 1)[-1]
    return name


def _channel_columns(frames: FaceFrames) -> dict[str, np.ndarray]:
    columns = {name: frames.visemes[:, i] for i, name in enumerate(OCULUS_VISEMES)}
    columns.update({name: frames.blendshapes[:, i] for i, name in enumerate(ARKIT_BLENDSHAPES)})
    return columns


def _parse_profile(name: str, raw: Mapping) -> Profile:
    targets_raw = raw["targets"]
    if targets_raw == "@arkit_blendshapes":  # the identity map over the ARKit vocabulary
        targets_raw = {channel: [[channel, 1.0]] for channel in ARKIT_BLENDSHAPES}
    targets = {}
    for target, terms in targets_raw.items():
        parsed = tuple((str(channel), float(weight)) for channel, weight in terms)
        unknown = [channel for channel, _ in parsed if channel not in WEIGHT_CHANNELS]
        if unknown:
            raise RetargetError(f"profile {name!r}: target {target!r} reads unknown channel(s) {unknown}")
        targets[target] = parsed
    nodes = {role: tuple(raw.get("nodes", {}).get(role, ())) for role in ROTATION_ROLES}
    return Profile(name, raw.get("description", ""), targets, nodes)


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, Profile]:
    """Every profile in data/retarget_profiles.json, checked against the channel vocabulary."""
    text = files("avatarlab").joinpath("data/retarget_profiles.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return {name: _parse_profile(name, body) for name, body in raw.items() if not name.startswith("_")}


def profile_names() -> tuple[str, ...]:
    return (*load_profiles(), AUTO)


def choose_profile(requested: str, target_names: Iterable[str]) -> Profile:
    """The requested profile, or for ``auto`` the one that drives most of the model's targets (ties: file order)."""
    profiles = load_profiles()
    if requested != AUTO:
        if requested not in profiles:
            raise RetargetError(f"unknown profile {requested!r}; choose one of {', '.join(profile_names())}")
        return profiles[requested]
    names = list(target_names)
    return max(profiles.values(), key=lambda profile: len(profile.match(names)))


def find_node(names: list[str], candidates: Iterable[str]) -> int | None:
    """The index of the node a profile names for a role: exact names first, in the profile's order of
    preference, then case-insensitively (avatars from other tools change case)."""
    candidates = tuple(candidates)
    for candidate in candidates:
        if candidate in names:
            return names.index(candidate)
    lowered = [name.lower() for name in names]
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered.index(candidate.lower())
    return None


def viseme_target_names() -> dict[str, str]:
    """Our viseme channel -> its Ready Player Me target name ('ih' -> 'viseme_I'), read from the oculus profile."""
    mapping = {}
    for target, terms in load_profiles()["oculus"].targets.items():
        if len(terms) == 1 and terms[0][0] in OCULUS_VISEMES and terms[0][1] == 1.0:
            mapping[terms[0][0]] = target
    return mapping
