"""An avatar ready to render: its scene and the rig that drives it from our channels. No OpenGL needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .camera import Camera, preset_camera
from .rig import Rig, build_rig
from .scene import Scene, load_scene

DEFAULT_LABEL = "default head"


@dataclass
class Avatar:
    scene: Scene
    rig: Rig
    label: str

    @classmethod
    def load(cls, source: str | Path | bytes | None = None, profile: str = "auto") -> Avatar:
        """A .glb/.vrm/.gltf file, GLB bytes, or None for the default head. Raises AvatarFileError."""
        if source is None:
            from ..avatar import default_avatar_glb

            scene = load_scene(default_avatar_glb(), "default_head.glb")
            label = DEFAULT_LABEL
        else:
            scene = load_scene(source)
            label = scene.name
        return cls(scene, build_rig(scene, profile), label)

    def camera(self, preset: str, aspect: float) -> Camera:
        """The preset's camera for this avatar ('head-shoulders', 'face' or 'mouth')."""
        return preset_camera(preset, self.scene, self.rig, aspect)

    def warnings(self) -> list[str]:
        return self.rig.warnings() + self.scene.notes
