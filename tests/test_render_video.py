"""`avatarlab render` and render_video: frame count, durations and sample-exact audio read back from the files,
the i / fps timing rule on decoded frames, WebM alpha, every bad input (exit 2, nothing written), Ctrl-C, and
memory that does not grow with the video's length."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from avatarlab.cli import main
from avatarlab.output import write_utterance
from avatarlab.render import Background, Curves, RenderSettings, render_video
from avatarlab.render.images import ffmpeg_exe
from avatarlab.render.rig import ALL_CHANNELS, CHANNEL_INDEX
from render_scenes import save_artifact, synthetic_avatar
from test_render import pytestmark  # noqa: F401 - the same skip when there is no EGL

AVATARLAB = Path(sys.executable).with_name("avatarlab")
SMALL_HEAD = ""  # set by the autouse fixture below


# ---- reading videos back ----------------------------------------------------------------------------------------
def read_frames(path: Path, width: int, height: int, alpha: bool = False) -> np.ndarray:
    """Every video frame, decoded by ffmpeg (VP9 through libvpx so its alpha plane is kept)."""
    decoder = ["-c:v", "libvpx-vp9"] if alpha else []
    result = subprocess.run([ffmpeg_exe(), "-v", "error", *decoder, "-i", str(path), "-map", "0:v:0", "-f", "rawvideo",
                             "-pix_fmt", "rgba" if alpha else "rgb24", "-"], capture_output=True, check=True)
    channels = 4 if alpha else 3
    return np.frombuffer(result.stdout, np.uint8).reshape(-1, height, width, channels)


def read_audio(path: Path) -> np.ndarray:
    result = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"],
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, np.float32)


def stream_info(path: Path) -> str:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


def wav_samples(path: Path) -> int:
    with wave.open(str(path)) as stream:
        return stream.getnframes()


def write_wav(path: Path, seconds: float, rate: int = 22050) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(rate)
        stream.writeframes(pcm.tobytes())
    return path


@pytest.fixture(scope="module")
def line(engine, tmp_path_factory) -> Path:
    """A spoken line's WAV + curves JSON (60 fps curves), written as `speak` writes them."""
    folder = tmp_path_factory.mktemp("line")
    utterance = engine.speak("Bob may buy my map.")
    write_utterance(utterance, folder, "bob")
    return folder / "bob.json"


@pytest.fixture(scope="module")
def small_head(tmp_path_factory) -> str:
    """The synthetic test head as a file: quick to draw (the default head has its own tests)."""
    path = tmp_path_factory.mktemp("avatar") / "small_head.glb"
    path.write_bytes(synthetic_avatar("plain"))
    return str(path)


