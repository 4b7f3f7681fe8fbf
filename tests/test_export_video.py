"""`avatarlab export --video`: an MP4 per line whose frames and audio match the line's WAV (read back with the
ffmpeg imageio-ffmpeg ships), a rerun that skips finished videos, new picture settings that redo the videos
alone, videos added to an earlier export without speaking again, Ctrl-C and kill leaving no partial MP4, and
bad video options refused up front (exit 2, nothing written)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from avatarlab.export.video import TAG_PREFIX, video_tag
from avatarlab.render.images import ffmpeg_exe
from render_scenes import no_face_avatar, save_artifact
from test_render import pytestmark  # noqa: F401 - the same skip when there is no EGL

SDK = str(Path(__file__).parents[1] / "sdk")
SIZE = ("--size", "128x128")


def export(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SDK}
    return subprocess.run([sys.executable, "-m", "avatarlab.cli", "export", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=600)


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SDK}
    return subprocess.Popen([sys.executable, "-m", "avatarlab.cli", "export", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _csv(folder: Path, rows: list[str]) -> Path:
    path = folder / "lines.csv"
    path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def frames_of(video: Path, width: int, height: int) -> np.ndarray:
    result = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(video), "-map", "0:v:0", "-f", "rawvideo",
                             "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    return np.frombuffer(result.stdout, np.uint8).reshape(-1, height, width, 3)


def audio_of(video: Path) -> np.ndarray:
    result = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(video), "-map", "0:a:0", "-f", "f32le", "-"],
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, np.float32)


def wav_samples(path: Path) -> tuple[int, int]:
    with wave.open(str(path)) as stream:
        return stream.getnframes(), stream.getframerate()


def _mtimes(folder: Path, suffix: str) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob(f"*{suffix}")}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _check_video(out: Path, name: str, fps: int, size: tuple[int, int]) -> None:
    """Frame i at i / fps: ceil(samples x fps / rate) frames, the WAV's samples exactly, durations within a frame."""
    samples, rate = wav_samples(out / f"{name}.wav")
    frames = frames_of(out / f"{name}.mp4", *size)
    assert len(frames) == -(-samples * fps // rate), f"{name}: {len(frames)} frames for {samples} samples"
    assert len(audio_of(out / f"{name}.mp4")) == samples, f"{name}: the MP4's audio is the line's WAV"
    assert 0 <= len(frames) / fps - samples / rate < 1 / fps
    assert json.loads((out / f"{name}.json").read_text())["num_frames"] == len(frames), "curves at the video rate"
    assert frames[len(frames) // 2].std() > 5, "a picture, not a blank frame"
    save_artifact(f"export_video_{name}_middle.png", frames[len(frames) // 2])


def test_two_rows_give_mp4s_that_match_their_audio_then_resume(tmp_path: Path) -> None:
    _csv(tmp_path, ["greet,Hello there.", "bye,See you soon."])
    out = tmp_path / "out"
    first = export("lines.csv", "--out", "out", "--video", "--fps", "30", *SIZE, "--jobs", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "2 exported, 0 already done (skipped), 0 failed" in first.stderr
    assert "2 videos rendered" in first.stderr and "rendering" in first.stderr, "a frames bar and the summary"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.{ext}" for name in ("bye", "greet")
                                                           for ext in ("glb", "json", "mp4", "wav"))
    for name in ("greet", "bye"):
        _check_video(out, name, 30, (128, 128))
        assert video_tag(out / f"{name}.mp4") is not None, "the MP4 records its job in its comment tag"
    videos, wavs = _mtimes(out, ".mp4"), _mtimes(out, ".wav")

    again = export("lines.csv", "--out", "out", "--video", "--fps", "30", *SIZE, cwd=tmp_path)
    assert again.returncode == 0 and "0 exported, 2 already done (skipped)" in again.stderr, again.stderr
    assert _mtimes(out, ".mp4") == videos, "finished videos are not redone"

    bigger = export("lines.csv", "--out", "out", "--video", "--fps", "30", "--size", "160x128", "--quiet",
                    cwd=tmp_path)
    assert bigger.returncode == 0, bigger.stderr
    assert _mtimes(out, ".wav") == wavs, "new picture settings redo the videos, not the speech"
    assert all(_mtimes(out, ".mp4")[name] != videos[name] for name in videos)
    assert frames_of(out / "greet.mp4", 160, 128).shape[1:] == (128, 160, 3)

    plain = export("lines.csv", "--out", "out", "--fps", "30", cwd=tmp_path)
    assert "0 exported, 2 already done (skipped)" in plain.stderr, "without --video the videos do not matter"


def test_video_added_to_an_earlier_export_without_speaking_again(tmp_path: Path) -> None:
    _csv(tmp_path, ["only,Over here!"])
    out = tmp_path / "out"
    assert export("lines.csv", "--out", "out", "--fps", "25", "--quiet", cwd=tmp_path).returncode == 0
    before = {**_mtimes(out, ".wav"), **_mtimes(out, ".glb"), **_mtimes(out, ".json")}
    added = export("lines.csv", "--out", "out", "--video", "--fps", "25", *SIZE, "--camera", "face",
                   "--background", "white", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "1 exported" in added.stderr and "1 video rendered" in added.stderr
    assert {**_mtimes(out, ".wav"), **_mtimes(out, ".glb"), **_mtimes(out, ".json")} == before
    _check_video(out, "only", 25, (128, 128))
    assert tuple(frames_of(out / "only.mp4", 128, 128)[0][1, 1]) >= (245, 245, 245), "the white background"


def _video_temporaries(out: Path) -> list[str]:
    return [name for name in _leftovers(out) if ".mp4." in name]


def _wait_for_a_video_in_progress(process: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + 300
    while not (out.is_dir() and _video_temporaries(out)):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no video was ever started"
        time.sleep(0.05)
    time.sleep(0.3)  # some frames into the pipe


def test_an_interrupted_video_leaves_no_partial_mp4_and_the_rerun_finishes_it(tmp_path: Path) -> None:
    long_line = "This line goes on for a good while so that its video takes some time to draw and encode."
    _csv(tmp_path, [f"long,{long_line}"])
    out = tmp_path / "out"
    args = ["lines.csv", "--out", "out", "--video", "--fps", "30", "--size", "640x640", "--jobs", "1"]
    process = _start(args, tmp_path)
    _wait_for_a_video_in_progress(process, out)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert not (out / "long.mp4").exists() and _leftovers(out) == [], "no partial MP4, no temporary file"

    killed = _start(args, tmp_path)  # kill -9 cleans nothing up: the next run does
    _wait_for_a_video_in_progress(killed, out)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=120)
    assert not (out / "long.mp4").exists() and _video_temporaries(out)
    wav = _mtimes(out, ".wav")

    finished = export(*args, "--size", "128x128", cwd=tmp_path)  # the later --size wins
    assert finished.returncode == 0, finished.stderr
    assert "1 exported" in finished.stderr and _leftovers(out) == []
    assert _mtimes(out, ".wav") == wav, "the speech was already on disk: only the video was drawn"
    _check_video(out, "long", 30, (128, 128))


@pytest.mark.parametrize("args, message", [
    (["--size", "10x10"], "16 to 3840"),
    (["--size", "101x100"], "must be even"),
    (["--size", "huge"], "WIDTHxHEIGHT"),
    (["--background", "nosuch.jpg"], "neither a colour"),
    (["--fps", "29"], "with --video, --fps is also the video's frame rate"),
    (["--fps", "100"], "one of 24, 25, 30, 50, 60"),
])
def test_bad_video_options_exit_2_before_any_line(tmp_path: Path, args: list[str], message: str) -> None:
    _csv(tmp_path, ["greet,Hello there."])
    result = export("lines.csv", "--out", "out", "--video", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "avatarlab: error: " in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir()), "nothing written"


def test_video_options_without_video_and_undrawable_avatars_exit_2(tmp_path: Path) -> None:
    _csv(tmp_path, ["greet,Hello there."])
    alone = export("lines.csv", "--out", "out", "--size", "128x128", "--camera", "face", cwd=tmp_path)
    assert alone.returncode == 2 and "--size, --camera only apply with --video" in alone.stderr, alone.stderr
    camera = export("lines.csv", "--out", "out", "--video", "--camera", "side", cwd=tmp_path)
    assert camera.returncode == 2 and "invalid choice" in camera.stderr
    (tmp_path / "blinker.glb").write_bytes(no_face_avatar())
    faceless = export("lines.csv", "--out", "out", "--video", "--avatar", "blinker.glb", cwd=tmp_path)
    assert faceless.returncode == 2, faceless.stderr
    assert "no face the retarget profiles can drive" in faceless.stderr and "Traceback" not in faceless.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_video_tag_reads_only_our_mp4s(tmp_path: Path) -> None:
    (tmp_path / "text.mp4").write_text("not an mp4 at all")
    assert video_tag(tmp_path / "text.mp4") is None and video_tag(tmp_path / "missing.mp4") is None
    plain = tmp_path / "plain.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=black:s=32x32:d=0.2", "-c:v", "libx264",
                    "-movflags", "+faststart", str(plain)], check=True)
    assert video_tag(plain) is None
    tagged = tmp_path / "tagged.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(plain), "-c", "copy", "-metadata",
                    f"comment={TAG_PREFIX}0123456789abcdef01234567", str(tagged)], check=True)  # no faststart
    assert video_tag(tagged) == "0123456789abcdef01234567"
