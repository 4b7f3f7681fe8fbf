"""The Wav2Lip pipeline around the model: the paper's mel spectrogram and its windows, face boxes (smoothing,
gaps), the paste-back mask, and end to end with a random-weight generator saved in the public checkpoint format
on short clips made from skimage's astronaut (a still photo and a generated video), through the API and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
