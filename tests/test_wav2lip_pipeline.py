"""The Wav2Lip pipeline around the model: the paper's mel spectrogram and its windows, face boxes (smoothing,
gaps), the paste-back mask, and end to end with a random-weight generator saved in the public checkpoint format
on short clips made from skimage's astronaut (a still photo and a generated video), through the API and the CLI.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from avatarlab.render.wav2lip import audio as mel_audio
from avatarlab.render.wav2lip import faces
from avatarlab.render.wav2lip.pipeline import frame_order, model_input, model_output

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


# ---- audio ------------------------------------------------------------------------------------------------------

def test_mel_frames_and_range():
    rng = np.random.default_rng(0)
    for length in (800, 16000, 16123, 32000):
        mel = mel_audio.melspectrogram(rng.normal(0, 0.1, length))
        assert mel.shape == (80, 1 + length // 200)
        assert mel.dtype == np.float32
        assert mel.min() >= -4.0 and mel.max() <= 4.0


def test_mel_of_silence_is_the_floor_and_a_tone_lands_in_its_band():
    assert np.all(mel_audio.melspectrogram(np.zeros(8000)) == -4.0)
    t = np.arange(16000) / 16000
    mel = mel_audio.melspectrogram(0.5 * np.sin(2 * np.pi * 1000 * t))
    centres = mel_audio._mel_to_hz(np.linspace(mel_audio._hz_to_mel(55), mel_audio._hz_to_mel(7600), 82))[1:-1]
    loudest = int(np.argmax(mel[:, 10:-10].mean(axis=1)))
    assert loudest == int(np.argmin(np.abs(centres - 1000)))
    # the dB scaling: a full-scale tone's band sits well above the floor, the normalisation maps -100..0 dB to -4..4
    assert mel[loudest, 10:-10].mean() > 0


def test_mel_basis_is_slaney_area_normalised():
    basis = mel_audio.mel_basis()
    assert basis.shape == (80, 401)
    freqs = np.linspace(0, 8000, 401)
    assert basis[:, freqs < 55].sum() == 0 and basis[:, freqs > 7600].sum() == 0
    # norm='slaney': each triangle's area (in Hz) is 1
    areas = basis.sum(axis=1) * (freqs[1] - freqs[0])
    assert np.allclose(areas[5:], 1.0, atol=0.05)


def test_mel_chunks_at_25_fps():
    mel = np.arange(80 * 50, dtype=np.float32).reshape(80, 50)
    chunks = mel_audio.mel_chunks(mel, 25, 13)
    assert chunks.shape == (13, 1, 80, 16)
    for index in range(13):
        start = int(index * 80 / 25)  # 3.2 mel frames per video frame
        width = min(16, 50 - start)
        assert np.array_equal(chunks[index, 0, :, :width], mel[:, start:start + width])
        assert np.all(chunks[index, 0, :, width:] == -4.0)  # past the end: silence
    assert [mel_audio.mel_start(i, 25) for i in range(6)] == [0, 3, 6, 9, 12, 16]
    assert [mel_audio.mel_start(i, 30) for i in range(4)] == [0, 2, 5, 8]


def test_video_frames_cover_the_audio():
    assert mel_audio.video_frames(16000, 16000, 25) == 25
    assert mel_audio.video_frames(16001, 16000, 25) == 26
    assert mel_audio.video_frames(1, 16000, 25) == 1


def test_resample_keeps_length_and_pitch():
    t = np.arange(44100) / 44100
    samples = mel_audio.resample(np.sin(2 * np.pi * 440 * t), 44100)
    assert abs(len(samples) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(samples[:16000]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1


def test_audio_limits():
    with pytest.raises(mel_audio.Wav2LipAudioError, match="at most 120 s"):
        mel_audio.load(np.zeros(16000 * 121, np.float32), 16000)
    with pytest.raises(mel_audio.Wav2LipAudioError, match="no samples"):
        mel_audio.load(np.zeros(0, np.float32), 16000)
    with pytest.raises(mel_audio.Wav2LipAudioError, match="sample rate"):
        mel_audio.load(np.zeros(100, np.float32))
    with pytest.raises(mel_audio.Wav2LipAudioError, match="NaN"):
        mel_audio.load(np.full(100, np.nan, np.float32), 16000)


# ---- faces ------------------------------------------------------------------------------------------------------

def test_missing_boxes_are_interpolated_and_counted():
    boxes = [None, (10, 10, 110, 110), None, None, (40, 10, 140, 110), None]
    filled, missing = faces.fill_missing(boxes)
    assert missing.tolist() == [True, False, True, True, False, True]
    assert np.allclose(filled[:, 0], [10, 10, 20, 30, 40, 40])
    with pytest.raises(faces.Wav2LipFaceError, match="no face found"):
        faces.fill_missing([None, None])


def test_smoothing_is_a_centred_mean():
    boxes = np.zeros((7, 4))
    boxes[3] = 50.0  # one jittery frame
    smoothed = faces.smooth(boxes, 5)
    assert np.allclose(smoothed[:, 0], [0, 50 / 4, 10, 10, 10, 50 / 4, 0])
    steady = np.tile([[10.0, 20.0, 110.0, 120.0]], (6, 1))
    assert np.allclose(faces.smooth(steady), steady)


def test_pads_follow_the_original_and_stay_inside():
    assert faces.DEFAULT_PADS == (0, 10, 0, 0)
    out = faces.padded(np.array([[5.2, 3.7, 100.4, 95.0]]), (0, 10, 0, 0), 120, 100)
    assert out.tolist() == [[5, 4, 100, 100]]  # bottom grown by 10, clipped at the frame


def test_track_refuses_small_faces_and_counts_gaps():
    frames = [np.zeros((300, 300, 3), np.uint8)] * 4
    small = iter([(10, 10, 80, 80)] * 4)
    with pytest.raises(faces.Wav2LipFaceError, match="at least 96 px"):
        faces.track(frames, detect=lambda _: next(small))
    found = iter([(50, 50, 200, 200), None, None, (60, 50, 210, 200)])
    result = faces.track(frames, detect=lambda _: next(found))
    assert result.interpolated == 2 and result.boxes.shape == (4, 4)


def test_paste_changes_only_the_lower_face():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (200, 240, 3), dtype=np.uint8)
    box = np.array([50, 40, 170, 180])
    face = rng.random((96, 96, 3), dtype=np.float32)
    out = faces.paste(frame, face, box)
    region = faces.pasted_region(frame.shape, box)
    assert np.array_equal(out[~region], frame[~region])
    assert not np.array_equal(out[region], frame[region])
    rows = np.flatnonzero(region.any(axis=1))
    columns = np.flatnonzero(region.any(axis=0))
    assert rows.min() >= 40 + 0.5 * 140 and rows.max() < 180  # lower half only, never the box's last row
    assert columns.min() > 50 and columns.max() < 169  # never the box's side edges
    mask = faces.lower_face_mask(120, 140)
    assert mask.max() == pytest.approx(1.0) and mask.min() == 0.0


def test_model_input_masks_the_lower_half_in_bgr():
    crops = np.zeros((2, 96, 96, 3), np.uint8)
    crops[..., 0] = 255  # red
    batch = model_input(crops)
    assert batch.shape == (2, 6, 96, 96) and batch.dtype == np.float32
    assert np.all(batch[:, 2, :48] == 1.0) and np.all(batch[:, 0:2] == 0.0)  # red is channel 2 of BGR
    assert np.all(batch[:, :3, 48:] == 0.0)  # masked lower half
    assert np.all(batch[:, 5] == 1.0)  # the reference keeps it
    back = model_output(batch[:, 3:])
    assert back.shape == (2, 96, 96, 3) and np.all(back[..., 0] == 1.0)


def test_frame_order_loops():
    assert frame_order(5, 10).tolist() == [0, 1, 2, 3, 4]
    assert frame_order(7, 3, "repeat").tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert frame_order(8, 3, "pingpong").tolist() == [0, 1, 2, 1, 0, 1, 2, 1]
    assert frame_order(3, 1).tolist() == [0, 0, 0]


# ---- end to end with a random-weight generator --------------------------------------------------------------------
# The random generator paints a flat grey patch over the mouth: these tests check the pipeline, not lip quality.

FPS = 25


def _png(path: Path, image: np.ndarray) -> Path:
    from avatarlab.render.images import write_png

    return write_png(path, image)


def _astronaut(dx: int = 0, dy: int = 0) -> np.ndarray:
    """skimage's astronaut cropped to her head and shoulders and scaled 1.5x: a face of about 140 px, one face
    only (the full picture's spacesuit passes for a second face once H.264 has been through it)."""
    from skimage import data

    image = data.astronaut()[20 + dy:240 + dy, 100 + dx:340 + dx].astype(np.float32)
    return np.clip(np.round(faces.resize(image, 360, 330)), 0, 255).astype(np.uint8)


def _wav(path: Path, seconds: float, rate: int = 22050) -> Path:
    """A syllable-like signal: a 220 Hz buzz switched on and off 2.5 times a second."""
    t = np.arange(int(round(seconds * rate))) / rate
    signal = 0.5 * (np.sin(2 * np.pi * 2.5 * t) > 0) * np.sin(2 * np.pi * 220 * t)
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(rate)
        stream.writeframes((signal * 32767).astype(np.int16).tobytes())
    return path


def _wav_samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as stream:
        pcm = np.frombuffer(stream.readframes(stream.getnframes()), np.int16)
        return pcm.astype(np.float32) / 32767, stream.getframerate()


def _decoded_audio(path: Path) -> np.ndarray:
    result = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"],
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, np.float32)


