"""The photo avatar in the web demo: `avatarlab bridge --avatar FILE` (and `avatarlab demo --avatar`) serves any
avatar as /avatar/default_head.glb, the file the demo page loads; and the web client (three.js in Chromium:
GLTFLoader, FaceDriver through the retarget profile; tests/threejs_frames.py) draws the photo avatar made from the
public-domain astronaut portrait with its texture and opens its mouth, matching the offscreen renderer.

Both renderers draw the photo avatar's label GLB (avatarlab.photo_avatar.labels: flat unlit colours, the lips from
its face texture) with the same camera and poses: the lips' mask and the open mouth agree between them. The lit
pictures land in out/test-artifacts/mouth/photo/threejs/ next to our renderer's. And the demo page itself, its avatar
served by `bridge --avatar`, loads the photo head and opens its mouth (threejs_client/e2e/show_avatar.mjs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from avatarlab.demo import DemoConfig, bridge_command
from daemon_process import free_port
from web_processes import running_bridge

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "out/test-artifacts/mouth/photo/threejs"
DEFAULT_GLB = ROOT / "models/avatar/default_head.glb"
POSES = ("sil", "PP", "aa", "oh")
MIN_IOU = 0.9
SEAM_PX = 2


@pytest.fixture(scope="module")
def photo_glb(tmp_path_factory) -> Path:
    from avatarlab.photo_avatar import glb_from_image

    astronaut = pytest.importorskip("skimage.data").astronaut()
    path = tmp_path_factory.mktemp("photo") / "astronaut.glb"
    path.write_bytes(glb_from_image(astronaut)[0])
    return path


def _get(port: int, path: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as reply:
        return reply.read(), reply.headers["content-type"]


# ---- serving it ----------------------------------------------------------------------------------------------------
def test_bridge_serves_the_avatar_file_given(photo_glb) -> None:
    daemon = f"tcp://127.0.0.1:{free_port()}"  # nobody there: serving files needs no daemon
    with running_bridge(daemon, "--avatar", str(photo_glb), wait_for="down") as port:
        body, kind = _get(port, "/avatar/default_head.glb")
        assert body == photo_glb.read_bytes() and kind == "model/gltf-binary"
        assert b"importmap" in _get(port, "/demo/")[0]
    with running_bridge(daemon, wait_for="down") as port:  # without it: the default head, as before
        assert _get(port, "/avatar/default_head.glb")[0] == DEFAULT_GLB.read_bytes()


@pytest.mark.parametrize("command", ["bridge", "demo"])
def test_a_bad_avatar_file_is_a_usage_error(command: str, tmp_path) -> None:
    not_glb = tmp_path / "face.glb"
    not_glb.write_text("not a model")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "bridge")])}
    missing = tmp_path / "missing.glb"
    for path, message in ((missing, f"cannot read {missing}: No such file or directory"),
                          (not_glb, f"{not_glb} is not a binary glTF file (.glb or .vrm)")):
        proc = subprocess.run([sys.executable, "-m", "avatarlab", command, "--avatar", str(path)],
                              capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert f"avatarlab {command}: error: argument --avatar: {message}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""  # refused before anything started


def test_demo_passes_the_avatar_to_its_bridge(photo_glb) -> None:
    command = bridge_command(DemoConfig(avatar=photo_glb))
    assert command[command.index("--avatar") + 1] == str(photo_glb)
    assert "--avatar" not in bridge_command(DemoConfig())


def test_labels_refuse_a_glb_that_is_not_a_photo_avatar() -> None:
    from avatarlab.photo_avatar.labels import label_glb

    from avatarlab.avatar import procedural_avatar_glb

    with pytest.raises(ValueError, match="not a photo avatar GLB"):
        label_glb(procedural_avatar_glb())


# ---- the web client draws it -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn(photo_glb, tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    """Each pose drawn lit and as labels by three.js and by the offscreen renderer."""
    from tools import browser_missing, egl_missing

    for missing in (egl_missing(), browser_missing()):
        if missing:
            pytest.skip(missing)
    from avatarlab.photo_avatar.labels import label_glb
    from avatarlab.render import Avatar, Renderer, RenderSettings
    from avatarlab.render.images import read_image, write_png
    from test_mouth_pixels import SIZE, classes, photo_mouth_camera
    from test_render_parity import viseme_pose
    from threejs_frames import Pass, draw_with_threejs

    glb = photo_glb.read_bytes()
    labels_path = photo_glb.with_name("astronaut-labels.glb")
    labels_path.write_bytes(label_glb(glb))
    camera = photo_mouth_camera(glb)
    poses = np.stack([viseme_pose(v) for v in POSES])
    work = tmp_path_factory.mktemp("threejs")
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in ("threejs", "threejs_labels", "ours", "ours_labels")}
    for name, path, antialias in (("threejs", photo_glb, True), ("threejs_labels", labels_path, False)):
        (result,) = draw_with_threejs(work / name, path, SIZE, camera, poses,
                                      [Pass(name, antialias=antialias, save=work / name / "png")])
        out[name] = {pose: read_image(file)[..., :3] for pose, file in zip(POSES, result.files)}
    for name, path, antialias in (("ours", photo_glb, "msaa"), ("ours_labels", labels_path, "none")):
        avatar = Avatar.load(path)
        settings = RenderSettings(size=SIZE) if antialias == "msaa" else RenderSettings(size=SIZE, antialias="none")
        with Renderer(avatar, settings) as renderer:
            out[name] = {pose: renderer.render(p, camera)[..., :3] for pose, p in zip(POSES, poses)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for pose in POSES:
        write_png(ARTIFACTS / f"{pose}.png", np.concatenate([out[n][pose] for n in out], axis=1))
    out["classes"] = {f"{n}/{pose}": classes(out[n][pose]) for n in ("threejs_labels", "ours_labels")
                      for pose in POSES}
    return out


def _opening(labels: np.ndarray) -> np.ndarray:
    from test_mouth_pixels import measure

    return measure(labels)


def test_threejs_draws_the_textured_photo_head(drawn) -> None:
    """Not blank, and textured: the face shows the photo's many colours in three.js as in ours, of the same hue
    (the demo's lights are its own, dimmer than the offscreen renderer's: brightness differs, colour does not)."""
    for pose in POSES:
        theirs, ours = drawn["threejs"][pose].astype(float), drawn["ours"][pose].astype(float)
        background = np.abs(theirs - np.array([30, 32, 40])).max(axis=-1) <= 6
        assert background.mean() < 0.2, f"{pose}: three.js drew {background.mean():.0%} background"
        distinct = len(np.unique((theirs // 8).reshape(-1, 3), axis=0))
        assert distinct > 200, f"{pose}: only {distinct} colours: the photo texture did not show"
        hue_theirs, hue_ours = (image.mean(axis=(0, 1)) / image.mean(axis=(0, 1))[1] for image in (theirs, ours))
        assert np.abs(hue_theirs - hue_ours).max() < 0.05, (pose, hue_theirs, hue_ours)


def test_threejs_opens_the_photo_heads_mouth_like_ours(drawn) -> None:
    from test_mouth_pixels import NAMES

    lip = NAMES.index("lip")
    for pose in POSES:
        theirs, ours = drawn["classes"][f"threejs_labels/{pose}"], drawn["classes"][f"ours_labels/{pose}"]
        a, b = theirs == lip, ours == lip
        overlap = (a & b).sum() / max((a | b).sum(), 1)
        assert overlap >= MIN_IOU, f"{pose}: lip masks IoU {overlap:.3f}"
        m_theirs, m_ours = _opening(theirs), _opening(ours)
        if pose in ("sil", "PP"):
            # shut; at most a stray pixel on the seam where the lips meet (the engine's pose turns the head a
            # fraction of a degree, and the seam, the mouth bag's front edge, lies on the lips' meeting line)
            assert m_theirs.opening <= SEAM_PX and m_ours.opening <= SEAM_PX, (pose, m_theirs, m_ours)
        else:
            assert m_theirs.opening > 1000, (pose, m_theirs)
            assert abs(m_theirs.opening - m_ours.opening) <= 0.1 * m_ours.opening, (pose, m_theirs, m_ours)
            assert (m_theirs.teeth > 0) == (m_ours.teeth > 0), (pose, m_theirs, m_ours)  # the teeth show in both


# ---- the demo page itself ------------------------------------------------------------------------------------------
def test_the_demo_page_loads_and_drives_the_photo_head(photo_glb, tmp_path) -> None:
    """The page as a user opens it, its avatar served by `bridge --avatar`: the page's FaceDriver binds every
    target and the head and eye nodes through the profile our renderer picks, the face is textured, and holding
    jawOpen on that driver opens the mouth (the view darkens where the open mouth shows its lining)."""
    from tools import browser_missing

    if browser_missing():
        pytest.skip(browser_missing())
    from avatarlab.render.images import read_image, write_png
    from threejs_frames import CHROMIUM

    with running_bridge(f"tcp://127.0.0.1:{free_port()}", "--avatar", str(photo_glb), wait_for="down") as port:
        proc = subprocess.run(["node", str(ROOT / "threejs_client/e2e/show_avatar.mjs"), "--url",
                               f"http://127.0.0.1:{port}/demo/", "--out", str(tmp_path), "--pose", "rest=",
                               "--pose", "open=jawOpen:0.7", "--chromium", CHROMIUM], capture_output=True, text=True,
                              timeout=180)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in data, data["error"] + "\n" + "\n".join(data["console"])
    # no daemon runs: the page's /voices and /status requests get 503, and nothing else may go wrong
    errors = [line for line in data["console"] if line.startswith(("pageerror", "error"))
              and "status of 503" not in line]
    assert not errors, errors
    avatar = data["avatar"]
    from avatarlab.render import Avatar

    assert avatar["profile"] == Avatar.load(photo_glb).rig.profile.name, avatar  # the profile our renderer picks
    assert avatar["bindings"] >= 67 and avatar["missing"] == [], avatar
    assert set(avatar["rotationNodes"]) == {"head", "leftEye", "rightEye"}, avatar
    assert avatar["textured"], f"no textured mesh: {avatar}"
    rest, opened = (read_image(Path(data["shots"][name]))[..., :3].astype(int) for name in ("rest", "open"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    write_png(ARTIFACTS / "demo-page-rest-open.png", np.concatenate([rest, opened], axis=1).astype(np.uint8))
    changed = np.abs(rest - opened).max(axis=-1) > 40
    darker = (opened.max(axis=-1) < 50).sum() - (rest.max(axis=-1) < 50).sum()
    assert changed.sum() > 200 and darker > 100, (int(changed.sum()), int(darker))
