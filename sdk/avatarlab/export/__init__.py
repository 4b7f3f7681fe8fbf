"""Offline export of dialogue lines: retargeting onto avatars, glTF animation, batch runs."""

from __future__ import annotations

from .glb import animate_avatar, inspect_avatar
from .retarget import choose_profile, load_profiles

__all__ = ["animate_avatar", "choose_profile", "inspect_avatar", "load_profiles"]