def _decoded_frames(path: Path, width: int, height: int) -> np.ndarray:
    result = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo",
                             "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    return np.frombuffer(result.stdout, np.uint8).reshape(-1, height, width, 3)


def _stream_info(path: Path) -> str:
    return subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """A random-weight checkpoint in the public format ('module.' keys under 'state_dict', optimizer and step
    beside), a still photo, a 20-frame face video (a slow pan) and takes of 2.2 s and 1.5 s at 22.05 kHz."""
    pytest.importorskip("torch")
    from wav2lip_weights import random_generator, save_public_checkpoint

    folder = tmp_path_factory.mktemp("wav2lip")
    checkpoint = save_public_checkpoint(folder / "random_wav2lip.pth", random_generator(seed=0).state_dict())
    video = folder / "face.mp4"
    frames = np.stack([_astronaut(dx=index // 2, dy=index // 4) for index in range(20)])
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "360x330",
                    "-framerate", str(FPS), "-i", "-", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
                    str(video)], input=frames.tobytes(), check=True)
    return {"checkpoint": checkpoint, "photo": _png(folder / "portrait.png", _astronaut()), "video": video,
            "take": _wav(folder / "take.wav", 2.2), "short": _wav(folder / "short.wav", 1.5),
            "blank": _png(folder / "blank.png", np.full((256, 256, 3), 128, np.uint8)),
            "small": _png(folder / "small.png", _small_face()), "faceless": _faceless_video(folder / "wall.mp4")}


def _faceless_video(path: Path) -> Path:
    """Ten frames of a grey wall with a slow gradient: a video without a face."""
    ramp = np.linspace(90, 160, 160, dtype=np.float32)[None, :, None]
    frames = np.stack([np.broadcast_to(ramp + index, (120, 160, 3)) for index in range(10)]).astype(np.uint8)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "160x120",
                    "-framerate", str(FPS), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   input=frames.tobytes(), check=True)
    return path


