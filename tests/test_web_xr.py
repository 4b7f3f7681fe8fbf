"""WebXR end to end: the demo page in Debian's chromium with an emulated headset (npm `iwer`'s Quest 3,
injected by threejs_client/e2e/drive_xr.mjs before the page's scripts), once in immersive-vr and once in
immersive-ar (every test below runs for both sessions).

The "Enter VR" ("Enter AR") button shows (navigator.xr supports the mode), starts the session, XR frames render,
the avatar stands 1 m in front of the viewer with its head at about 1.6 m, and the flat page's checks of
mouth and sound (tests/test_web_e2e.py, the same functions) hold inside the session. The voice goes
through an HRTF PannerNode that follows the head bone (also when the avatar moves), the listener follows
the headset, a voice to the viewer's left is louder in the left ear, and the avatar turns toward the
viewer. In AR the background goes (the room shows through) and the avatar is still drawn. Exit puts
everything back. No assertion depends on the machine's speed.
"""

from __future__ import annotations

import math

import pytest

import test_web_e2e as flat
from daemon_process import running_daemon
from web_processes import drive_demo, running_bridge

pytestmark = flat.needs_browser


@pytest.fixture(scope="module", params=["vr", "ar"], ids=["immersive-vr", "immersive-ar"])
def xr_run(request: pytest.FixtureRequest) -> dict:
    """One emulated session of each mode, driven through the demo's own button for it."""
    kind = request.param
    flat.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = flat.ARTIFACTS / f"avatar-in-{kind}.png"
    shot.unlink(missing_ok=True)
    with running_daemon() as daemon, running_bridge(daemon.url) as port:
        data = drive_demo(flat.PKG / "e2e/drive_xr.mjs", port, flat.CHROMIUM, "--xr", kind, "--screenshot", str(shot))
    data["screenshot"] = shot
    data["kind"] = kind
    return data


def test_enter_vr_starts_an_immersive_session_and_xr_frames_render(xr_run):
    kind = xr_run["kind"]
    assert xr_run["buttonVisible"] and xr_run["buttons"] == {"vr": True, "ar": True}   # a Quest 3 offers both
    session = xr_run["session"]
    assert session["mode"] == f"immersive-{kind}" and session["button"] == f"Exit {kind.upper()}"
    assert xr_run["xrFramesDuringLine"] >= 10
    frames = xr_run["line"]["frames"]
    assert frames and all(f["xr"] for f in frames)        # every frame of the line rendered in the session
    assert xr_run["screenshot"].exists()


def test_avatar_stands_in_front_of_the_viewer_at_head_height(xr_run):
    x, y, z = xr_run["session"]["head"]                     # the head bone (the neck's top), world metres
    dx, _, dz = xr_run["session"]["device"]
    assert 1.4 < y < 1.7
    assert math.hypot(x - dx, z - dz) == pytest.approx(1.0, abs=0.1) and z < dz   # 1 m ahead (-Z)


def test_mouth_follows_the_audio_in_the_session_as_on_the_flat_page(xr_run):
    """The flat page's own assertions, on the line spoken inside the session."""
    data = {"line": xr_run["line"], "bilabials": xr_run["bilabials"]}
    flat.test_audio_buffers_scheduled_back_to_back((data, None))
    flat.test_sound_comes_out_and_mouth_moves_with_it((data, None))
    flat.test_lips_close_within_one_frame_of_each_bilabial((data, None))


def distance(a: list[float], b: list[float] | dict) -> float:
    if isinstance(b, dict):
        b = [b["x"], b["y"], b["z"]]
    return math.dist(a, b)


def test_the_voice_follows_the_head_and_the_listener_the_headset(xr_run):
    for part, avatar_x in (("line", 0.0), ("left", -0.8)):
        spatial = [f for f in xr_run[part]["spatial"] if f["xr"]]
        assert len(spatial) >= 5
        for f in spatial:
            assert f["panningModel"] == "HRTF"
            assert distance(f["panner"], f["head"]) < 0.15                    # at the mouth: a few cm from the head bone
            assert f["panner"][0] == pytest.approx(avatar_x, abs=0.12)        # and where the avatar stands now
            assert distance(f["listener"], f["device"]) < 0.05                # the ears where the headset is
    # the frames' own record of the voice agrees with the panner (rendered frames of the first line)
    mouths = [f for f in xr_run["line"]["frames"] if f.get("mouth")]
    assert mouths and all(abs(f["mouth"]["y"] - 1.58) < 0.1 for f in mouths)


def test_a_voice_on_the_left_is_louder_in_the_left_ear(xr_run):
    heard = [f for f in xr_run["left"]["spatial"] if f["xr"] and f["speaking"]]
    left, right = sum(f["left"] for f in heard), sum(f["right"] for f in heard)
    assert left > 0 and left > 1.2 * right, (left, right)
    assert xr_run["left"]["result"]["status"] == "ok"


def test_the_avatar_looks_at_the_viewer_while_speaking(xr_run):
    # the avatar 0.8 m to the viewer's left and the headset 0.3 m right: the viewer is at the avatar's left (+X)
    speaking = [f for f in xr_run["left"]["spatial"] if f["speaking"] and f["look"]]
    assert speaking
    late = speaking[len(speaking) // 2:]                                     # blended in by then
    assert all(f["look"]["weight"] > 0.9 and f["look"]["headYaw"] > 0.3 and f["look"]["eyeYaw"] > 0 for f in late)
    assert all(f["look"]["headYaw"] <= 0.6 + 1e-6 for f in speaking)         # within the natural limit


def test_the_room_shows_through_in_ar_only(xr_run):
    """AR: the background is cleared transparent ('alpha-blend'), the avatar still drawn; VR and the flat page opaque."""
    flat_page, session, after = xr_run["flatAlpha"], xr_run["sessionAlpha"], xr_run["afterAlpha"]
    assert flat_page["corner"] == 255 and flat_page["opaque"] == flat_page["pixels"]
    if xr_run["kind"] == "ar":
        assert xr_run["session"]["blendMode"] == "alpha-blend"
        assert session["corner"] == 0 and session["clear"] > session["pixels"] // 2     # mostly the room
        assert session["opaque"] > 0                                                   # and the avatar
    else:
        assert xr_run["session"]["blendMode"] == "opaque"
        assert session["corner"] == 255 and session["opaque"] == session["pixels"]
    assert after["corner"] == 255 and after["opaque"] == after["pixels"]                 # opaque again after exit


def test_exit_vr_restores_the_flat_page(xr_run):
    after = xr_run["after"]
    assert after["avatar"] == xr_run["flatAvatar"] and after["spatial"] is False
    assert after["button"] == f"Enter {xr_run['kind'].upper()}"
