"""Offline export of dialogue lines: retargeting onto avatars, glTF animation, batch runs."""

from __future__ import annotations

from .._lazy import lazy_exports

# imported on first use, so `avatarlab.export.cli` (CLI help) loads no GLB writer (pygltflib)
__getattr__, __dir__ = lazy_exports(__name__, {".glb": ("animate_avatar", "inspect_avatar"),
                                               ".retarget": ("choose_profile", "load_profiles")})

__all__ = ["animate_avatar", "choose_profile", "inspect_avatar", "load_profiles"]