def _small_face() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # her face box is about 92 px: under the model's 96


@pytest.fixture(scope="module")
def renderer(clips):
    from avatarlab.render.wav2lip import Wav2LipRenderer

    return Wav2LipRenderer(clips["checkpoint"], device="cpu")


def test_cli_photo_and_take_writes_exact_video_and_prints_sync_check(clips, tmp_path, capsys):
    from avatarlab.cli import main

    out = tmp_path / "out"
    code = main(["render", "--audio", str(clips["take"]), "--wav2lip", str(clips["checkpoint"]), "--face",
                 str(clips["photo"]), "--out", str(out), "--fps", str(FPS), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    video = out / "take.mp4"
    assert sorted(path.name for path in out.iterdir()) == ["take.mp4"]
    samples, rate = _wav_samples(clips["take"])
    frames = _decoded_frames(video, 360, 330)
    assert len(frames) == -(-len(samples) * FPS // rate) == 55
    audio = _decoded_audio(video)
    assert len(audio) == len(samples), "the take's samples, every one (the edit list trims AAC's priming)"
    assert np.corrcoef(audio, samples)[0, 1] > 0.99
    info = _stream_info(video)
    assert f"{FPS} fps" in info and "22050 Hz" in info and "h264" in info and "aac" in info
    assert str(video) in captured.out
    sync = [line for line in captured.out.splitlines() if line.startswith("sync-check: ")]
    assert sync and sync[0].split()[2] == "ms", captured.out
    print(sync[0])


def test_video_face_loops_and_leaves_everything_outside_the_mouth_untouched(renderer, clips, tmp_path):
    from avatarlab.sync_check.video import probe, read_frames

    plan = renderer.plan(clips["video"], clips["short"], loop="pingpong")
    samples, rate = _wav_samples(clips["short"])
    count = -(-len(samples) * FPS // rate)
    assert plan.fps == FPS and len(plan.frames) == 20 and len(plan.order) == count == 38
    assert plan.order.tolist() == frame_order(38, 20, "pingpong").tolist()
    assert plan.track.interpolated == 0
    source = list(read_frames(probe(clips["video"])))
    images = list(renderer.iter_frames(plan))
    assert len(images) == count
    # "identical" is checked on the frames handed to the H.264 encoder (4:2:0 chroma cannot carry them exactly)
    for index, image in enumerate(images):
        original = source[plan.order[index]]
        region = faces.pasted_region(image.shape, plan.track.boxes[plan.order[index]])
        assert np.array_equal(image[~region], original[~region]), f"frame {index}"
        assert 0.02 < region.mean() < 0.25
    result = renderer.render(clips["video"], clips["short"], tmp_path / "looped.mp4", loop="repeat")
    assert result.frames == count and result.fps == FPS and set(result.stages) == {"detection", "model", "paste",
                                                                                     "encoding"}
    assert len(_decoded_frames(result.path, 360, 330)) == count
    assert len(_decoded_audio(result.path)) == len(samples)


def test_pipeline_is_deterministic(renderer, clips, tmp_path):
    photo = _astronaut()
    audio = np.sin(np.arange(9600) / 16000 * 2 * np.pi * 300).astype(np.float32)
    first = list(renderer.iter_frames(renderer.plan(photo, audio, 16000)))
    second = list(renderer.iter_frames(renderer.plan(photo, audio, 16000)))
    assert len(first) == 15 and all(np.array_equal(a, b) for a, b in zip(first, second))
    paths = [renderer.render(photo, audio, tmp_path / f"{name}.mp4", sample_rate=16000).path for name in "ab"]
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_cli_text_with_no_sync_check(clips, tmp_path, capsys):
    from avatarlab.cli import main

    out = tmp_path / "out"
    code = main(["render", "Hello there.", "--wav2lip", str(clips["checkpoint"]), "--face", str(clips["video"]),
                 "--out", str(out), "--loop", "repeat", "--no-sync-check", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(path.name for path in out.iterdir()) == ["hello-there.mp4"]
    assert "sync-check" not in captured.out + captured.err
    assert "25 fps" in _stream_info(out / "hello-there.mp4")  # a face video keeps its own rate


def _bad(clips: dict[str, Path], tmp_path: Path, capsys, *extra: str, face: str = "photo", audio: str = "take",
         checkpoint: str | None = None) -> str:
    from avatarlab.cli import main

    out = tmp_path / "out"
    arguments = ["render", "--audio", str(clips[audio]), "--wav2lip", checkpoint or str(clips["checkpoint"]),
                 "--face", str(clips[face]), "--out", str(out), "--device", "cpu", *extra]
    code = main(arguments)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.startswith("avatarlab: error: ") and "Traceback" not in captured.err
    assert not out.exists() or not any(out.iterdir()), "nothing written"
    return captured.err


def test_bad_checkpoints(clips, tmp_path, capsys):
    assert "checkpoint" in _bad(clips, tmp_path, capsys, checkpoint=str(tmp_path / "missing.pth")).lower()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    assert "checkpoint" in _bad(clips, tmp_path, capsys, checkpoint=str(junk)).lower()


def test_no_face_and_small_face(clips, tmp_path, capsys):
    assert "no face found" in _bad(clips, tmp_path, capsys, face="blank")
    assert "no face found in any frame" in _bad(clips, tmp_path, capsys, face="faceless")
    assert "at least 96 px" in _bad(clips, tmp_path, capsys, face="small")


def test_audio_too_long(clips, tmp_path, capsys):
    clips = dict(clips, long=_wav(tmp_path / "long.wav", 121.0, 16000))
    assert "at most 120 s" in _bad(clips, tmp_path, capsys, audio="long")


def test_unwritable_output(clips, tmp_path, capsys):
    from avatarlab.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    code = main(["render", "--audio", str(clips["take"]), "--wav2lip", str(clips["checkpoint"]), "--face",
                 str(clips["photo"]), "--out", str(blocker / "out"), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.startswith("avatarlab: error: cannot write to output folder")


@pytest.mark.parametrize("extra, message", [
    (["--size", "256x256"], "--size apply to the 3D avatar render"),
    (["--transcript", "hi"], "--transcript and --live"),
    (["--device", "0"], "--device for --wav2lip"),
    (["--format", "csv"], "--format apply"),
])
def test_options_that_do_not_fit(clips, tmp_path, capsys, extra, message):
    assert message in _bad(clips, tmp_path, capsys, *extra)


def test_face_options_need_wav2lip_and_wav2lip_needs_a_face(clips, tmp_path, capsys):
    from avatarlab.cli import main

    assert main(["render", "--audio", str(clips["take"]), "--face", str(clips["photo"]), "--out",
                 str(tmp_path)]) == 2
    assert "add --wav2lip CHECKPOINT" in capsys.readouterr().err
    assert main(["render", "--audio", str(clips["take"]), "--wav2lip", str(clips["checkpoint"]), "--out",
                 str(tmp_path)]) == 2
    assert "--wav2lip needs --face" in capsys.readouterr().err
    assert main(["render", "--curves", "x.json", "--wav2lip", str(clips["checkpoint"]), "--face",
                 str(clips["photo"]), "--out", str(tmp_path)]) == 2
    assert "not --curves" in capsys.readouterr().err


def test_cuda_without_a_gpu_is_a_clear_error(clips, tmp_path, capsys):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine runs onnxruntime on CUDA")
    assert "onnxruntime-gpu" in _bad(clips, tmp_path, capsys, "--device", "cuda")