@pytest.fixture(autouse=True)
def _small_head_for_bad_inputs(small_head, monkeypatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SMALL_HEAD", small_head)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- good renders -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fps", [24, 30])
def test_mp4_has_one_frame_per_i_over_fps_and_the_exact_audio(line, tmp_path, fps, small_head) -> None:
    out = tmp_path / "video"
    avatar = ["--avatar", small_head] if fps == 24 else []  # the default head at 30 fps
    code = main(["render", "--curves", str(line), "--out", str(out), "--size", "96x64", "--fps", str(fps),
                 *avatar, "--quiet"])
    assert code == 0
    video = out / "bob.mp4"
    assert _leftovers(out) == ["bob.mp4"], "only the video: the curves and WAV already exist"
    samples = wav_samples(line.with_name("bob.wav"))
    document = json.loads(line.read_text())
    frames = read_frames(video, 96, 64)
    assert len(frames) == -(-samples * fps // document["sample_rate"]), "ceil(num_samples * fps / sample_rate)"
    audio = read_audio(video)
    assert len(audio) == samples, "AAC decodes to exactly the line's samples (edit list trims the priming)"
    video_s, audio_s = len(frames) / fps, samples / document["sample_rate"]
    assert 0 <= video_s - audio_s < 1 / fps, "durations agree within one frame"
    info = stream_info(video)
    assert "h264" in info and "yuv420p" in info and "bt709" in info and "aac" in info and f"{fps} fps" in info
    data = video.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "+faststart puts the index before the media data"
    save_artifact(f"video_bob_{fps}fps_middle.png", frames[len(frames) // 2])


def test_frame_i_shows_the_curves_at_i_over_fps(tmp_path) -> None:
    """60 fps curves with the mouth opening at 0.5 s, rendered at 25 fps: frame 12 (0.48 s) closed, 13 (0.52 s) open."""
    values = np.zeros((61, len(ALL_CHANNELS)), np.float32)
    values[30:, CHANNEL_INDEX["jawOpen"]] = 1.0
    rate = 22050
    curves = Curves(60, values, np.zeros(rate, np.float32), rate)
    path = tmp_path / "step.mp4"
    result = render_video(curves, path, RenderSettings(size=(64, 64), fps=25, camera="face"),
                          avatar=synthetic_avatar("plain"))
    assert result.frames == 25 and result.path == path
    frames = read_frames(path, 64, 64)
    mouth = np.array([(frame.max(axis=-1) < 120).sum() for frame in frames])
    opened = mouth > (mouth[0] + mouth[-1]) / 2
    assert not opened[:13].any() and opened[13:].all(), f"dark mouth pixels per frame: {mouth.tolist()}"


def test_decoded_frames_match_the_renderer_colour_for_colour(line, tmp_path) -> None:
    """RGB -> BT.709 YUV -> RGB as a player decodes it: the same picture, give or take chroma subsampling, and a
    saturated background keeps its colour (a BT.601/709 mix-up moves this green by 20 levels)."""
    from avatarlab.render import Avatar, Renderer, load_curves

    settings = RenderSettings(size=(128, 128), fps=30, camera="face", background=Background.parse("#00b140"))
    curves = load_curves(line)
    render_video(curves, tmp_path / "colour.mp4", settings)
    decoded = read_frames(tmp_path / "colour.mp4", 128, 128)[15].astype(int)
    with Renderer(Avatar.load(), settings) as renderer:
        drawn = renderer.render(curves.at(15 / 30), components=3).astype(int)
    save_artifact("video_decoded_vs_drawn.png", np.concatenate([decoded, drawn], axis=1).astype(np.uint8))
    assert np.abs(decoded - drawn).mean() < 3
    assert np.abs(decoded[2, 2] - (0x00, 0xB1, 0x40)).max() <= 4


def test_transparent_render_is_vp9_webm_with_alpha(line, tmp_path, small_head) -> None:
    out = tmp_path / "alpha"
    assert main(["render", "--curves", str(line), "--out", str(out), "--size", "64x64", "--transparent",
                 "--camera", "face", "--avatar", small_head, "--quiet"]) == 0
    video = out / "bob.webm"
    info = stream_info(video)
    assert "vp9" in info and "alpha_mode" in info and "vorbis" in info
    frames = read_frames(video, 64, 64, alpha=True)
    save_artifact("video_transparent_first.png", frames[0])
    assert frames[0][0, 0, 3] < 10 and frames[0][32, 32, 3] > 245
    samples = wav_samples(line.with_name("bob.wav"))
    assert abs(len(read_audio(video)) - samples) < 22050 / 30, "the audio lasts as long as the line"


def test_text_render_writes_video_wav_and_curves(tmp_path) -> None:
    out = tmp_path / "text"
    assert main(["render", "Halt! Who goes there?", "--out", str(out), "--size", "64x64", "--fps", "25",
                 "--camera", "face", "--quiet"]) == 0
    assert _leftovers(out) == ["halt-who-goes-there.json", "halt-who-goes-there.mp4", "halt-who-goes-there.wav"]
    document = json.loads((out / "halt-who-goes-there.json").read_text())
    assert document["fps"] == 25, "curves are made at the video's rate"
    frames = read_frames(out / "halt-who-goes-there.mp4", 64, 64)
    assert len(frames) == document["num_frames"]


@pytest.mark.parametrize("mode", [["--transcript", "Bob may buy my map."], ["--live"]])
def test_recorded_take_renders_through_lip_sync(line, tmp_path, mode, small_head) -> None:
    take = tmp_path / "take.wav"
    shutil.copy(line.with_name("bob.wav"), take)
    out = tmp_path / "take_out"
    assert main(["render", "--audio", str(take), *mode, "--out", str(out), "--size", "64x64", "--avatar", small_head,
                 "--quiet"]) == 0
    assert _leftovers(out) == ["take.json", "take.mp4", "take.wav"]
    assert len(read_audio(out / "take.mp4")) == wav_samples(take)


def test_background_image_and_api_progress_callback(line, tmp_path, small_head) -> None:
    from avatarlab.render.images import png_bytes

    picture = np.zeros((8, 8, 4), np.uint8)
    picture[...] = (250, 220, 0, 255)
    (tmp_path / "bg.png").write_bytes(png_bytes(picture))
    seen: list[tuple[int, int]] = []
    settings = RenderSettings(size=(48, 48), fps=30, background=Background.parse(str(tmp_path / "bg.png")))
    result = render_video(line, tmp_path / "bg.mp4", settings, avatar=small_head,
                          progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (result.frames, result.frames) and len(seen) == result.frames
    first = read_frames(tmp_path / "bg.mp4", 48, 48)[0]
    assert np.abs(first[1, 1].astype(int) - (250, 220, 0)).max() < 16, "the image is behind the avatar"
    assert "frames/s" in result.summary() and "real time" in result.summary()


def test_iter_frames_yields_rgba_frames_at_i_over_fps(line, small_head) -> None:
    from avatarlab.render import iter_frames

    frames = list(iter_frames(line, RenderSettings(size=(32, 32), fps=24), avatar=small_head))
    samples = wav_samples(line.with_name("bob.wav"))
    assert len(frames) == -(-samples * 24 // 22050)
    assert [f.index for f in frames[:3]] == [0, 1, 2] and frames[2].time == pytest.approx(2 / 24)
    assert frames[0].image.shape == (32, 32, 4)


# ---- bad input: exit 2, a clear message, nothing written --------------------------------------------------------
def _fails(args: list[str], out: Path, capsys, *expected: str) -> str:
    extra = [] if "--avatar" in args else ["--avatar", SMALL_HEAD]
    code = main(["render", *args, *extra, "--out", str(out), "--size", "32x32", "--quiet"]) \
        if "--out" not in args else main(["render", *args, *extra, "--quiet"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err
    for text in expected:
        assert text in captured.err, captured.err
    assert not [name for name in _leftovers(out) if name.endswith((".mp4", ".webm", ".part", ".audio"))]
    return captured.err


def _fails_in_argparse(args: list[str], capsys, expected: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["render", *args])
    assert caught.value.code == 2
    assert expected in capsys.readouterr().err


def test_avatar_that_is_not_gltf(line, tmp_path, capsys) -> None:
    not_gltf = tmp_path / "model.glb"
    not_gltf.write_text("hello")
    _fails(["--curves", str(line), "--avatar", str(not_gltf)], tmp_path / "o", capsys, "not a glTF 2.0 file")
    _fails(["--curves", str(line), "--avatar", str(tmp_path / "missing.vrm")], tmp_path / "o", capsys,
           "cannot read avatar")


def test_avatar_without_face_targets(line, tmp_path, capsys) -> None:
    from render_scenes import no_face_avatar

    path = tmp_path / "blinker.glb"
    path.write_bytes(no_face_avatar())
    err = _fails(["--curves", str(line), "--avatar", str(path)], tmp_path / "o", capsys,
                 "no face the retarget profiles can drive", "Blink_L", "jawOpen", "viseme_aa")
    assert "retarget_profiles.json" in err


@pytest.mark.parametrize("size, message", [("4000x4000", "16 to 3840"), ("10x10", "16 to 3840"),
                                           ("101x100", "must be even"), ("huge", "WIDTHxHEIGHT")])
def test_sizes_out_of_range(line, tmp_path, capsys, size, message) -> None:
    _fails(["--curves", str(line), "--size", size, "--out", str(tmp_path / "o")], tmp_path / "o", capsys, message)


@pytest.mark.parametrize("fps", ["29", "120", "0"])
def test_fps_out_of_range(line, capsys, fps) -> None:
    _fails_in_argparse(["--curves", str(line), "--fps", fps], capsys, "invalid choice")


def test_curves_that_do_not_match_the_audio(line, tmp_path, capsys) -> None:
    longer = write_wav(tmp_path / "long.wav", 4.0)
    _fails(["--curves", str(line), "--audio", str(longer)], tmp_path / "o", capsys, "was made for", "lasts 4.000 s")
    document = json.loads(line.read_text())
    for key in ("num_samples", "sample_rate"):
        document.pop(key)
    trimmed = tmp_path / "own.json"
    trimmed.write_text(json.dumps(document))
    _fails(["--curves", str(trimmed), "--audio", str(longer)], tmp_path / "o", capsys, "frames at 60 fps",
           "give the audio the curves were made from")
    _fails(["--curves", str(trimmed)], tmp_path / "o", capsys, "does not exist", "the audio for own.json")


def test_malformed_curves_json(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    for text, message in (("{", "is not JSON"), ("[]", "not a curves JSON"), ('{"fps": 30}', "has no curves"),
                          ('{"fps": 30, "visemes": {"names": ["aa"], "frames": [[0.1, 0.2]]}}', "needs 1 values")):
        bad.write_text(text)
        _fails(["--curves", str(bad), "--audio", str(write_wav(tmp_path / "a.wav", 0.5))], tmp_path / "o", capsys,
               message)


def test_unwritable_output_folder(line, tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    _fails(["--curves", str(line), "--out", str(blocker / "videos")], tmp_path, capsys,
           "cannot write to output folder")


def test_broken_pipe_to_ffmpeg(line, tmp_path, capsys, monkeypatch) -> None:
    """An ffmpeg that stops after reading a little: the error says so, and no video or temporary file remains."""
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\nhead -c 1000 >/dev/null\necho 'Conversion failed: disk on fire' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    out = tmp_path / "o"
    _fails(["--curves", str(line)], out, capsys, "ffmpeg stopped", "disk on fire")
    assert _leftovers(out) == []


def test_options_that_do_not_fit_the_source(line, tmp_path, capsys) -> None:
    take = write_wav(tmp_path / "take.wav", 0.5)
    _fails([], tmp_path / "o", capsys, "nothing to render")
    _fails(["--audio", str(take), "--voice", "x"], tmp_path / "o", capsys, "--voice only apply when speaking text")
    _fails(["--curves", str(line), "--emotion", "happy"], tmp_path / "o", capsys, "--emotion only apply")
    _fails(["Hello", "--curves", str(line)], tmp_path / "o", capsys, "not several")
    _fails(["Hello", "--live"], tmp_path / "o", capsys, "apply to --audio")
    _fails(["--curves", str(line), "--transparent", "--background", "#ffffff"], tmp_path / "o", capsys,
           "--transparent has no background")
    _fails(["--curves", str(line), "--background", "nosuch.jpg"], tmp_path / "o", capsys, "neither a colour")
    _fails(["--audio", str(take), "--out", str(tmp_path)], tmp_path, capsys, "would replace the take itself")


# ---- interruption and memory ------------------------------------------------------------------------------------
def test_ctrl_c_leaves_no_partial_file(tmp_path) -> None:
    rate, seconds = 22050, 60
    values = np.zeros((seconds * 30 + 1, len(ALL_CHANNELS)), np.float32)
    values[:, CHANNEL_INDEX["jawOpen"]] = (np.arange(len(values)) % 10) / 10
    names = {"visemes": [], "blendshapes": ["jawOpen"]}
    document = {"fps": 30, "sample_rate": rate, "num_samples": seconds * rate, "num_frames": len(values) - 1,
                "audio": "long.wav", "blendshapes": {"names": names["blendshapes"],
                                                     "frames": values[:-1, [CHANNEL_INDEX["jawOpen"]]].tolist()}}
    (tmp_path / "long.json").write_text(json.dumps(document))
    write_wav(tmp_path / "long.wav", seconds, rate)
    (tmp_path / "head.glb").write_bytes(synthetic_avatar("plain"))
    out = tmp_path / "out"
    process = subprocess.Popen([str(AVATARLAB), "render", "--curves", str(tmp_path / "long.json"), "--out", str(out),
                                "--avatar", str(tmp_path / "head.glb"), "--size", "256x256", "--quiet"],
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(name.endswith(".part") for name in _leftovers(out)):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the render never started writing"
        time.sleep(0.1)
    time.sleep(0.5)  # a few frames into the pipe
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _leftovers(out) == [], "no video and no temporary file"


def test_memory_does_not_grow_with_length(tmp_path) -> None:
    """Frames stream through the pipe: a 10 s render peaks within a few MB of a 2 s one (300 frames of 128x128 RGB
    would be 14 MB if they were kept)."""
    from avatarlab.render import Avatar, Renderer

    rate = 22050
    avatar = Avatar.load(synthetic_avatar("plain"))
    settings = RenderSettings(size=(128, 128), fps=30)
    peaks = []
    with Renderer(avatar, settings) as renderer:
        for seconds in (2, 10):
            values = np.zeros((seconds * 30 + 1, len(ALL_CHANNELS)), np.float32)
            values[:, CHANNEL_INDEX["jawOpen"]] = (np.arange(len(values)) % 7) / 7
            curves = Curves(30, values, np.zeros(seconds * rate, np.float32), rate)
            tracemalloc.start()
            render_video(curves, tmp_path / f"m{seconds}.mp4", settings, renderer=renderer)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    growth = peaks[1] - peaks[0]
    audio_and_curves = 8 * rate * 4 + 8 * 30 * len(ALL_CHANNELS) * 4
    assert growth < audio_and_curves + 3_000_000, f"peaks {peaks}"


def test_encoder_reuses_a_few_buffers_and_never_overwrites_a_queued_frame(tmp_path) -> None:
    """frame_buffer() hands out at most QUEUED_FRAMES + 2 buffers, each back only once ffmpeg has its frame: every
    decoded frame keeps the grey level it was drawn with, bottom-up frames come out the right way up."""
    from avatarlab.render.encoder import QUEUED_FRAMES, VideoEncoder

    rate, fps, count = 22050, 25, 25
    seen: set[int] = set()
    with VideoEncoder(tmp_path / "grey.mp4", (32, 32), fps, np.zeros(rate, np.float32), rate,
                      bottom_up=True) as encoder:
        for index in range(count):
            buffer = encoder.frame_buffer()
            seen.add(id(buffer))
            buffer[...] = 10 * index
            buffer[:4] = 255  # the first rows read back are the bottom of the picture
            encoder.write(buffer)
        encoder.finish()
    assert len(seen) <= QUEUED_FRAMES + 2
    frames = read_frames(tmp_path / "grey.mp4", 32, 32).astype(int)
    assert len(frames) == count
    for index, frame in enumerate(frames):
        assert abs(frame[8:20].mean() - 10 * index) < 3, f"frame {index} holds another frame's pixels"
        assert frame[-4:].mean() > 245 and frame[:4].mean() < 250, "bottom-up frames are turned the right way up"
