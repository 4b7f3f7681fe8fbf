"""The offscreen renderer, measured on its pixels: framing, background, mouth shapes, head turns, textures, alpha,
skinning and VRM, on Mesa llvmpipe through EGL. Images are saved under out/test-artifacts/render/."""

from __future__ import annotations

import numpy as np
import pytest

from avatarlab.errors import InvalidOptionError
from avatarlab.render import (
    ALL_CHANNELS, Avatar, AvatarFileError, Background, Curves, Renderer, RenderSettings, pose_vector, render_pose,
)
from avatarlab.render.errors import RenderError
from avatarlab.render.images import decode_image, png_bytes
from avatarlab.render.settings import parse_colour, parse_size
from render_scenes import cavity, centroid, dark, foreground, no_face_avatar, reddish, save_artifact, synthetic_avatar
from tools import egl_missing, needs


pytestmark = needs(egl_missing())
BACKGROUND = (30, 32, 40)  # the default #1e2028


@pytest.fixture(scope="module")
def head() -> Avatar:
    """The procedural head: its flat, known colours (a red mouth cavity) make the renderer's pixels checkable.
    The default avatar (the astronaut's photo head) is measured in the photo avatar and mouth pixel tests."""
    from avatarlab.avatar import procedural_avatar_glb

    return Avatar.load(procedural_avatar_glb())


def test_the_default_avatar_is_the_textured_photo_head() -> None:
    default = Avatar.load()
    assert default.label == "default head"
    assert any(material.base_color_texture is not None for material in default.scene.materials)


def _render(avatar: Avatar, pose=None, size=(128, 128), **settings) -> np.ndarray:
    with Renderer(avatar, RenderSettings(size=size, **settings)) as renderer:
        return renderer.render(pose)


def test_the_head_is_centred_on_the_background_colour(head) -> None:
    image = _render(head, size=(160, 120))
    save_artifact("procedural_head.png", image)
    assert image.shape == (120, 160, 4) and image.dtype == np.uint8
    for corner in (image[0, 0], image[0, -1], image[-1, 0], image[-1, -1]):
        assert tuple(corner[:3]) == BACKGROUND and corner[3] == 255
    mask = foreground(image, BACKGROUND)
    x, _ = centroid(mask)
    assert abs(x - 80) < 4, "the head and shoulders are centred left to right"
    assert 0.1 < mask.mean() < 0.7
    rows = np.nonzero(mask.any(axis=1))[0]
    assert rows[0] > 2, "there is headroom above the head"


def test_jaw_open_opens_the_mouth_in_a_close_up(head) -> None:
    with Renderer(head, RenderSettings(size=(128, 96), camera="mouth")) as renderer:
        closed = renderer.render({})
        opened = renderer.render({"jawOpen": 1.0})
        again = renderer.render({})
    save_artifact("mouth_jaw_closed_open.png", np.concatenate([closed, opened], axis=1))
    assert np.array_equal(closed, again), "the same pose draws the same pixels"
    assert cavity(opened).sum() > cavity(closed).sum() + 300, "the open mouth shows its red cavity"
    changed = np.abs(opened.astype(int) - closed.astype(int)).max(axis=-1) > 20
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.mean() > 40, "the change is in the lower part of the close-up (the jaw drops)"


def test_camera_presets_frame_the_head_closer_and_closer(head) -> None:
    share = {}
    for camera in ("head-shoulders", "face", "mouth"):
        image = _render(head, size=(96, 96), camera=camera)
        save_artifact(f"camera_{camera}.png", image)
        share[camera] = foreground(image, BACKGROUND).mean()
    assert share["head-shoulders"] < share["face"] < share["mouth"]
    assert share["mouth"] > 0.6, "the lips fill most of a mouth close-up"


def test_wide_and_tall_frames_keep_the_head_inside(head) -> None:
    for size in ((192, 64), (64, 192)):
        image = _render(head, size=size, camera="face")
        mask = foreground(image, BACKGROUND)
        assert not mask[0].any() or not mask[:, 0].any(), f"{size}: the head is not cut on two sides"
        x, y = centroid(mask)
        assert abs(x - size[0] / 2) < size[0] * 0.1 and abs(y - size[1] / 2) < size[1] * 0.15


def test_transparent_frames_have_straight_alpha(head) -> None:
    opaque = _render(head, size=(96, 96), camera="face")
    clear = _render(head, size=(96, 96), camera="face", transparent=True)
    save_artifact("transparent_face.png", clear)
    assert clear[0, 0, 3] == 0 and clear[-1, -1, 3] == 0
    inside = clear[..., 3] == 255
    assert inside.mean() > 0.3
    difference = np.abs(clear[..., :3].astype(int) - opaque[..., :3].astype(int)).max(axis=-1)
    assert np.percentile(difference[inside], 99) <= 2, "inside the head the colours match the opaque render"
    edge = (clear[..., 3] > 20) & (clear[..., 3] < 235)
    assert edge.any(), "anti-aliased edges are partly transparent"
    assert clear[edge][:, :3].max(axis=-1).mean() > 80, "edge colour is not darkened by premultiplication"


