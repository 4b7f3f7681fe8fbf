"""`avatarlab sync-check` on our own renders (in sync, and with the audio shifted by ffmpeg -itsoffset) and its
bad inputs. Videos are rendered once per module (256x256, 25 fps, about 3 s); plots go to
out/test-artifacts/sync_check/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest

from avatarlab.sync_check import SyncCheckError, sync_check
from avatarlab.sync_check.plot import write_plot

ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts" / "sync_check"
LINE = "Halt! Who goes there? Show yourself, traveler."
FPS = 25
FRAME_MS = 1000.0 / FPS
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _avatarlab(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "avatarlab", *args], capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-y", "-v", "error", *args], check=True, timeout=300)


@pytest.fixture(scope="module")
def render(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sync_check")
    _avatarlab("render", LINE, "--out", str(folder), "--name", "line", "--size", "256x256", "--fps", str(FPS),
               "--quiet")
    return folder / "line.mp4"


def _shifted(render: Path, seconds: float) -> Path:
    """The render with its audio moved by ``seconds`` (positive: later), streams copied as they are."""
    out = render.with_name(f"shift{int(round(seconds * 1000)):+d}.mp4")
    if not out.exists():
        _ffmpeg("-i", str(render), "-itsoffset", f"{seconds}", "-i", str(render), "-map", "0:v", "-map", "1:a",
                "-c", "copy", str(out))
    return out


def test_own_render_is_in_sync(render):
    result = sync_check(render)
    write_plot(result, ARTIFACTS / "in_sync.png")
    assert result.frames == result.face_frames
    assert abs(result.offset_ms) <= FRAME_MS, result.summary()
    assert result.confidence > 0.3


def test_own_render_against_its_curves_and_transcript(render):
    by_curves = sync_check(render, curves=render.with_suffix(".json"))
    by_transcript = sync_check(render, transcript=LINE)
    assert (by_curves.reference, by_transcript.reference) == ("curves", "transcript")
    assert abs(by_curves.offset_ms) <= FRAME_MS, by_curves.summary()
    assert abs(by_transcript.offset_ms) <= FRAME_MS, by_transcript.summary()


@pytest.mark.parametrize("shift_ms", [40, -40, 80, -80, 200, -200])
def test_recovers_audio_shift(render, shift_ms):
    video = _shifted(render, shift_ms / 1000)
    result = sync_check(video)
    write_plot(result, ARTIFACTS / f"shift{shift_ms:+d}.png")
    assert abs(result.offset_ms - shift_ms) <= FRAME_MS, result.summary()


@pytest.mark.parametrize("shift_ms", [80, -200])
def test_recovers_audio_shift_against_curves(render, shift_ms):
    result = sync_check(_shifted(render, shift_ms / 1000), curves=render.with_suffix(".json"))
    assert abs(result.offset_ms - shift_ms) <= FRAME_MS, result.summary()


def test_phone_video_with_rotation_metadata(render, tmp_path):
    """A 256x192 video stored with a 90-degree display rotation (as phones write it) decodes as 192x256."""
    wide, turned = tmp_path / "wide.mp4", tmp_path / "turned.mp4"
    _ffmpeg("-i", str(render), "-vf", "crop=256:192:0:32", "-c:a", "copy", str(wide))
    _ffmpeg("-display_rotation:v", "90", "-i", str(wide), "-c", "copy", str(turned))
    result = sync_check(turned)
    assert result.face_frames == result.frames
    assert abs(result.offset_ms) <= FRAME_MS, result.summary()


def test_cli_prints_offset_json_and_plot(render, tmp_path):
    plot = tmp_path / "sync.png"
    result = _avatarlab("sync-check", str(_shifted(render, 0.2)), "--plot", str(plot), "--json")
    import json

    report = json.loads(result.stdout)
    assert abs(report["offset_ms"] - 200) <= FRAME_MS
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "XNNPACK" not in result.stderr  # LiteRT's load-time log line is silenced


def _cli_error(*args: str) -> str:
    result = _avatarlab("sync-check", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert "avatarlab: error:" in result.stderr and "Traceback" not in result.stderr
    return result.stderr


def test_not_a_video(tmp_path, render):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    assert "not a video" in _cli_error(str(text))
    assert "not a video" in _cli_error(str(render.with_suffix(".wav")))
    assert "does not exist" in _cli_error(str(tmp_path / "missing.mp4"))


def test_no_audio_track(tmp_path, render):
    silent = tmp_path / "silent.mp4"
    _ffmpeg("-i", str(render), "-an", "-c", "copy", str(silent))
    assert "no audio track" in _cli_error(str(silent))


def test_no_face(tmp_path, render):
    blank = tmp_path / "blank.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=0x1e2028:s=256x256:r=25:d=3", "-i", str(render.with_suffix(".wav")),
            "-shortest", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac", str(blank))
    assert "no face" in _cli_error(str(blank))


def test_several_faces(tmp_path, render):
    pair = tmp_path / "pair.mp4"
    _ffmpeg("-i", str(render), "-filter_complex", "[0:v][0:v]hstack=inputs=2[v]", "-map", "[v]", "-map", "0:a",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "copy", str(pair))
    assert "several faces" in _cli_error(str(pair))


def test_too_short(tmp_path, render):
    short = tmp_path / "short.mp4"
    _ffmpeg("-i", str(render), "-t", "1", "-c:v", "libx264", "-c:a", "aac", str(short))
    assert "needs at least 2 s" in _cli_error(str(short))


def test_damaged_video_is_checked_or_refused_cleanly(tmp_path, render):
    """20 kB zeroed in the middle, and the file cut in half: a measurement or an error, never a hang or a
    traceback (ffmpeg's complaints must not stall the frame pipe)."""
    data = bytearray(render.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 20000] = bytes(20000)
    damaged, truncated = tmp_path / "damaged.mp4", tmp_path / "truncated.mp4"
    damaged.write_bytes(bytes(data))
    truncated.write_bytes(bytes(data[:len(data) // 2]))
    for video in (damaged, truncated):
        result = _avatarlab("sync-check", str(video), check=False)
        assert result.returncode in (0, 2) and "Traceback" not in result.stderr, result.stderr


def test_plot_must_be_png(render, tmp_path):
    assert "--plot" in _cli_error(str(render), "--plot", str(tmp_path / "plot.jpg"))


def test_sync_check_error_is_typed(tmp_path):
    with pytest.raises(SyncCheckError):
        sync_check(tmp_path / "missing.mp4")
