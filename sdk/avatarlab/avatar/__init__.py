"""The default avatar head (procedural, with ARKit and viseme morph targets) and glTF building helpers."""

from __future__ import annotations

from .default import default_avatar_glb, write_default_avatar

__all__ = ["default_avatar_glb", "write_default_avatar"]
