"""Live lip sync: streaming features, resampling and network equal their offline forms; the ONNX graph equals
its torch model; every frame is released within the stated delay, alone and over the daemon."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import msgpack
import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from avatarlab.channels import ARKIT_INDEX, OCULUS_VISEMES
from avatarlab.engine import Engine, frame_range
from avatarlab.live import LiveLipSync
from avatarlab.live import features as feat
from avatarlab.live.model import META_PATH, MODEL_PATH, VisemeModel, VisemeStream
from avatarlab.live.offline import animate_recording
from avatarlab.live.session import REPRESENTATIVE
from avatarlab.live.smoothing import ForwardFilter
from avatarlab.resample import StreamingResampler, resample
from avatarlab.animation import viseme_of

from daemon_process import running_daemon
from test_daemon import Wire

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "audio2face"))
from model import NetConfig, VisemeNet  # noqa: E402

JAW = ARKIT_INDEX["jawOpen"]
LINE = "Peter picked a peck of pickled peppers, then he walked home through the village."


@pytest.fixture(scope="module")
def spoken(engine: Engine):
    return engine.speak(LINE, seed=5)


def _random_pieces(n: int, rng: np.random.Generator, low: int = 1, high: int = 4000):
    start = 0
    while start < n:
        size = int(rng.integers(low, high))
        yield start, min(n, start + size)
        start += size


def test_streaming_log_mel_equals_offline() -> None:
    audio = np.random.default_rng(0).standard_normal(23456).astype(np.float32) * 0.1
    stream = feat.StreamingLogMel()
    rng = np.random.default_rng(1)
    parts = [stream.push(audio[s:e]) for s, e in _random_pieces(len(audio), rng, 1, 900)]
    np.testing.assert_allclose(np.concatenate(parts), feat.log_mel(audio), atol=1e-4)
    assert stream.frames_out == feat.frame_count(len(audio))


@pytest.mark.parametrize("rate", [8000, 11025, 12000, 16000, 22050, 44100, 48000])
def test_streaming_resampler_equals_offline(rate: int) -> None:
    rng = np.random.default_rng(rate)
    audio = rng.standard_normal(rate + 123)
    resampler = StreamingResampler(rate, feat.SAMPLE_RATE)
    parts = [resampler.push(audio[s:e]) for s, e in _random_pieces(len(audio), rng)]
    parts.append(resampler.push(np.zeros(0), final=True))
    np.testing.assert_array_equal(np.concatenate(parts), resample(audio, rate, feat.SAMPLE_RATE))


@pytest.mark.parametrize("rate", [8000, 11025])
def test_upsampled_audio_has_no_mirror_image_above_the_old_nyquist(rate: int) -> None:
    """Linear interpolation would repeat a 3 kHz tone of 8 kHz audio at 5 kHz, 6 dB down: speech sounds the
    live network would hear as hiss. The windowed sinc keeps the tone and nothing else."""
    seconds, tone = 1.0, 3000.0
    audio = 0.5 * np.sin(2 * np.pi * tone * np.arange(int(rate * seconds)) / rate)
    up = resample(audio, rate, feat.SAMPLE_RATE)
    assert len(up) == int(len(audio) * feat.SAMPLE_RATE / rate)
    middle = up[2000:-2000] * np.hanning(len(up) - 4000)
    spectrum = np.abs(np.fft.rfft(middle))
    hz = np.fft.rfftfreq(len(middle), 1 / feat.SAMPLE_RATE)
    peak = spectrum[np.abs(hz - tone) < 20].max()
    above = spectrum[hz > rate / 2 + 100].max()
    assert 20 * np.log10(above / peak) < -50
    expected = 0.5 * np.sin(2 * np.pi * tone * np.arange(len(up)) / feat.SAMPLE_RATE)
    assert np.max(np.abs(up - expected)[200:-200]) < 0.01


def test_network_output_does_not_depend_on_how_features_are_split(spoken) -> None:
    features = feat.log_mel(resample(spoken.audio, spoken.sample_rate, feat.SAMPLE_RATE))
    whole = VisemeStream()
    expected = np.concatenate([whole.push(features), whole.finish()])
    pieces = VisemeStream()
    rng = np.random.default_rng(2)
    got = [pieces.push(features[s:e]) for s, e in _random_pieces(len(features), rng, 1, 40)] + [pieces.finish()]
    got = np.concatenate(got)
    assert got.shape == expected.shape == (len(features), 15)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def _torch_twin() -> VisemeNet:
    """The committed ONNX graph's weights loaded into the torch model that was exported."""
    meta = json.loads(META_PATH.read_text())
    config = NetConfig(**{**meta["net"], "dilations": tuple(meta["net"]["dilations"])})
    graph = onnx.load(str(MODEL_PATH)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    net = VisemeNet(config)
    state = {name: torch.from_numpy(tensors[name].copy()) for name in net.state_dict() if name in tensors}
    normalization = [v for k, v in tensors.items() if k not in state and v.size == config.n_mels]
    assert len(normalization) == 2, "mean and std of the input features must be in the graph"
    mean, std = (torch.from_numpy(v.reshape(-1).copy()) for v in normalization)
    net.load_state_dict({**net.state_dict(), **state, "mean": mean, "std": std})
    assert set(state) == {k for k in net.state_dict() if k not in ("mean", "std")}
    return net.eval()


def test_onnx_graph_matches_its_torch_model(spoken) -> None:
    net = _torch_twin()
    features = feat.log_mel(resample(spoken.audio, spoken.sample_rate, feat.SAMPLE_RATE))
    with torch.no_grad():
        logits = net(torch.from_numpy(features.T[None].copy()), *net.initial_states())[0][0].T.numpy()
    session = VisemeModel.load().session
    feeds = {"features": features.T[None].copy()}
    feeds.update({i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
                  for i in session.get_inputs()[1:]})
    onnx_logits = session.run(None, feeds)[0][0].T
    np.testing.assert_allclose(onnx_logits, logits, atol=1e-4, rtol=1e-4)
    assert np.mean(onnx_logits.argmax(1) == logits.argmax(1)) == 1.0


def test_every_representative_phoneme_shows_its_viseme() -> None:
    for viseme, symbol in REPRESENTATIVE.items():
        assert viseme_of(symbol) == viseme


@pytest.mark.parametrize("rate", [16000, 22050, 48000])
def test_frames_are_released_within_the_stated_delay(spoken, rate: int) -> None:
    audio = resample(spoken.audio, spoken.sample_rate, rate)
    session = LiveLipSync(rate, fps=60)
    delay = session.max_delay_s
    assert 0.04 < delay < 0.08
    rng = np.random.default_rng(rate)
    next_frame, visemes = 0, []
    pieces = list(_random_pieces(len(audio), rng, 1, rate // 5))
    for k, (s, e) in enumerate(pieces):
        update = session.push(audio[s:e], last=k == len(pieces) - 1)
        assert update.frames.start_frame == next_frame
        next_frame += len(update.frames)
        visemes += update.visemes
        if k < len(pieces) - 1:
            # every frame whose moment is at least the stated delay behind the pushed audio is out
            due = [f for f in range(next_frame + 200) if f / 60 <= e / rate - delay]
            assert not due or max(due) < next_frame, (e / rate, next_frame / 60)
    assert next_frame == frame_range(0, len(audio), 60, rate)[1]
    assert visemes[0].start == 0 and visemes[-1].end == len(audio)
    assert all(a.end == b.start for a, b in zip(visemes, visemes[1:]))


def test_a_long_stream_keeps_bounded_state(spoken) -> None:
    session = LiveLipSync(spoken.sample_rate, fps=30)
    audio = np.concatenate([spoken.audio] * 8)  # about 40 s of speech with pauses
    piece, frames, most, decided = spoken.sample_rate // 10, 0, 0, 0
    for start in range(0, len(audio), piece):
        update = session.push(audio[start:start + piece], last=start + piece >= len(audio))
        frames += len(update.frames)
        decided += len(update.visemes)
        most = max(most, session.kept_segments)
    assert frames == frame_range(0, len(audio), 30, spoken.sample_rate)[1]
    # at most TIMELINE_WINDOW_S (8 s) of the 40 s of decisions are held, never the whole stream
    assert decided > 300 and most < decided / 3


def test_a_silent_stream_keeps_the_mouth_closed() -> None:
    session = LiveLipSync(16000, fps=30)
    update = session.push(np.zeros(16000, np.float32), last=True)
    assert len(update.frames) == 30
    assert {v.viseme for v in update.visemes} == {"sil"}
    assert float(update.frames.blendshapes[:, JAW].max()) < 0.05


def test_decision_biases_shift_the_decisions() -> None:
    log_probs = np.log(np.array([[0.5, 0.4, 0.1], [0.1, 0.45, 0.45]]))
    assert ForwardFilter(3, 0.0).push(log_probs).tolist() == [0, 1]
    biased = np.array([0.0, 0.5, 0.0])
    assert ForwardFilter(3, 0.0, biased).push(log_probs).tolist() == [1, 1]
    assert ForwardFilter(3, 0.7, biased).push(log_probs).tolist() == [1, 1]  # the forward filter sees them too
    with pytest.raises(ValueError, match="bias must be 3 finite numbers"):
        ForwardFilter(3, 0.0, np.array([0.0, np.nan, 0.0]))


def test_the_session_decides_with_the_models_decision_biases(spoken) -> None:
    model = VisemeModel.load()
    assert model.decision_bias.shape == (len(OCULUS_VISEMES),)
    favoured = dataclasses.replace(model, meta={**model.meta, "decision": {"log_bias": {"ou": 100.0}}})
    update = LiveLipSync(spoken.sample_rate, model=favoured).push(spoken.audio, last=True)
    assert {v.viseme for v in update.visemes} == {"ou"}
    with pytest.raises(ValueError, match="unknown visemes"):
        dataclasses.replace(model, meta={"decision": {"log_bias": {"xx": 1.0}}}).decision_bias


def test_training_augmentations_change_colour_and_bands_only(monkeypatch) -> None:
    import train

    rng = np.random.default_rng(3)
    features = rng.standard_normal((50, feat.N_MELS)).astype(np.float32)
    monkeypatch.setattr(train, "COLOUR_WARP", 0.0)
    gain = train.recolour(features, rng) - features  # without the stretch, a fixed gain per band
    np.testing.assert_allclose(gain, np.repeat(gain[:1], len(gain), axis=0), atol=1e-5)
    assert 0 < np.abs(gain).max() <= 2 * train.COLOUR_DB * np.log(10) / 10
    masked = train.mask_bands(features, rng)
    changed = np.flatnonzero((masked != features).any(axis=0))
    assert 0 < len(changed) <= train.MASKS * train.MASK_WIDTH[1]
    np.testing.assert_allclose(masked[:, changed], np.repeat(features.mean(axis=1, keepdims=True), len(changed), 1))


def test_narrowband_augmentation_looks_like_8_khz_audio_and_class_weights_parse() -> None:
    import train

    rng = np.random.default_rng(4)
    features = feat.log_mel(0.1 * rng.standard_normal(feat.SAMPLE_RATE).astype(np.float32))
    narrow = train.narrow_band(features, rng)
    centres = feat.mel_filterbank().argmax(axis=0) * feat.SAMPLE_RATE / feat.N_FFT
    high, low = centres > train.NARROW_HZ[1] + 400, centres < train.NARROW_HZ[0] - 600
    np.testing.assert_allclose(narrow[:, high], np.log(feat.LOG_FLOOR), atol=1e-3)
    np.testing.assert_allclose(narrow[:, low], features[:, low], atol=1e-4)
    real = feat.log_mel(resample(resample(0.1 * rng.standard_normal(feat.SAMPLE_RATE), feat.SAMPLE_RATE, 8000),
                                 8000, feat.SAMPLE_RATE))
    full = features[:, high].mean()
    assert narrow[:, high].mean() < full - 5 and real[:, high].mean() < full - 5  # both near the floor

    weights = train.class_weights("PP=3,oh=2")
    assert weights[OCULUS_VISEMES.index("PP")] == 3 and weights[OCULUS_VISEMES.index("oh")] == 2
    assert float(weights.sum()) == len(OCULUS_VISEMES) + 3
    assert train.class_weights("") is None
    with pytest.raises(SystemExit, match="not a viseme"):
        train.class_weights("P=2")


def test_live_rejects_bad_input() -> None:
    from avatarlab.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="sample_rate"):
        LiveLipSync(4000)
    with pytest.raises(InvalidOptionError, match="fps"):
        LiveLipSync(16000, fps=500)
    session = LiveLipSync(16000)
    with pytest.raises(InvalidOptionError, match="mono"):
        session.push(np.zeros((10, 2), np.float32))
    session.push(np.full(800, np.nan, np.float32))  # NaN is treated as silence, not a crash
    session.finish()
    with pytest.raises(InvalidOptionError, match="finished"):
        session.push(np.zeros(10, np.float32))


def test_a_recording_through_the_network_gives_the_same_form_as_speak(spoken) -> None:
    result = animate_recording(spoken.audio, spoken.sample_rate)
    result.timeline.check()
    assert result.timeline.num_samples == len(spoken.audio)
    assert len(result.frames) == len(spoken.frames)
    assert result.frames.blendshapes.shape[1] == spoken.frames.blendshapes.shape[1]
    assert float(result.frames.blendshapes[:, JAW].max()) > 0.2  # the jaw opens for speech


# ---- over the daemon -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def daemon():
    with running_daemon("--max-listen-s", "5") as process:
        yield process


def _push(wire: Wire, request_id: str, pcm: np.ndarray, last: bool = False) -> None:
    wire.socket.send_multipart([msgpack.packb({"v": 1, "type": "push", "id": request_id, "last": last}),
                                pcm.tobytes()])


def _replies(wire: Wire, request_id: str, until: tuple[str, ...] = ("frames",)) -> list[dict]:
    out = []
    while True:
        header, payloads = wire.recv()
        assert header.get("id") == request_id, header
        out.append((header, payloads))
        if header["type"] in until or header["type"] in ("end", "error"):
            return out


def test_listen_over_the_wire_releases_each_frame_within_the_stated_delay(daemon, spoken) -> None:
    wire = Wire(daemon.url)
    rate = spoken.sample_rate
    wire.send({"type": "listen", "id": "mic", "sample_rate": rate, "fps": 50, "channels": ["visemes", "events"],
               "curve_format": "f16"})
    start, _ = wire.recv()
    assert start["type"] == "start" and start["model"] == "audio2face" and start["num_channels"] == 15
    delay = start["max_delay_s"]
    pcm = (spoken.audio * 32767).astype("<i2")
    rng = np.random.default_rng(7)
    pieces = list(_random_pieces(len(pcm), rng, 50, 6000))
    received, events = 0, []
    for k, (s, e) in enumerate(pieces):
        last = k == len(pieces) - 1
        _push(wire, "mic", pcm[s:e], last)
        replies = _replies(wire, "mic", ("end",) if last else ("frames",))
        frames = [h for h, _ in replies if h["type"] == "frames"]
        assert len(frames) == 1 and frames[0]["samples_in"] == e  # one frames reply per push
        header, payloads = next((h, p) for h, p in replies if h["type"] == "frames")
        assert header["start_frame"] == received
        assert len(payloads[0]) == header["num_frames"] * 15 * 2
        received += header["num_frames"]
        events += [v for h, _ in replies if h["type"] == "events" for v in h["visemes"]]
        if not last:
            assert received / 50 > e / rate - delay - 1e-9
    end = replies[-1][0]
    assert end["type"] == "end" and end["status"] == "ok" and end["stats"]["pushes"] == len(pieces)
    assert received == frame_range(0, len(pcm), 50, rate)[1] == end["stats"]["frames"]
    assert events[0]["start"] == 0 and events[-1]["end"] == len(pcm)
    wire.close()


def test_bad_pushes_end_their_stream_with_a_clear_error(daemon) -> None:
    wire = Wire(daemon.url)
    wire.send({"type": "listen", "id": "a", "sample_rate": 16000})
    assert wire.recv()[0]["type"] == "start"
    _push(wire, "a", np.zeros(3, np.uint8))
    error = wire.recv()[0]
    assert (error["type"], error["code"], error["id"]) == ("error", "invalid_audio", "a")
    _push(wire, "a", np.zeros(10, "<i2"))
    assert wire.recv()[0]["code"] == "unknown_request"  # the stream is over
    wire.send({"type": "listen", "id": "b", "sample_rate": 16000, "audio_format": "f32le"})
    assert wire.recv()[0]["type"] == "start"
    _push(wire, "b", np.zeros(16001, "<f4"))
    assert wire.recv()[0]["code"] == "invalid_audio"  # over the 1 s per push
    wire.send({"type": "listen", "id": "c", "sample_rate": 16000})
    assert wire.recv()[0]["type"] == "start"
    codes = []
    for _ in range(7):  # 7 x 0.9 s is over --max-listen-s 5
        _push(wire, "c", np.zeros(14400, "<i2"))
        replies = _replies(wire, "c")
        codes.append(replies[-1][0].get("code"))
        if codes[-1] == "too_long":
            break
    assert codes[-1] == "too_long"
    wire.send({"type": "listen", "id": "d", "sample_rate": 4000})
    assert wire.recv()[0]["code"] == "invalid_option"
    wire.send({"type": "listen", "id": "e", "audio_format": "mp3"})
    assert wire.recv()[0]["code"] == "invalid_field"
    wire.send({"type": "push", "id": "e"})  # no payload
    assert wire.recv()[0]["code"] == "bad_message"
    wire.send({"type": "listen", "id": "f"})
    assert wire.recv()[0]["type"] == "start"
    wire.send({"type": "cancel", "id": "f"})
    end = wire.recv()[0]
    assert (end["type"], end["status"]) == ("end", "cancelled")
    assert wire.request({"type": "ping"})["type"] == "pong"  # the daemon is still serving
    wire.close()


def test_lipsync_cli_live_writes_the_same_outputs_as_speak(spoken, tmp_path: Path) -> None:
    import subprocess

    from avatarlab.output import wav_bytes

    source = tmp_path / "take.flac"
    wav = tmp_path / "take.src.wav"
    wav.write_bytes(wav_bytes(spoken.audio, spoken.sample_rate))
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), str(source)], check=True)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "avatarlab.cli", "lipsync", str(source), "--live", "--out", str(out),
                           "--format", "csv", "--fps", "30"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "(network)" in done.stderr  # the summary; stdout lists the files written
    curves = json.loads((out / "take.json").read_text())
    assert (out / "take.wav").exists() and (out / "take.csv").exists()
    assert curves["fps"] == 30 and curves["num_frames"] == frame_range(0, curves["num_samples"], 30, 22050)[1]
    assert curves["words"] == [] and all(p["word_index"] is None for p in curves["phonemes"])
    refused = subprocess.run([sys.executable, "-m", "avatarlab.cli", "lipsync", str(source), "--live",
                              "--transcript", "hello"], capture_output=True, text=True)
    assert refused.returncode != 0 and "not allowed with argument --live" in refused.stderr


def test_brows_follow_pitch_once_the_speakers_median_pitch_is_known(spoken, monkeypatch) -> None:
    import avatarlab.live.session as live_session

    audio = np.concatenate([spoken.audio] * 2)
    boundary = int(live_session.PITCH_REFERENCE_S * 50)  # the first frame after the measured opening
    with_pitch = LiveLipSync(spoken.sample_rate, fps=50).push(audio, last=True).frames.blendshapes
    monkeypatch.setattr(live_session, "PITCH_REFERENCE_S", 1e9)  # the median pitch is never known
    without = LiveLipSync(spoken.sample_rate, fps=50).push(audio, last=True).frames.blendshapes
    np.testing.assert_array_equal(with_pitch[:boundary], without[:boundary])
    gain = with_pitch[boundary:, ARKIT_INDEX["browOuterUpLeft"]] - without[boundary:, ARKIT_INDEX["browOuterUpLeft"]]
    assert gain.min() >= 0 and gain.max() > 0.05  # pitch peaks of the speaker raise the brows
