"""The photo avatar's head beyond the face: the back-of-head shell leaves the face's edge without a step, the ears
stand out on both sides, and the head turned far shows no hole. Measured on renders of the astronaut's head;
images in out/test-artifacts/photo_avatar/head/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarlab.render.images import write_png
from test_photo_avatar import BACKGROUND, _enclosed_background, _mesh
from tools import egl_missing, needs

ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "photo_avatar" / "head"
SIZE = (384, 384)
TURNS = {"front": 0, "left90": 90, "right90": -90}
# (+-30 degrees: tests/test_photo_avatar.py. At 45-60 degrees the far corner of the near eye's opening shows
# the clear colour through a gap between the eyeball and its socket: not fixed yet, docs/photo-avatar.md.)


@pytest.fixture(scope="module")
def turns(tmp_path_factory) -> dict[str, np.ndarray]:
    if egl_missing():
        pytest.skip(egl_missing())
    from avatarlab.photo_avatar import glb_from_image
    from avatarlab.render import Avatar, Renderer, RenderSettings

    photo = pytest.importorskip("skimage.data").astronaut()
    path = tmp_path_factory.mktemp("head") / "astronaut.glb"
    path.write_bytes(glb_from_image(photo)[0])
    avatar = Avatar.load(path)
    images = {}
    with Renderer(avatar, RenderSettings(size=SIZE).checked()) as renderer:
        camera = avatar.camera("face", SIZE[0] / SIZE[1])
        for name, yaw in TURNS.items():
            images[name] = renderer.render({"headYaw": np.radians(yaw)}, camera)[..., :3]
            write_png(ARTIFACTS / f"{name}.png", images[name])
    write_png(ARTIFACTS / "turns.png", np.concatenate(list(images.values()), axis=1))
    return images


@needs(egl_missing())
def test_both_ears_stand_out_beside_the_face(turns):
    """Between the eyes' and the nose's height the head's silhouette reaches past the face's outline (landmarks 234
    and 454, found on the render) on both sides: the ears (without them it ends at the outline, 0.01 eye distances)."""
    image = turns["front"]
    points = _mesh(image)
    background = np.all(image == np.asarray(BACKGROUND, np.uint8), axis=-1)
    eye_distance = np.linalg.norm(points[[33, 133]].mean(axis=0) - points[[263, 362]].mean(axis=0))
    rows = range(int(points[[33, 263], 1].mean()), int(points[2, 1]))
    for side, outline in ((-1, 234), (1, 454)):
        beyond = []
        for y in rows:
            head = np.flatnonzero(~background[y])
            edge = head.min() if side < 0 else head.max()
            beyond.append((edge - points[outline, 0]) * side / eye_distance)
        assert np.median(beyond) > 0.06, (side, np.median(beyond))


@needs(egl_missing())
def test_the_head_from_the_front_and_in_profile_has_no_hole(turns):
    for name in TURNS:
        assert _enclosed_background(turns[name]) == 0, name
