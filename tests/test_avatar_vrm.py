"""`avatarlab avatar --vrm`: every avatar we ship (the default head, the procedural head, a photo head) as VRM 1.0.

The conversion is avatarlab.photo_avatar.vrm (checked in depth on the photo avatar by
tests/test_photo_avatar_vrm.py); here: the CLI chooses VRM by --vrm or the --out suffix, the meta options land in
`VRMC_vrm.meta`, each head's file has the 18 preset expressions bound to existing morph targets and the
head/eye bones, and passes the Khronos glTF validator. three-vrm loads and drives them in tests/test_web_vrm.py.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from avatarlab.cli import main
from gltf_checks import assert_valid, needs_node

PRESETS = {"aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad", "relaxed",
           "surprised", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral"}


def _gltf(path: Path) -> dict:
    """The JSON chunk of a binary glTF file."""
    data = path.read_bytes()
    assert data[:4] == b"glTF", f"{path} is a binary glTF"
    length, kind = struct.unpack_from("<II", data, 12)
    assert kind == 0x4E4F534A
    return json.loads(data[20:20 + length])


def _check_vrm(path: Path) -> dict:
    """The VRMC_vrm extension of ``path``, after checking what every head's VRM must have."""
    gltf = _gltf(path)
    vrm = gltf["extensions"]["VRMC_vrm"]
    assert gltf["extensionsUsed"] == ["VRMC_vrm"] and vrm["specVersion"] == "1.0"
    names = [node.get("name") for node in gltf["nodes"]]
    bones = {role: names[bone["node"]] for role, bone in vrm["humanoid"]["humanBones"].items()}
    assert (bones["head"], bones["leftEye"], bones["rightEye"]) == ("Head", "LeftEye", "RightEye")
    presets = vrm["expressions"]["preset"]
    assert set(presets) == PRESETS
    for name, expression in presets.items():
        for bind in expression.get("morphTargetBinds", []):
            mesh = gltf["meshes"][gltf["nodes"][bind["node"]]["mesh"]]
            assert 0 <= bind["index"] < len(mesh["primitives"][0]["targets"]), name
        assert name == "neutral" or expression["morphTargetBinds"], f"{name} moves something"
    assert vrm["lookAt"]["type"] == "bone"
    return vrm


@pytest.fixture(scope="module")
def default_vrm(tmp_path_factory) -> Path:
    """`avatarlab avatar --vrm` in an empty folder: the default head at out/avatarlab_head.vrm."""
    folder = tmp_path_factory.mktemp("default")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert main(["avatar", "--vrm"]) == 0
    return folder / "out" / "avatarlab_head.vrm"


@pytest.fixture(scope="module")
def procedural_vrm(tmp_path_factory) -> Path:
    """`--procedural --out X.vrm` (VRM chosen by the suffix alone) with every meta option."""
    out = tmp_path_factory.mktemp("procedural") / "toon.vrm"
    assert main(["avatar", "--procedural", "--out", str(out), "--vrm-name", "Toon", "--vrm-author", "Jo Maker",
                 "--vrm-author", "Sam Rigger", "--vrm-license", "private"]) == 0
    return out


def test_avatar_vrm_writes_the_default_head_as_vrm_1_0(default_vrm) -> None:
    meta = _check_vrm(default_vrm)["meta"]
    assert meta["name"] == "avatarlab default head" and meta["authors"] == ["avatarlab avatar"]
    assert meta["avatarPermission"] == "onlyAuthor" and meta["allowRedistribution"] is False, \
        "the default head shows a real person's likeness (the astronaut portrait): the private terms"


def test_the_meta_options_land_in_the_vrm_meta(procedural_vrm) -> None:
    meta = _check_vrm(procedural_vrm)["meta"]
    assert meta["name"] == "Toon" and meta["authors"] == ["Jo Maker", "Sam Rigger"]
    assert (meta["avatarPermission"], meta["commercialUsage"], meta["modification"]) == \
        ("onlyAuthor", "personalNonProfit", "prohibited")
    assert meta["licenseUrl"] == "https://vrm.dev/licenses/1.0/"


