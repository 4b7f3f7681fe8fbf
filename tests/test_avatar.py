"""The avatars that come with the package: the default (the astronaut's photo head, committed) is what its generator
makes and is valid glTF three.js loads; the procedural head's every ARKit and viseme target moves the right part
the right way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatarlab.avatar import default_avatar_glb, procedural_avatar_glb
from avatarlab.avatar.gltf import read_glb
from avatarlab.avatar.head import build_head, shape_names
from avatarlab.channels import ARKIT_BLENDSHAPES
from avatarlab.render.scene import load_scene
from gltf_checks import assert_valid, needs_node, run_js

RPM_VISEMES = ["viseme_sil", "viseme_PP", "viseme_FF", "viseme_TH", "viseme_DD", "viseme_kk", "viseme_CH",
               "viseme_SS", "viseme_nn", "viseme_RR", "viseme_aa", "viseme_E", "viseme_I", "viseme_O", "viseme_U"]
COMMITTED = Path(__file__).parents[1] / "models" / "avatar" / "default_head.glb"


@pytest.fixture(scope="module")
def head():
    return build_head()


def test_target_names_are_arkit_then_ready_player_me_visemes() -> None:
    assert shape_names() == [*ARKIT_BLENDSHAPES, *RPM_VISEMES]


@pytest.mark.parametrize("make", [default_avatar_glb, procedural_avatar_glb], ids=["default", "procedural"])
def test_glb_layout_names_and_size(make) -> None:
    data = make()
    assert len(data) < 2_000_000
    gltf = read_glb(data)
    names = {node.name for node in gltf.nodes}
    assert {"Head", "HeadMesh", "LeftEye", "RightEye", "Body"} <= names
    head_mesh = next(m for m in gltf.meshes if m.name == "Head")
    assert head_mesh.extras["targetNames"] == shape_names()
    assert all(len(p.targets) == 67 for p in head_mesh.primitives)


def test_the_default_is_the_file_in_models_avatar() -> None:
    assert default_avatar_glb() == COMMITTED.read_bytes()


def test_committed_default_is_what_its_generator_makes() -> None:
    """`python -m avatarlab.avatar.make_default` rebuilds the committed GLB from the astronaut portrait. The same
    bytes on this machine's CPU; another CPU's face-mesh arithmetic may differ in the last bits, so the comparison
    is of what the file holds: the same nodes and meshes, every vertex and morph target within 0.1 mm, the
    texture within a level or two of 255."""
    pytest.importorskip("skimage")
    from avatarlab.avatar.make_default import default_avatar_from_portrait

    made = default_avatar_from_portrait()
    if made == COMMITTED.read_bytes():
        return
    ours, committed = load_scene(made), load_scene(COMMITTED.read_bytes())
    hint = "regenerate: make avatar (python -m avatarlab.avatar.make_default)"
    assert [n.name for n in ours.nodes] == [n.name for n in committed.nodes], hint
    for a, b in zip(ours.meshes, committed.meshes, strict=True):
        assert (a.name, a.target_names, len(a.primitives)) == (b.name, b.target_names, len(b.primitives)), hint
        for p, q in zip(a.primitives, b.primitives, strict=True):
            assert np.array_equal(p.indices, q.indices), f"{a.name}: {hint}"
            assert np.allclose(p.positions, q.positions, atol=1e-4), f"{a.name}: {hint}"
            for t, u in zip(p.target_positions, q.target_positions, strict=True):
                assert np.allclose(_dense(t, p), _dense(u, q), atol=1e-4), f"{a.name}: {hint}"
    assert len(ours.textures) == len(committed.textures)
    for index in range(len(ours.document.entries("images"))):
        image, committed_image = ours.image(index), committed.image(index)
        assert image.shape == committed_image.shape and np.abs(image.astype(int) - committed_image).mean() < 2, hint


def _dense(target: np.ndarray | None, primitive) -> np.ndarray:
    return np.zeros_like(primitive.positions) if target is None else target


def _moved(head, name: str) -> float:
    return max(float(np.abs(part.shape(name)).max()) for part in head.head_parts)


def test_every_target_but_silence_moves_something(head) -> None:
    still = [name for name in shape_names() if _moved(head, name) < 5e-4]
    assert still == ["viseme_sil"]


def _mean_delta(part, name: str, mask: np.ndarray) -> np.ndarray:
    return part.shape(name)[mask].mean(axis=0)


def test_shapes_move_the_part_their_name_says(head) -> None:
    skin, lids, _, teeth, tongue = head.head_parts
    p = skin.positions
    marks = head.landmarks
    chin = (p[:, 1] < marks.mouth_y - 0.02) & (p[:, 2] > 0.05) & (np.abs(p[:, 0]) < 0.02)
    assert _mean_delta(skin, "jawOpen", chin)[1] < -0.005  # the chin drops
    assert _mean_delta(skin, "viseme_aa", chin)[1] < -0.003
    left_corner = (np.abs(p[:, 0] - marks.mouth_half_width) < 0.006) & (np.abs(p[:, 1] - marks.mouth_y) < 0.006) & (
        p[:, 2] > 0.05)
    assert _mean_delta(skin, "mouthSmileLeft", left_corner)[1] > 0.003
    assert _mean_delta(skin, "mouthFrownLeft", left_corner)[1] < -0.003
    assert np.abs(_mean_delta(skin, "mouthSmileRight", left_corner)).max() < 1e-3  # the other side stays
    brows = (p[:, 1] > 0.03) & (p[:, 1] < 0.05) & (np.abs(p[:, 0]) < 0.02) & (p[:, 2] > 0.05)
    assert _mean_delta(skin, "browInnerUp", brows)[1] > 0.003
    lips = np.abs(p[:, 1] - marks.mouth_y) < 0.004
    assert _mean_delta(skin, "mouthPucker", lips & (np.abs(p[:, 0]) < 0.01))[2] > 0.005  # lips push forward
    left_lids = lids.positions[:, 0] > 0
    upper = left_lids & (lids.positions[:, 1] > marks.eye_centres[0][1])
    assert _mean_delta(lids, "eyeBlinkLeft", upper)[1] < -0.002  # the upper lid comes down
    assert np.abs(lids.shape("eyeBlinkLeft")[~left_lids]).max() == 0
    lower_teeth = teeth.positions[:, 1] < marks.mouth_y - 0.002
    assert _mean_delta(teeth, "jawOpen", lower_teeth)[1] < -0.004
    assert _mean_delta(tongue, "tongueOut", tongue.positions[:, 2] > tongue.positions[:, 2].mean())[2] > 0.008


@needs_node
@pytest.mark.parametrize("make", [default_avatar_glb, procedural_avatar_glb], ids=["default", "procedural"])
def test_khronos_validator_and_three_js_accept_the_avatars(tmp_path: Path, make) -> None:
    path = tmp_path / "head.glb"
    path.write_bytes(make())
    assert_valid(path)
    loaded = run_js("three_load.mjs", path)
    assert loaded["meshes"] and all(set(m["dictionary"]) == set(shape_names()) for m in loaded["meshes"])
    assert {"Head", "LeftEye", "RightEye"} <= set(loaded["nodes"])
    assert loaded["textures"] == (1 if make is default_avatar_glb else 0)  # the photo; vertex colours


def _slit_pairs(skin) -> tuple[np.ndarray, np.ndarray]:
    """The split mouth line: (upper edge, lower edge) vertex indices that share a rest position."""
    keys = {}
    for index, point in enumerate(np.round(skin.positions, 9)):
        keys.setdefault(tuple(point), []).append(index)
    pairs = [v for v in keys.values() if len(v) == 2]
    upper = np.array([min(pair, key=lambda i: abs(skin.shape("jawOpen")[i, 1])) for pair in pairs])
    lower = np.array([max(pair, key=lambda i: abs(skin.shape("jawOpen")[i, 1])) for pair in pairs])
    return upper, lower


def test_mouth_close_seals_the_lips_against_the_open_jaw(head) -> None:
    """ARKit's convention, as authored: jawOpen = w with mouthClose = w brings the lip edges together again."""
    skin = head.head_parts[0]
    upper, lower = _slit_pairs(skin)
    assert len(upper) >= 20
    move = lambda w, names: skin.positions + w * sum(skin.shape(n) for n in names)  # noqa: E731
    for w in (0.2, 0.5, 1.0):
        opened, sealed = move(w, ["jawOpen"]), move(w, ["jawOpen", "mouthClose"])
        assert np.abs(opened[lower, 1] - opened[upper, 1]).max() > 0.02 * w  # the jaw parts them ...
        np.testing.assert_allclose(sealed[lower], sealed[upper], atol=1e-6)  # ... and mouthClose shuts them


@pytest.mark.parametrize("name", ["mouthPressLeft", "mouthPucker", "mouthShrugLower", "mouthShrugUpper",
                                  "mouthSmileLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthStretchLeft",
                                  "mouthLeft", "mouthRollLower", "mouthRollUpper", "viseme_PP"])
def test_closed_lip_shapes_never_part_the_lips(head, name: str) -> None:
    """Shapes that keep the mouth shut move both edges of the mouth line alike (the rolls only tuck one back)."""
    skin = head.head_parts[0]
    upper, lower = _slit_pairs(skin)
    delta = skin.shape(name)
    axes = [0, 1] if "Roll" in name or name == "viseme_PP" else [0, 1, 2]
    np.testing.assert_allclose(delta[lower][:, axes], delta[upper][:, axes], atol=1e-9)