def test_background_image_covers_the_frame(tmp_path, head) -> None:
    picture = np.zeros((20, 40, 4), np.uint8)
    picture[:, :20] = (250, 220, 0, 255)
    picture[:, 20:] = (200, 0, 200, 255)
    path = tmp_path / "studio.png"
    path.write_bytes(png_bytes(picture))
    image = _render(head, size=(64, 64), background=Background.parse(str(path)))
    save_artifact("background_image.png", image)
    assert tuple(image[1, 1, :3]) == (250, 220, 0) and tuple(image[1, -2, :3]) == (200, 0, 200)
    assert tuple(image[-2, 1, :3]) == (250, 220, 0), "the image is scaled to cover, not tiled or stretched short"


def test_background_colour_parsing() -> None:
    assert parse_colour("#1e2028") == pytest.approx((30 / 255, 32 / 255, 40 / 255))
    assert parse_colour("fff") == (1.0, 1.0, 1.0) and parse_colour("white") == (1.0, 1.0, 1.0)
    assert parse_colour("no-such-file.png") is None
    with pytest.raises(InvalidOptionError, match="neither a colour"):
        Background.parse("no-such-file.png")


@pytest.mark.parametrize("text, message", [("4000x4000", "up to|from 16 to 3840"), ("8x8", "from 16"),
                                           ("513x512", "even"), ("big", "WIDTHxHEIGHT")])
def test_bad_sizes_are_refused(text, message) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        parse_size(text)


def test_settings_limits() -> None:
    assert parse_size("3840x2160") == (3840, 2160) and parse_size("512") == (512, 512)
    for bad in ({"fps": 29}, {"fps": True}, {"camera": "side"}, {"crf": 52}, {"antialias": "ssaa"},
                {"device": "gpu0"}):
        with pytest.raises(InvalidOptionError):
            RenderSettings(**bad).checked()
    assert RenderSettings(transparent=True, crf=63).checked().video_suffix == ".webm"


def test_antialiasing_smooths_edges_and_none_is_hard(head) -> None:
    def edge_levels(antialias: str) -> int:
        image = _render(head, size=(96, 96), camera="face", transparent=True, antialias=antialias)
        return int(((image[..., 3] > 0) & (image[..., 3] < 255)).sum())

    assert edge_levels("none") == 0
    assert edge_levels("fxaa") > 20
    assert edge_levels("msaa") > 20


@pytest.mark.parametrize("kind", ["default", "skinned", "mask"])
def test_fxaa_on_the_avatars_bands_matches_fxaa_on_the_whole_frame(kind, head, monkeypatch) -> None:
    """FXAA runs only over bands of rows as wide as the posed avatar's triangles (coverage.py): the picture is the
    same, pixel for pixel, as filtering every pixel, also with the head turned far and a transparent frame, while
    the bands cover well under the whole frame."""
    from avatarlab.render import renderer as renderer_module

    avatar = head if kind == "default" else Avatar.load(synthetic_avatar(kind))
    poses = [{"jawOpen": 0.6, "aa": 0.5}, {"headYaw": 0.9, "headRoll": 0.4, "headPitch": -0.3}]
    areas: list[float] = []
    bands = renderer_module.band_rectangles

    def measured(pixels, corners, size):
        rectangles = bands(pixels, corners, size)
        areas.append(float(np.prod(rectangles[:, 2:] - rectangles[:, :2], axis=1).sum()) / (size[0] * size[1]))
        return rectangles

    def whole_frame(pixels, corners, size):
        return np.array([[0, 0, size[0], size[1]]], np.float32)

    def frames(transparent: bool) -> list[np.ndarray]:
        with Renderer(avatar, RenderSettings(size=(192, 108), transparent=transparent, antialias="fxaa")) as renderer:
            return [renderer.render(pose) for pose in poses]

    for transparent in (False, True):
        monkeypatch.setattr(renderer_module, "band_rectangles", measured)
        banded = frames(transparent)
        monkeypatch.setattr(renderer_module, "band_rectangles", whole_frame)
        full = frames(transparent)
        for pose, a, b in zip(poses, banded, full):
            different = int((a != b).any(axis=-1).sum())
            assert different == 0, f"{kind} {pose} transparent={transparent}: {different} pixels differ"
    save_artifact(f"fxaa_bands_{kind}.png", banded[1])
    assert max(areas) < 0.6, f"the bands cover {max(areas):.0%} of the frame"


