"""The demo page's "Render video" panel end to end in Debian's chromium (threejs_client/e2e/drive_render.mjs):
the real daemon and bridge (its jobs folder a temporary one), the astronaut's photo uploaded as a new avatar
through the page, a line rendered with it over the HTTP API (docs/jobs.md), the MP4 playing in the page
(currentTime advances, it has a picture, it seeks: the bridge honours Range) and downloading through the link (an
MP4's 'ftyp' box), Cancel, an upload the API refuses shown with its message; and a bridge with a token: the panel
asks for it, then renders, its video playing from a signed URL. Screenshot: out/test-artifacts/render-panel.png.
Nothing here is timed: the page is waited for.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daemon_process import running_daemon
from tools import browser_missing, egl_missing, needs
from web_processes import drive_demo, running_bridge

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "threejs_client/e2e/drive_render.mjs"
ARTIFACTS = ROOT / "out/test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LINE = "Welcome back, captain. The northern bridge is open again."
TOKEN = "correct-horse-battery-staple"
LONG_LINE = " ".join(["This line is long on purpose, so that the job is still running when Cancel is pressed."] * 6)

pytestmark = [needs(browser_missing())]


@pytest.fixture(scope="module")
def daemon():
    """The live path the page loads with (voices, the WebSocket): jobs themselves do not need it."""
    if egl_missing():  # jobs render offscreen through EGL, as `avatarlab render` does
        pytest.skip(egl_missing())
    with running_daemon() as process:
        yield process


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    from avatarlab.render.images import write_png

    astronaut = pytest.importorskip("skimage.data").astronaut()
    return write_png(tmp_path_factory.mktemp("photo") / "astronaut.png", astronaut)


@pytest.fixture(scope="module")
def panel_run(daemon, photo, tmp_path_factory) -> dict:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "render-panel.png"
    shot.unlink(missing_ok=True)
    jobs = tmp_path_factory.mktemp("jobs")
    with running_bridge(daemon.url, "--jobs-dir", str(jobs)) as port:
        data = drive_demo(DRIVER, port, CHROMIUM, "--photo", str(photo), "--text", LINE, "--screenshot", str(shot),
                          "--cancel-text", LONG_LINE, "--bad-upload", timeout=900)
    data["screenshot"] = shot
    return data


def test_the_photo_becomes_an_avatar_the_panel_selects(panel_run) -> None:
    loaded, upload = panel_run["loaded"], panel_run["upload"]
    assert loaded["state"] == "idle" and loaded["options"][0] == "default" and not loaded["tokenShown"]
    assert upload["state"] == "idle", upload["status"]
    new = upload["avatarId"]
    assert new != "default" and upload["selected"] == new and new in upload["options"]
    assert next(a for a in upload["avatars"] if a["id"] == new)["kind"] == "photo"


def test_render_video_makes_an_mp4_with_that_avatar_and_the_line(panel_run) -> None:
    job = panel_run["job"]
    assert job["state"] == "done" and job["job"]["state"] == "done" and job["error"] is None
    request = job["job"]["request"]
    assert request["text"] == LINE and request["avatar"] == panel_run["upload"]["avatarId"]
    assert request["outputs"] == ["mp4"] and request["size"] == "256x256"
    assert request["emotion"] == "neutral" and request["voice"]       # the live panel's choices
    (video,) = [f for f in job["job"]["files"] if f["name"] == "video.mp4"]
    assert job["videoUrl"] == job["downloadUrl"] == video["url"] and video["media_type"] == "video/mp4"
    assert job["progress"] == 1 and job["status"] == "done" and not job["statusIsError"]
    # what each poll saw, in order: the progress never goes back, and it ends done
    fractions = [h["fraction"] for h in job["history"] if h["fraction"] is not None]
    assert fractions == sorted(fractions) and job["history"][-1]["state"] == "done"
    order = ["queued", "running", "done"]
    assert [order.index(h["state"]) for h in job["history"]] == sorted(order.index(h["state"]) for h in job["history"])


def test_the_video_plays_and_seeks_in_the_page(panel_run) -> None:
    video = panel_run["video"]
    assert video["visible"] and video["error"] is None
    assert video["currentTime"] > 0.5 and (video["videoWidth"], video["videoHeight"]) == (256, 256)
    assert video["src"].endswith(panel_run["job"]["videoUrl"])
    seek = video["seek"]                                   # a byte range from the middle of the file
    assert seek["seekableEnd"] == pytest.approx(video["duration"], abs=0.1)
    assert seek["currentTime"] == pytest.approx(seek["target"], abs=0.1)


def test_the_download_link_saves_the_mp4(panel_run) -> None:
    download = panel_run["download"]
    assert download["visible"] and download["download"] and download["failure"] is None
    assert download["box"] == "ftyp"                        # an MP4 (ISO base media file) starts with its ftyp box
    (video,) = [f for f in panel_run["job"]["job"]["files"] if f["name"] == "video.mp4"]
    assert download["size"] == video["size"] > 10_000
    assert download["suggestedFilename"].endswith(".mp4")   # named after the line by the bridge


def test_cancel_stops_a_running_job(panel_run) -> None:
    cancel = panel_run["cancel"]
    assert cancel["state"] == "cancelled" and cancel["job"]["state"] == "cancelled", cancel["status"]
    assert cancel["status"] == "cancelled" and cancel["videoUrl"] is None


def test_a_refused_upload_shows_the_apis_message(panel_run) -> None:
    bad = panel_run["badUpload"]
    assert bad["state"] == "error" and bad["statusIsError"]
    assert bad["error"]["code"] == "unsupported_media_type"
    assert bad["error"]["message"] and bad["error"]["message"] in bad["status"]   # the API's words, on the page
    assert panel_run["expectedErrors"]                   # the browser logged the refused request, nothing else


def test_screenshot_of_the_panel_with_its_video(panel_run) -> None:
    shot = panel_run["screenshot"]
    assert shot.exists() and shot.stat().st_size > 20_000


def test_a_bridge_with_a_token_asks_for_it_and_signs_the_video(daemon, tmp_path) -> None:
    """Every /v1/ call needs the token (the panel sends it as a bearer token once typed in); the video and the
    download are plain URLs that carry their own signature."""
    token = tmp_path / "token"
    token.write_text(f"{TOKEN}\n")
    with running_bridge(daemon.url, "--jobs-dir", str(tmp_path / "jobs"), "--token-file", str(token)) as port:
        data = drive_demo(DRIVER, port, CHROMIUM, "--token", TOKEN, "--text",
                          "Good morning, captain. All systems are ready.", timeout=600)
    before, after = data["token"]["before"], data["token"]["after"]
    assert before["needsToken"] and before["tokenShown"] and before["statusIsError"]
    assert after["state"] == "idle" and not after["tokenShown"] and "default" in after["options"]
    assert all("status of 401" in line for line in data["expectedErrors"]) and data["expectedErrors"]
    assert data["job"]["state"] == "done"
    assert "signature=" in data["job"]["videoUrl"] and "expires=" in data["job"]["videoUrl"]
    assert data["video"]["currentTime"] > 0.5 and data["video"]["videoWidth"] == 256
    assert data["download"]["box"] == "ftyp"
