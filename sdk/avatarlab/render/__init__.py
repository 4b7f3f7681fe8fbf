"""Offscreen video rendering: any glTF/VRM avatar speaking a line, to MP4 (or WebM with alpha), on CPU or GPU.

OpenGL through EGL (Mesa llvmpipe when there is no GPU), frames piped to ffmpeg. See docs/render.md.

    from avatarlab.render import RenderSettings, render_video
    render_video(Engine().speak("Hello!", fps=30), "out/hello.mp4", RenderSettings(size=(512, 512), fps=30))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .avatar import Avatar
    from .camera import Camera
    from .settings import RenderSettings

# imported on first use, so `avatarlab.render.settings` (CLI help) loads no renderer, encoder or engine
__getattr__, __dir__ = lazy_exports(__name__, {
    ".avatar": ("Avatar",), ".camera": ("Camera",), ".curves": ("Curves", "load_curves"),
    ".errors": ("AvatarFileError", "CurvesError", "RenderError"), ".renderer": ("Renderer",),
    ".rig": ("ALL_CHANNELS", "pose_vector"),
    ".settings": ("CAMERA_PRESETS", "FPS_CHOICES", "MAX_SIDE", "Background", "RenderSettings"),
    ".video": ("Frame", "VideoResult", "iter_frames", "render_video"),
})


def render_pose(pose=None, *, avatar: Avatar | None = None, settings: RenderSettings | None = None,
                camera: Camera | str | None = None):
    """One frame of a pose (channel name -> value: visemes, ARKit blendshapes, head/eye angles in radians) as
    (height, width, 4) uint8 RGBA. ``camera``: a Camera or a preset name ('mouth' frames the lips close up).
    Opens and closes a GL context: for many frames keep a Renderer instead."""
    from .avatar import Avatar
    from .renderer import Renderer
    from .settings import RenderSettings

    avatar = avatar or Avatar.load()
    settings = (settings or RenderSettings()).checked()
    with Renderer(avatar, settings) as renderer:
        if isinstance(camera, str):
            camera = avatar.camera(camera, settings.size[0] / settings.size[1])
        return renderer.render(pose, camera)


__all__ = [
    "ALL_CHANNELS", "CAMERA_PRESETS", "FPS_CHOICES", "MAX_SIDE", "Avatar", "AvatarFileError", "Background", "Camera",
    "Curves", "CurvesError", "Frame", "RenderError", "RenderSettings", "Renderer", "VideoResult", "iter_frames",
    "load_curves", "pose_vector", "render_pose", "render_video",
]