# ---- glTF features on synthetic avatars -----------------------------------------------------------------------
def _nose(image: np.ndarray) -> tuple[float, float]:
    return centroid(reddish(image))


def _mouth(image: np.ndarray) -> np.ndarray:
    """The synthetic head's mouth slot: dark, and not the background."""
    return dark(image, 120) & foreground(image, BACKGROUND)


def test_base_colour_texture_and_normal_map_are_used() -> None:
    avatar = Avatar.load(synthetic_avatar("textured"))
    with Renderer(avatar, RenderSettings(size=(128, 128), camera="face")) as renderer:
        mapped = renderer.render()
        avatar.scene.materials[0].normal_texture = None
        flat = Renderer(Avatar(avatar.scene, avatar.rig, "flat"), RenderSettings(size=(128, 128), camera="face"),
                        context=renderer.gl).render()
    save_artifact("textured_normal_map_flat.png", np.concatenate([mapped, flat], axis=1))
    left, right = flat[64, 30, :3].astype(int), flat[64, 98, :3].astype(int)
    assert left[0] > left[1] + 60, "the viewer's left is the red half of the texture"
    assert right[1] > right[0] + 60, "the viewer's right is the green half"
    head = foreground(flat, BACKGROUND)
    shift = np.abs(mapped[..., :3].astype(int) - flat[..., :3].astype(int)).max(axis=-1)[head]
    assert np.median(shift) > 10, "the tilted normal map changes the shading"


def test_alpha_blend_mixes_and_alpha_mask_cuts() -> None:
    blend = _render(Avatar.load(synthetic_avatar("blend")), size=(128, 128), camera="face")
    plain = _render(Avatar.load(synthetic_avatar("plain")), size=(128, 128), camera="face")
    mask = _render(Avatar.load(synthetic_avatar("mask")), size=(128, 128), camera="face", antialias="none")
    save_artifact("alpha_blend_plain_mask.png", np.concatenate([blend, plain, mask], axis=1))
    visor = (slice(40, 56), slice(30, 48))  # the visor, left of the nose, over the skin
    b, p = blend[visor][..., :3].astype(int), plain[visor][..., :3].astype(int)
    assert (b[..., 1] > b[..., 0] + 30).all(), "the half-transparent green visor is in front"
    assert (b[..., 0] < p[..., 0] - 50).all() and (b[..., 0] > 40).all(), \
        "the skin still shows through (a quarter of it: the thin visor box has a front and a back face)"
    m = mask[visor][..., :3].astype(int)
    blue = (m[..., 2] > 150) & (m[..., 0] < 60)
    skin = (np.abs(m - p) <= 4).all(axis=-1)
    assert blue.mean() > 0.3 and skin.mean() > 0.3, "a masked part shows where alpha >= cutoff, nothing elsewhere"
    assert (blue | skin).mean() > 0.85, "no half-blended pixels in a masked part"


@pytest.mark.parametrize("kind", ["plain", "skinned", "vrm1", "vrm0"])
def test_head_turns_and_mouth_opens_on_every_rig_kind(kind) -> None:
    avatar = Avatar.load(synthetic_avatar(kind))
    assert "head" in avatar.rig.rotation_nodes
    with Renderer(avatar, RenderSettings(size=(128, 128), camera="face")) as renderer:
        rest = renderer.render()
        rolled = renderer.render({"headRoll": 0.4})
        pitched = renderer.render({"headPitch": 0.4})
        opened = renderer.render({"jawOpen": 1.0, "aa": 1.0})
    save_artifact(f"rig_{kind}.png", np.concatenate([rest, rolled, pitched, opened], axis=1))
    nose = _nose(rest)
    assert abs(nose[0] - 64) < 4, "the nose faces the camera"
    assert _nose(rolled)[0] > nose[0] + 8, "positive roll tilts the head to the avatar's left (the viewer's right)"
    assert _nose(pitched)[1] > nose[1] + 6, "positive pitch looks down"
    assert _mouth(opened).sum() > _mouth(rest).sum() + 100, "the mouth opens"


def test_vrm_expressions_drive_targets_whose_names_match_no_profile() -> None:
    avatar = Avatar.load(synthetic_avatar("vrm1"))
    assert avatar.rig.profile.name == "vrm" and avatar.rig.via_vrm_expressions
    weights = avatar.rig.morph_weights(avatar.scene, pose_vector({"aa": 0.5, "kk": 1.0}))
    assert weights[0][0] == pytest.approx(0.9), "aa = aa + 0.4 kk, as the vrm profile says"


