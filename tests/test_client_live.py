"""Live audio through the Python clients (listen / push, docs/protocol.md section 5a) against the real daemon.

Only protocol behaviour is checked: one reply per push, contiguous frames covering the audio, the
bounded delay, formats, errors, cancel. Nothing here depends on what the viseme network decides
(its model is being retrained), so curve values are compared only between runs fed identical bytes.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avatarlab.channels import OCULUS_VISEMES
from avatarlab.daemon.aio import AsyncClient
from avatarlab.daemon.client import Client, LiveStream
from avatarlab.daemon.messages import (
    DaemonProtocolError, End, Events, LiveFrames, LiveStart, RequestError, decode_message,
)
from avatarlab.daemon.protocol import GROUPS, pack
from avatarlab.daemon.session import LiveCollector, Session, encode_samples
from avatarlab.engine import Engine, to_pcm16
from avatarlab.errors import InvalidOptionError
from avatarlab.output import write_utterance
from daemon_process import running_daemon

RATE = 22050
FPS = 60
TEXT = "Hello there, how are you today?"
#: The module's daemon: small push and stream limits, so splitting and too_long are cheap to reach.
MAX_PUSH_S = 0.5
MAX_LISTEN_S = 6.0
MAX_PUSH = int(MAX_PUSH_S * RATE)


@pytest.fixture(scope="module")
def daemon():
    with running_daemon("--max-push-s", str(MAX_PUSH_S), "--max-listen-s", str(MAX_LISTEN_S)) as process:
        yield process


@pytest.fixture
def client(daemon):
    with Client(daemon.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def line(engine: Engine) -> np.ndarray:
    """An engine-spoken line: float32 mono at 22050 Hz."""
    utterance = engine.speak(TEXT, seed=2)
    assert utterance.sample_rate == RATE
    return utterance.audio


def random_cuts(n: int, seed: int, largest: int = 14000) -> list[tuple[int, int]]:
    """Pieces of 1 to ``largest`` samples (some longer than a push may carry) tiling [0, n)."""
    rng, cuts, first = np.random.default_rng(seed), [], 0
    while first < n:
        size = int(rng.integers(1, largest)) if rng.random() < 0.9 else int(rng.integers(1, 40))
        cuts.append((first, min(n, first + size)))
        first += size
    return cuts


def frames_due(samples_in: int, rate: int, fps: int, max_delay_s: float) -> int:
    """How many frames (0, 1, ...) have their moment at least max_delay_s before the end of the pushed audio."""
    horizon = samples_in / rate - max_delay_s + 1e-6  # max_delay_s travels rounded to the microsecond
    return 0 if horizon < 0 else math.floor(horizon * fps) + 1


class Checker:
    """Follows a live stream's replies and checks section 5a on each one."""

    def __init__(self, start: LiveStart, n: int) -> None:
        self.start, self.n = start, n
        self.take = LiveCollector(start)
        self.pushed: list[int] = []  # samples_in each push must report
        self.replies = 0
        self.end: End | None = None

    def pushes(self, sizes: list[int]) -> None:
        for size in sizes:
            self.pushed.append((self.pushed[-1] if self.pushed else 0) + size)

    def add(self, messages: list) -> None:
        start = self.start
        for message in messages:
            assert self.end is None, "nothing may follow the end"
            self.take.add(message)  # raises on a frame gap
            if isinstance(message, LiveFrames):
                assert message.samples_in == self.pushed[self.replies], "one reply per push, in order"
                self.replies += 1
                assert message.values.shape == (message.num_frames, start.num_channels)
                assert message.values.dtype == np.float32 and np.isfinite(message.values).all()
                assert message.sample_offset == -(-message.start_frame * start.sample_rate // start.fps)
                done = self.take.num_frames
                due = frames_due(message.samples_in, start.sample_rate, start.fps, start.max_delay_s)
                assert done >= due, (
                    f"after {message.samples_in} samples pushed only {done} frames arrived; {due} are due "
                    f"within max_delay_s {start.max_delay_s}")
                if message.samples_in < self.n:  # frames only for moments inside the pushed audio
                    assert (done - 1) * start.sample_rate < message.samples_in * start.fps or done == 0
            elif isinstance(message, Events):
                assert message.phonemes == [] and message.words == []
            elif isinstance(message, End):
                self.end = message

    def check_end(self) -> None:
        assert self.end is not None and self.end.status == "ok"
        assert self.replies == len(self.pushed) and self.pushed[-1] == self.n
        expected = math.ceil(self.n * self.start.fps / self.start.sample_rate)  # as engine.frame_range
        assert self.take.num_frames == expected
        stats = self.end.stats
        assert stats["audio_samples"] == self.n and stats["frames"] == expected
        assert stats["pushes"] == len(self.pushed) and stats["max_delay_s"] == self.start.max_delay_s
        visemes = self.take.visemes
        if visemes:  # segments tile the audio, numbered from 0, in input samples
            assert [v.phoneme for v in visemes] == list(range(len(visemes)))
            assert visemes[0].start == 0 and visemes[-1].end == self.n
            assert all(a.end == b.start for a, b in zip(visemes, visemes[1:]))
            assert {v.viseme for v in visemes} <= set(OCULUS_VISEMES)


def run_live(live: LiveStream, audio: np.ndarray, cuts: list[tuple[int, int]], seed: int = 0) -> Checker:
    """Push ``audio`` in ``cuts``, reading after random numbers of pieces; finish; check every reply."""
    checker = Checker(live.start, len(audio))
    rng = np.random.default_rng(seed)
    for k, (first, end) in enumerate(cuts):
        piece = audio[first:end]
        count = live.push(piece)
        assert count == math.ceil(len(piece) / live.max_push_samples)
        checker.pushes([min(live.max_push_samples, len(piece) - i) for i in range(0, len(piece), live.max_push_samples)])
        if rng.random() < 0.5 or k == len(cuts) - 1:
            checker.add(live.wait())
            assert live.pending == 0
    stats = live.finish()
    checker.pushes([0])  # the empty push marked last
    checker.add(live.poll())
    assert checker.end is not None and stats == checker.end.stats
    checker.check_end()
    return checker


# ---- the protocol, in random pieces ------------------------------------------------------------

@pytest.mark.parametrize("audio_format, curve_format, channels, as_int16", [
    ("pcm16le", "f32", None, False),
    ("f32le", "f16", ["visemes", "events"], True),
    ("pcm16le", "f16", ["head", "eyes"], True),
])
def test_random_pieces_one_reply_each_within_max_delay(client: Client, line: np.ndarray, audio_format: str,
                                                        curve_format: str, channels: list[str] | None,
                                                        as_int16: bool) -> None:
    audio = to_pcm16(line) if as_int16 else line
    with client.listen(sample_rate=RATE, fps=FPS, audio_format=audio_format, curve_format=curve_format,
                       channels=channels, seed=3) as live:
        start = live.start
        assert isinstance(start, LiveStart) and start.voice is None and start.model == "audio2face"
        assert (start.sample_rate, start.fps, start.audio_format, start.curve_format) == (
            RATE, FPS, audio_format, curve_format)
        groups = [g for g in GROUPS if channels is None or g in channels]
        assert [name for name, _ in start.groups] == groups
        assert start.num_channels == sum(len(GROUPS[g]) for g in groups)
        assert 0 < live.max_delay_s < 0.2 and live.max_delay_samples == math.ceil(live.max_delay_s * RATE)
        assert live.max_push_samples == MAX_PUSH  # from the daemon's welcome
        checker = run_live(live, audio, random_cuts(len(audio), seed=len(groups)), seed=1)
    if channels is None or "events" in channels:
        assert checker.take.visemes
    else:
        assert not checker.take.visemes
    for name in groups:
        assert checker.take.group(name).shape == (checker.take.num_frames, len(GROUPS[name]))


def test_input_types_and_curve_formats(client: Client, line: np.ndarray) -> None:
    """float32 and int16 input give the daemon the same bytes; f16 curves are f32 curves rounded."""
    cuts = random_cuts(len(line), seed=9, largest=3000)

    def take(samples: np.ndarray, **options) -> np.ndarray:
        with client.listen(sample_rate=RATE, fps=FPS, seed=1, **options) as live:
            return run_live(live, samples, cuts).take.values()

    from_float = take(line)
    np.testing.assert_array_equal(take(to_pcm16(line)), from_float)
    np.testing.assert_allclose(take(line, curve_format="f16"), from_float, rtol=0, atol=2e-3)
    from_f32le = take(line, audio_format="f32le")
    assert from_f32le.shape == from_float.shape
    np.testing.assert_array_equal(take(to_pcm16(line), audio_format="f32le"),
                                  take(to_pcm16(line).astype(np.float32) / 32768, audio_format="f32le"))


def test_sample_conversion() -> None:
    floats = np.array([-1.5, -1.0, 0.0, 0.5, 1.0, np.nan], np.float64)
    assert encode_samples(floats, "pcm16le").tolist() == [-32767, -32767, 0, 16384, 32767, 0]
    assert encode_samples(floats, "f32le").dtype == np.dtype("<f4")
    pcm = np.array([-32768, 0, 16384], np.int16)
    assert encode_samples(pcm, "pcm16le").tobytes() == pcm.astype("<i2").tobytes()
    assert encode_samples(pcm, "f32le").tolist() == [-1.0, 0.0, 0.5]
    with pytest.raises(InvalidOptionError, match="mono"):
        encode_samples(np.zeros((10, 2), np.float32), "pcm16le")
    with pytest.raises(InvalidOptionError, match="int16"):
        encode_samples(np.zeros(10, np.int32), "pcm16le")


def test_first_frame_within_max_delay(client: Client, line: np.ndarray) -> None:
    with client.listen(sample_rate=16000, fps=FPS, channels=["visemes"]) as live:
        for first in range(0, 16000, 320):  # 20 ms pieces (the line, played as if at 16 kHz)
            live.push(line[first:first + 320])
            for message in live.wait():
                if isinstance(message, LiveFrames) and message.samples_in >= live.max_delay_samples:
                    assert message.start_frame + message.num_frames > 0, "frame 0 is overdue"
                    return


# ---- the async client ----------------------------------------------------------------------------

def test_async_client(daemon, line: np.ndarray) -> None:
    cuts = random_cuts(len(line), seed=4, largest=6000)

    async def main() -> None:
        async with AsyncClient(daemon.url, timeout=60) as client:
            async with client.listen(sample_rate=RATE, fps=30, channels=["visemes", "events"]) as live:
                checker = Checker(live.start, len(line))
                assert live.max_push_samples == MAX_PUSH and live.max_delay_s > 0
                for first, end in cuts:
                    await live.push(line[first:end])
                    checker.pushes([min(MAX_PUSH, end - first - i) for i in range(0, end - first, MAX_PUSH)])
                    checker.add(await live.wait())
                stats = await live.finish()
                checker.pushes([0])
                checker.add([m async for m in live])
                checker.check_end()
                assert stats["frames"] == math.ceil(len(line) * 30 / RATE)
            other = await client.listen(sample_rate=RATE, request_id="second")  # awaitable as well
            await other.push(to_pcm16(line[:5000]))
            await asyncio.sleep(0.05)
            assert [type(m) for m in await other.poll(timeout=5)][0] is LiveFrames
            assert (await other.cancel()).status == "cancelled"
            with pytest.raises(RequestError) as error:
                await client.listen(sample_rate=100000)
            assert error.value.code == "invalid_option" and error.value.field == "sample_rate"

    asyncio.run(main())


# ---- cancel and errors ---------------------------------------------------------------------------

def test_cancel_and_leaving_the_block(client: Client, line: np.ndarray) -> None:
    live = client.listen(sample_rate=RATE)
    live.push(line[:20000])
    end = live.cancel()
    assert isinstance(end, End) and end.status == "cancelled"
    assert live.poll() == []
    with pytest.raises(RequestError) as error:
        live.push(line[:100])
    assert error.value.code == "unknown_request"
    with client.listen(sample_rate=RATE, request_id="left") as left:
        left.push(line[:8000])
    assert client.status()["active_requests"] == 0  # leaving the block cancelled it
    with client.listen(sample_rate=RATE, request_id="left") as again:  # the id is free again
        again.push(line[:4000], last=True)
        assert again.finish()["audio_samples"] == 4000


def test_errors(client: Client, line: np.ndarray) -> None:
    with pytest.raises(RequestError) as error:
        client.listen(sample_rate=4000)
    assert (error.value.code, error.value.field, error.value.retryable) == ("invalid_option", "sample_rate", False)
    with pytest.raises(RequestError) as error:
        client.listen(audio_format="mp3")
    assert (error.value.code, error.value.field) == ("invalid_field", "audio_format")
    with pytest.raises(RequestError) as error:
        client.listen(channels=["audio"])  # a listen stream sends no audio
    assert error.value.code == "invalid_field"

    live = client.listen(sample_rate=RATE)
    live.push(line[:3000])
    with pytest.raises(InvalidOptionError):
        live.push(np.zeros((100, 2), np.float32))
    live.finish()
    with pytest.raises(RequestError) as error:
        live.push(line[:100])  # after finish: the push marked last has gone
    assert error.value.code == "invalid_audio"


def test_stream_ended_by_the_daemon(client: Client) -> None:
    """too_long ends the stream; pushes the daemon got after that (unknown_request there) raise here too."""
    live = client.listen(sample_rate=RATE, channels=["visemes"])
    seconds = MAX_LISTEN_S + 1.0
    assert live.push(np.zeros(int(seconds * RATE), np.float32)) == math.ceil(seconds / MAX_PUSH_S)
    received = []
    with pytest.raises(RequestError) as error:
        while True:
            received += live.wait()
    assert error.value.code == "too_long" and not error.value.retryable
    # Replies to earlier pushes that had not gone out yet are dropped with the stream (section 6).
    assert sum(isinstance(m, LiveFrames) for m in received) <= int(MAX_LISTEN_S / MAX_PUSH_S)
    with pytest.raises(RequestError) as error:
        live.push(np.zeros(100, np.float32))
    assert error.value.code == "unknown_request"
    with client.listen(sample_rate=RATE) as fresh:  # the client goes on working
        fresh.push(np.zeros(1000, np.float32), last=True)
        assert fresh.finish()["audio_samples"] == 1000


def _live_session() -> tuple[Session, object]:
    session = Session("tcp://test", 10.0, 1.0)
    state = session.open_live("L", {"sample_rate": RATE})
    session.feed(pack({"v": 1, "type": "start", "id": "L", "seq": 0, "voice": None, "model": "audio2face",
                       "sample_rate": RATE, "fps": FPS, "audio_format": "pcm16le", "curve_format": "f32",
                       "groups": [], "num_channels": 0, "max_delay_s": 0.06, "max_delay_samples": 1323}))
    assert isinstance(state.pop(), LiveStart)
    return session, state


def test_unknown_request_and_mismatched_replies_reach_the_stream() -> None:
    session, state = _live_session()
    session.push(state, b"\0\0" * 10, 10, last=False)
    session.feed(pack({"v": 1, "type": "error", "id": "L", "code": "unknown_request",
                       "message": "no running listen request 'L'", "retryable": False}))
    with pytest.raises(RequestError) as error:
        state.pop()
    assert error.value.code == "unknown_request"

    session, state = _live_session()
    session.push(state, b"\0\0" * 10, 10, last=False)
    reply = pack({"v": 1, "type": "frames", "id": "L", "seq": 1, "start_frame": 0, "num_frames": 0,
                  "num_channels": 0, "sample_offset": 0, "samples_in": 11}, b"")
    assert isinstance(decode_message(reply), LiveFrames)
    session.feed(reply)
    with pytest.raises(DaemonProtocolError, match="11 samples"):
        state.pop()


# ---- the command line ----------------------------------------------------------------------------

def test_cli_client_listen(daemon, engine: Engine, tmp_path: Path) -> None:
    utterance = engine.speak(TEXT, seed=2)
    write_utterance(utterance, tmp_path / "in", "take")
    short = engine.speak("Hi.", seed=1)
    write_utterance(short, tmp_path / "in", "hi")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "avatarlab.cli", "client", "listen", *args, "--url", daemon.url],
                              cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)

    result = run("in/take.wav", "--out", "out", "--format", "csv", "--sample-rate", str(RATE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"out/take.{ext}" for ext in ("wav", "json", "csv")]
    assert "max_delay_s" in result.stderr and "worst" in result.stderr
    # the measured delay is printed beside the bound, and the bound says what it covers (issue 11)
    bound = re.search(r"delay bound: max_delay_s ([\d.]+) ms \((\d+) samples at (\d+) Hz\)", result.stderr)
    assert bound and int(bound[3]) == RATE and "look-ahead" in result.stderr and "one 20 ms piece more" in result.stderr
    measured = float(re.search(r"measured: worst ([\d.]+) ms of audio", result.stderr)[1])
    assert 0 < measured <= float(bound[1]) + 20 + 0.1, "no frame comes later than the bound plus one piece"
    curves = json.loads((tmp_path / "out/take.json").read_text())
    n = len(utterance.audio)
    assert curves["format"] == "avatarlab.curves" and curves["sample_rate"] == RATE and curves["fps"] == 60
    assert curves["num_samples"] == n and curves["num_frames"] == math.ceil(n * 60 / RATE)
    assert len(curves["blendshapes"]["frames"]) == curves["num_frames"] and curves["phonemes"] == []
    events = curves["viseme_events"]
    assert events and events[0]["start"] == 0 and events[-1]["end"] == round(n / RATE, 6)
    csv_rows = (tmp_path / "out/take.csv").read_text().splitlines()
    assert len(csv_rows) == curves["num_frames"] + 1

    realtime = run("in/hi.wav", "--out", "rt", "--realtime", "--fps", "30", "--name", "hello")
    assert realtime.returncode == 0, realtime.stderr
    assert "wall clock" in realtime.stderr and (tmp_path / "rt/hello.json").exists()
    assert json.loads((tmp_path / "rt/hello.json").read_text())["sample_rate"] == 16000

    missing = run("in/nothing.wav", "--out", "out")
    assert missing.returncode == 2 and missing.stderr.startswith("avatarlab: error:")
    help_text = subprocess.run([sys.executable, "-m", "avatarlab.cli", "client", "listen", "--help"],
                               capture_output=True, text=True, env=env, timeout=60).stdout
    assert "examples:" in help_text and "--realtime" in help_text
