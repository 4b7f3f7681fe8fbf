"""Animation channel vocabularies, loaded from the one data file that every client copies."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Final


def _load() -> dict[str, list[str]]:
    text = files("avatarlab").joinpath("data/channels.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {key: list(value) for key, value in data.items() if not key.startswith("_")}


_CHANNELS: Final = _load()

#: The 15 Oculus/OpenXR visemes, in their canonical order.
OCULUS_VISEMES: Final[tuple[str, ...]] = tuple(_CHANNELS["oculus_visemes"])
#: Apple's 52 ARKit blendshape names, in ARKit's documented order.
ARKIT_BLENDSHAPES: Final[tuple[str, ...]] = tuple(_CHANNELS["arkit_blendshapes"])
#: Head rotation channels in radians (pitch: positive looks down, yaw: positive turns left, roll: positive tilts left).
HEAD_CHANNELS: Final[tuple[str, ...]] = tuple(_CHANNELS["head"])
#: Eye rotation channels in radians (pitch: positive looks down, yaw: positive looks to the avatar's left).
EYE_CHANNELS: Final[tuple[str, ...]] = tuple(_CHANNELS["eyes"])

VISEME_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(OCULUS_VISEMES)}
ARKIT_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(ARKIT_BLENDSHAPES)}
