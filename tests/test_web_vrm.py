"""A VRM speaking in a real browser: @pixiv/three-vrm loads our `avatarlab avatar --vrm` file (VRM 1.0) and a
VRM 0.x file this test converts from it; AvatarSpeaker drives each (through VrmDriver and three-vrm's expression
manager) while the real daemon speaks a line through the bridge. Every recorded frame's expression values must be
what the curves the speaker sampled at that frame say (the `vrm` retarget profile; blinks split into
blink/blinkLeft/blinkRight), both on the frames the page drew while the line played and on every frame of
the line driven after it; the line must open aa and oh and close the eyes. threejs_client/e2e/drive_vrm.mjs
drives the page; no assertion depends on the machine's speed.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from avatarlab.cli import main
from daemon_process import running_daemon
from tools import browser_missing, needs
from web_processes import drive_demo, running_bridge

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "threejs_client"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PROFILE = json.loads((ROOT / "sdk/avatarlab/data/retarget_profiles.json").read_text())
#: VRM 1.0 preset -> VRM 0.x blendShapeGroup presetName (three-vrm maps them back: VRMExpressionLoaderPlugin).
V0_PRESETS = {"aa": "a", "ih": "i", "ou": "u", "ee": "e", "oh": "o", "blink": "blink", "blinkLeft": "blink_l",
              "blinkRight": "blink_r", "happy": "joy", "angry": "angry", "sad": "sorrow", "relaxed": "fun",
              "surprised": "unknown", "lookUp": "lookup", "lookDown": "lookdown", "lookLeft": "lookleft",
              "lookRight": "lookright", "neutral": "neutral"}


def _three_vrm_missing() -> str | None:
    if browser_missing():
        return browser_missing()
    if not (PKG / "node_modules/@pixiv/three-vrm").is_dir():
        return "threejs_client/node_modules/@pixiv/three-vrm is missing (npm ci --prefix threejs_client)"
    return None


def _split(data: bytes) -> tuple[dict, bytes]:
    length = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + length]), data[20 + length:]


def _join(gltf: dict, rest: bytes) -> bytes:
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + rest
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def vrm0_from_vrm1(data: bytes) -> bytes:
    """The same model as VRM 0.x (the `VRM` extension, specVersion 0.0): humanBones as a list, expressions as
    blendShapeGroups with 0-100 weights, bone look-at in firstPerson, a 0.x meta."""
    gltf, rest = _split(data)
    vrm1 = gltf["extensions"].pop("VRMC_vrm")
    groups = []
    for name, expression in vrm1["expressions"]["preset"].items():
        groups.append({"name": name, "presetName": V0_PRESETS[name], "isBinary": False, "materialValues": [],
                       "binds": [{"mesh": gltf["nodes"][b["node"]]["mesh"], "index": b["index"],
                                  "weight": 100 * b["weight"]} for b in expression.get("morphTargetBinds", [])]})
    curve = {"curve": [0, 0, 0, 1, 1, 1, 1, 0], "xRange": 90, "yRange": 10}
    gltf["extensions"]["VRM"] = {
        "exporterVersion": "avatarlab test", "specVersion": "0.0",
        "meta": {"title": vrm1["meta"]["name"], "version": "1", "author": vrm1["meta"]["authors"][0],
                 "allowedUserName": "OnlyAuthor", "violentUssageName": "Disallow", "sexualUssageName": "Disallow",
                 "commercialUssageName": "Disallow", "licenseName": "Redistribution_Prohibited"},
        "humanoid": {"humanBones": [{"bone": role, "node": bone["node"], "useDefaultValues": True}
                                    for role, bone in vrm1["humanoid"]["humanBones"].items()]},
        "firstPerson": {"firstPersonBone": vrm1["humanoid"]["humanBones"]["head"]["node"],
                        "firstPersonBoneOffset": dict(zip("xyz", vrm1["lookAt"]["offsetFromHeadBone"])),
                        "meshAnnotations": [], "lookAtTypeName": "Bone", "lookAtHorizontalInner": curve,
                        "lookAtHorizontalOuter": curve, "lookAtVerticalDown": curve, "lookAtVerticalUp": curve},
        "blendShapeMaster": {"blendShapeGroups": groups},
    }
    gltf["extensionsUsed"] = ["VRM"]
    return _join(gltf, rest)


def expected_values(channels: list[float], names: list[str]) -> dict[str, float]:
    """What each expression should hold for these channel values (VrmDriver.expressionValues, from the data)."""
    value = dict(zip(names, channels))
    left, right = (min(1.0, max(0.0, value[f"eyeBlink{side}"])) for side in ("Left", "Right"))
    both = min(left, right)
    out = {"blink": both, "blinkLeft": left - both, "blinkRight": right - both}
    for name, terms in PROFILE["vrm"]["targets"].items():
        if name not in out:
            out[name] = min(1.0, max(0.0, sum(value[channel] * weight for channel, weight in terms)))
    return out


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("vrm")
    vrm1 = folder / "head.vrm"
    assert main(["avatar", "--vrm", "--out", str(vrm1)]) == 0
    vrm0 = folder / "head-0x.vrm"
    vrm0.write_bytes(vrm0_from_vrm1(vrm1.read_bytes()))
    with running_daemon() as daemon, running_bridge(daemon.url) as port:
        return drive_demo(PKG / "e2e/drive_vrm.mjs", port, CHROMIUM, "--vrm", str(vrm1), "--vrm", str(vrm0),
                          timeout=300)


@needs(_three_vrm_missing())
@pytest.mark.parametrize("index, meta_version", [(0, "1"), (1, "0")])
def test_speaking_drives_the_vrm_expressions_as_the_curves_say(spoken, index, meta_version) -> None:
    model = spoken["models"][index]
    assert model["metaVersion"] == meta_version and model["isVrmDriver"], {k: model[k] for k in ("metaVersion", "driver")}
    assert {"aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy"} <= set(model["expressions"])
    assert model["result"]["status"] == "ok", model["result"]
    assert model["frames"], "frames recorded while the line played"
    frames = model["frames"] + model["all"]
    assert len(model["all"]) > 60, "every frame of the line, driven after it"
    worst, where = 0.0, None
    for frame in frames:
        want = expected_values(frame["channels"], spoken["channels"])
        for name, got in frame["values"].items():
            if abs(got - want[name]) > worst:
                worst, where = abs(got - want[name]), (name, got, want[name], frame["t"])
    assert worst < 1e-4, f"an expression differs from its curves (name, value, curves say, t): {where}"
    peaks = {name: max(frame["values"][name] for frame in model["all"]) for name in ("aa", "oh", "blink")}
    assert peaks["aa"] > 0.3 and peaks["oh"] > 0.1, peaks
    assert peaks["blink"] > 0.5, f"the eyes close in the line: {peaks}"
