"""The avatars that come with the package (the default photo head, the procedural head) and glTF helpers."""

from __future__ import annotations

from .default import default_avatar_glb, default_avatar_path, procedural_avatar_glb, write_default_avatar

__all__ = ["default_avatar_glb", "default_avatar_path", "procedural_avatar_glb", "write_default_avatar"]