def test_avatar_without_face_targets_is_refused_with_the_expected_names() -> None:
    with pytest.raises(AvatarFileError) as caught:
        Avatar.load(no_face_avatar())
    message = str(caught.value)
    assert "Blink_L" in message and "jawOpen" in message and "viseme_aa" in message
    assert "retarget_profiles.json" in message


@pytest.mark.parametrize("data, message", [(b"hello, not a model", "not a glTF"),
                                           (b"glTF\x01\x00\x00\x00\x14\x00\x00\x00" + b"\0" * 8, "version 1"),
                                           (b'{"asset": {"version": "1.0"}}', "only glTF 2.0"),
                                           (b'{"asset": {"version": "2.0"}, "buffers": [{"byteLength": 4}]}',
                                            "no data")])
def test_files_that_are_not_usable_gltf_are_refused(data, message) -> None:
    with pytest.raises(AvatarFileError, match=message):
        Avatar.load(data)


def test_gltf_with_an_external_buffer_renders_like_the_glb(tmp_path) -> None:
    import json
    import struct

    glb = synthetic_avatar("textured")
    json_length = struct.unpack_from("<I", glb, 12)[0]
    document = json.loads(glb[20:20 + json_length])
    binary = glb[20 + json_length + 8:]
    document["buffers"][0]["uri"] = "head%20data.bin"
    (tmp_path / "head data.bin").write_bytes(binary)
    (tmp_path / "head.gltf").write_text(json.dumps(document))
    settings = dict(size=(64, 64), camera="face")
    assert np.array_equal(_render(Avatar.load(tmp_path / "head.gltf"), **settings),
                          _render(Avatar.load(glb), **settings))
    (tmp_path / "head data.bin").unlink()
    with pytest.raises(AvatarFileError, match="cannot read .*head data.bin"):
        Avatar.load(tmp_path / "head.gltf")


def test_render_pose_api_and_unknown_channels(head) -> None:
    image = render_pose({"jawOpen": 0.5}, avatar=head, settings=RenderSettings(size=(64, 48)), camera="mouth")
    assert image.shape == (48, 64, 4)
    with pytest.raises(ValueError, match="unknown channel 'jaw'"):
        pose_vector({"jaw": 1.0})
    assert len(pose_vector()) == len(ALL_CHANNELS) == 15 + 52 + 3 + 4


# ---- timing rule ------------------------------------------------------------------------------------------------
def test_curves_are_sampled_at_i_over_fps_like_the_clients() -> None:
    values = np.zeros((7, len(ALL_CHANNELS)), np.float32)
    values[:, 0] = np.arange(7)  # 'sil' holds the frame number
    curves = Curves(fps=60, values=values, audio=np.zeros(2205, np.float32), sample_rate=22050)
    assert curves.video_frames(30) == 3 and curves.video_frames(25) == 3 and curves.video_frames(24) == 3
    assert curves.at(0.0)[0] == 0 and curves.at(1 / 30)[0] == pytest.approx(2.0)
    assert curves.at(1 / 25)[0] == pytest.approx(2.4), "between curve frames: linear interpolation"
    assert curves.at(-1.0)[0] == 0 and curves.at(10.0)[0] == 6, "clamped at both ends"
    longer = Curves(fps=60, values=values, audio=np.zeros(22051, np.float32), sample_rate=22050)
    assert longer.video_frames(30) == 31, "ceil(num_samples * fps / sample_rate)"


def test_decode_image_round_trip() -> None:
    picture = (np.arange(5 * 7 * 4) % 251).astype(np.uint8).reshape(5, 7, 4)
    assert np.array_equal(decode_image(png_bytes(picture), "test"), picture)
    with pytest.raises(RenderError, match="cannot decode image"):
        decode_image(b"not an image", "junk")


def test_fxaa_bands_reach_every_row_a_triangle_spans_and_none_off_screen() -> None:
    from avatarlab.render.coverage import BAND_ROWS, MARGIN, band_rectangles

    pixels = np.array([[10, 5], [30, 5], [20, 60],  # a tall thin triangle: many bands, one vertex per end
                       [40, 200], [60, 200], [50, 230]], np.float32)  # wholly above a 100-row frame
    rectangles = band_rectangles(pixels, np.array([[0, 3], [1, 4], [2, 5]]), (100, 100))
    first, last = int((5 - MARGIN) // BAND_ROWS), int((60 + MARGIN) // BAND_ROWS)
    assert rectangles[:, 1].tolist() == [band * BAND_ROWS for band in range(first, last + 1)]
    assert (rectangles[:, 0] == np.floor(10 - MARGIN)).all() and (rectangles[:, 2] == np.ceil(30 + MARGIN)).all()