def test_the_procedural_head_defaults_to_the_open_terms(tmp_path) -> None:
    out = tmp_path / "toon.vrm"
    assert main(["avatar", "--procedural", "--vrm", "--out", str(out)]) == 0
    meta = _check_vrm(out)["meta"]
    assert meta["name"] == "avatarlab procedural head" and meta["authors"] == ["avatarlab avatar --procedural"]
    assert (meta["avatarPermission"], meta["commercialUsage"], meta["creditNotation"], meta["allowRedistribution"],
            meta["modification"]) == ("everyone", "corporation", "unnecessary", True, "allowModificationRedistribution")
    assert not any(meta[flag] for flag in ("allowExcessivelyViolentUsage", "allowExcessivelySexualUsage",
                                           "allowPoliticalOrReligiousUsage", "allowAntisocialOrHateUsage"))


def test_a_photo_head_takes_the_meta_options(tmp_path) -> None:
    from avatarlab.render.images import png_bytes

    photo = tmp_path / "astronaut.png"
    photo.write_bytes(png_bytes(pytest.importorskip("skimage.data").astronaut()))
    out = tmp_path / "face.vrm"
    assert main(["avatar", "--photo", str(photo), "--vrm", "--out", str(out), "--vrm-author", "Jo Maker",
                 "--vrm-license", "open"]) == 0
    meta = _check_vrm(out)["meta"]
    assert meta["name"] == "astronaut" and meta["authors"] == ["Jo Maker"] and meta["avatarPermission"] == "everyone"
    assert meta["copyrightInformation"] == "made from the photo astronaut.png"


def test_without_vrm_the_default_head_is_still_a_plain_glb(tmp_path) -> None:
    out = tmp_path / "head.glb"
    assert main(["avatar", "--out", str(out)]) == 0
    assert "VRMC_vrm" not in json.dumps(_gltf(out).get("extensions", {}))


@pytest.mark.parametrize("argv, message", [
    (["--vrm", "--out", "{tmp}/head.glb"], "--vrm writes a VRM 1.0 file: --out {tmp}/head.glb must end in .vrm"),
    (["--out", "{tmp}/head.glb", "--vrm-name", "Jo"], "--vrm-name only applies to a VRM"),
    (["--vrm-author", "Jo", "--vrm-license", "open"], "--vrm-author, --vrm-license only apply to a VRM"),
    (["--vrm", "--out", "{tmp}/head.vrm", "--vrm-author", "  "], "--vrm-author must name someone"),
    (["--vrm", "--out", "{tmp}/head.vrm", "--vrm-name", ""], "--vrm-name must not be empty"),
    (["--procedural", "--photo", "{tmp}/x.png", "--vrm"], "--photo makes a head from the photo"),
])
def test_bad_vrm_options_are_usage_errors_and_write_nothing(tmp_path, capsys, monkeypatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["avatar", *[arg.format(tmp=tmp_path) for arg in argv]])
    err = capsys.readouterr().err
    assert code == 2 and f"avatarlab: error: {message.format(tmp=tmp_path)}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_an_unknown_license_preset_is_refused_by_the_library() -> None:
    from avatarlab.photo_avatar.vrm import VrmError, VrmMeta

    with pytest.raises(VrmError, match="unknown VRM license preset 'cc0'"):
        VrmMeta("x", license="cc0").json()
    with pytest.raises(VrmError, match="at least one author"):
        VrmMeta("x", authors=[" "]).json()


@needs_node
@pytest.mark.parametrize("which", ["default_vrm", "procedural_vrm"])
def test_each_heads_vrm_passes_the_khronos_validator(request, which) -> None:
    assert_valid(request.getfixturevalue(which))
