"""Export onto the default head and onto user-style rigs: valid glTF, right tracks in three.js, retargeting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avatarlab.avatar import default_avatar_glb
from avatarlab.avatar.gltf import read_glb
from avatarlab.channels import ARKIT_INDEX, VISEME_INDEX
from avatarlab.export.batch import Line, Settings, export_line
from avatarlab.export.glb import animate_avatar, avatar_rotation, inspect_avatar
from avatarlab.export.retarget import RetargetError, choose_profile, load_profiles
from avatarlab.options import SynthesisOptions
from gltf_checks import assert_valid, needs_node, run_js, user_style_glb

VRM_TARGETS = ["aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad", "surprised"]
VRM_NODES = {"head": "J_Bip_C_Head", "leftEye": "J_Adj_L_FaceEye", "rightEye": None}


@pytest.fixture(scope="module")
def utterance(engine):
    return engine.speak("Hi, how are you?", fps=30, emotion="happy")


def test_profiles_only_read_known_channels_and_auto_picks_by_names() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"arkit", "oculus", "vrm"}
    assert len(profiles["arkit"].targets) == 52
    assert choose_profile("auto", ["viseme_aa", "viseme_PP", "eyeBlinkLeft"]).name == "oculus"
    assert choose_profile("auto", VRM_TARGETS).name == "vrm"
    assert choose_profile("auto", ["blendShape1.jawOpen", "blendShape1.eyeBlinkLeft"]).name == "arkit"
    with pytest.raises(RetargetError):
        choose_profile("maya", [])


def test_weighted_targets_sum_channels_and_clip(utterance) -> None:
    frames = utterance.frames
    vrm = load_profiles()["vrm"]
    blink = vrm.weights("blink", frames)
    expected = 0.5 * frames.blendshapes[:, ARKIT_INDEX["eyeBlinkLeft"]] + 0.5 * frames.blendshapes[
        :, ARKIT_INDEX["eyeBlinkRight"]]
    assert np.allclose(blink, expected, atol=1e-6)
    aa = vrm.weights("aa", frames)
    assert aa.min() >= 0 and aa.max() <= 1
    assert np.allclose(load_profiles()["oculus"].weights("viseme_I", frames), frames.visemes[:, VISEME_INDEX["ih"]])


def test_rotation_conventions() -> None:
    forward = np.array([0.0, 0.0, 1.0])

    def turn(q: np.ndarray, v: np.ndarray) -> np.ndarray:
        x, y, z, w = q
        u = np.array([x, y, z])
        return 2 * np.dot(u, v) * u + (w * w - np.dot(u, u)) * v + 2 * w * np.cross(u, v)

    down = turn(avatar_rotation(np.array([0.3]), np.array([0.0]))[0], forward)
    left = turn(avatar_rotation(np.array([0.0]), np.array([0.3]))[0], forward)
    tilt = turn(avatar_rotation(np.array([0.0]), np.array([0.0]), np.array([0.3]))[0], np.array([0.0, 1.0, 0.0]))
    assert down[1] < -0.2 and left[0] > 0.2 and tilt[0] > 0.2  # looks down; turns and tilts to the avatar's left (+X)


@needs_node
def test_export_onto_default_head_loads_in_three_js(engine, tmp_path: Path) -> None:
    line = Line("hi", "Hi, how are you?", None, SynthesisOptions(fps=30))
    settings = Settings(tmp_path, default_avatar_glb(), "default", "auto", csv_too=True)
    result = export_line(line, settings)
    assert result.status == "done", result.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hi.csv", "hi.glb", "hi.json", "hi.wav"]
    glb = tmp_path / "hi.glb"
    assert_valid(glb)
    curves = json.loads((tmp_path / "hi.json").read_text())
    n = curves["num_frames"]
    loaded = run_js("three_load.mjs", glb)
    extras = loaded["extras"]["avatarlab"]
    assert extras["audio"] == "hi.wav" and extras["curves"] == "hi.json" and extras["profile"] == "arkit"
    assert (tmp_path / extras["audio"]).is_file()
    (clip,) = loaded["clips"]
    assert clip["name"] == "hi" and abs(clip["duration"] - (n - 1) / 30) < 1e-4
    weights = [t for t in clip["tracks"] if t["name"].endswith(".morphTargetInfluences")]
    rotations = {t["name"].split(".")[0] for t in clip["tracks"] if t["name"].endswith(".quaternion")}
    assert rotations == {"Head", "LeftEye", "RightEye"}
    assert weights and all(t["times"] == n and t["values"] == n * 67 for t in weights)
    assert all(t["times"] == n for t in clip["tracks"])
    dictionary = loaded["meshes"][0]["dictionary"]
    assert dictionary["jawOpen"] == 17 and dictionary["viseme_U"] == 66


def _animated_weights(glb: bytes, node_name: str) -> np.ndarray:
    gltf = read_glb(glb)
    blob = gltf.binary_blob()
    node = next(i for i, n in enumerate(gltf.nodes) if n.name == node_name)
    (animation,) = gltf.animations
    channel = next(c for c in animation.channels if c.target.node == node and c.target.path == "weights")
    accessor = gltf.accessors[animation.samplers[channel.sampler].output]
    view = gltf.bufferViews[accessor.bufferView]
    return np.frombuffer(blob, np.float32, accessor.count, view.byteOffset + (accessor.byteOffset or 0))


@needs_node
def test_export_onto_vrm_style_rig_reports_what_is_missing(utterance, tmp_path: Path) -> None:
    avatar = user_style_glb({"Face": VRM_TARGETS, "Teeth": ["aa", "oh"], "Props": ["unrelated"]}, VRM_NODES)
    source = tmp_path / "vrm_style.glb"
    source.write_bytes(avatar)
    assert_valid(source)
    info = inspect_avatar(read_glb(avatar), "auto")
    assert info.profile.name == "vrm"
    assert {"relaxed", "lookUp"} <= set(info.missing_targets)
    assert info.missing_nodes == ["rightEye"]
    glb, info = animate_avatar(avatar, utterance.frames, "auto", "line", {"audio": "line.wav"})
    notes = " ".join(info.warnings())
    assert "relaxed" in notes and "rightEye" in notes
    out = tmp_path / "line.glb"
    out.write_bytes(glb)
    assert_valid(out)
    n = len(utterance.frames)
    face = _animated_weights(glb, "Face").reshape(n, len(VRM_TARGETS))
    assert face[:, VRM_TARGETS.index("aa")].max() > 0.1  # the mouth moves
    assert face[:, VRM_TARGETS.index("happy")].max() > 0.1  # the emotion shows
    loaded = run_js("three_load.mjs", out)
    tracks = {t["name"]: t for t in loaded["clips"][0]["tracks"]}
    assert set(tracks) == {"Face.morphTargetInfluences", "Teeth.morphTargetInfluences", "J_Bip_C_Head.quaternion",
                           "J_Adj_L_FaceEye.quaternion"}
    assert tracks["Teeth.morphTargetInfluences"]["values"] == 2 * n
    assert all(t["times"] == n for t in tracks.values())


@needs_node
def test_export_onto_arkit_rig_with_prefixed_names(utterance, tmp_path: Path) -> None:
    names = [f"blendShape1.{n}" for n in ("jawOpen", "eyeBlinkLeft", "mouthSmileLeft")] + ["viseme_aa"]
    avatar = user_style_glb({"CC_Base_Body": names}, {"head": "CC_Base_Head", "leftEye": "CC_Base_L_Eye",
                                                       "rightEye": "CC_Base_R_Eye"}, matrix_head=False)
    glb, info = animate_avatar(avatar, utterance.frames, "auto", "line", {})
    assert info.profile.name == "arkit" and info.missing_nodes == []
    weights = _animated_weights(glb, "CC_Base_Body").reshape(len(utterance.frames), 4)
    assert weights[:, 0].max() > 0.05 and np.all(weights[:, 3] == 0)  # viseme_aa is not an ARKit target
    out = tmp_path / "cc.glb"
    out.write_bytes(glb)
    assert_valid(out)


def test_avatar_without_any_matching_target_still_exports_rotations(utterance) -> None:
    avatar = user_style_glb({"Rock": ["crack"]}, {"head": "Head", "leftEye": "LeftEye", "rightEye": "RightEye"})
    glb, info = animate_avatar(avatar, utterance.frames, "oculus", "line", {})
    assert any("no morph target" in note for note in info.warnings())
    (animation,) = read_glb(glb).animations
    assert {c.target.path for c in animation.channels} == {"rotation"}
