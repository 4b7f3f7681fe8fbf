"""The Unity package's live-audio client (listen / push, docs/protocol.md section 5a) under Mono, against the real daemon.

The engine speaks a line here (avatarlab.Engine().speak), written as a mono PCM16 WAV that the C# test
runner (unity_plugin/Tests/Runner, tests in Tests/Protocol/LiveTests.cs) pushes to a daemon started here:
in random piece sizes, in 20 ms pieces through LiveAudioFeed, as f32le, and wrongly (errors). It checks
one `frames` reply per push, contiguous frames covering the audio, every frame released within the
stated `max_delay_s`, the end stats, and the errors. The audio-to-face model may be a placeholder, so
nothing here judges the visemes themselves.
"""

from __future__ import annotations

import re
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from daemon_process import running_daemon
from test_unity_plugin import _load_builder, run_runner, summary
from tools import command_missing, needs

ROOT = Path(__file__).resolve().parents[1]
pytestmark = needs(command_missing("mcs", "mono", package="mono-mcs, mono-runtime"))

LINE = "Hello there, how are you today?"
LIVE_TESTS = ("LineInRandomPiecesGetsOneReplyPerPush", "ReleaseDoesNotDependOnHowTheAudioIsCut",
              "FloatPushesAsF32leWithHalfFloatCurves", "FeedCutsTwentyMillisecondPieces", "ErrorsEndOrRefuseTheStream")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return _load_builder().build_protocol(tmp_path_factory.mktemp("unity-live-build"))


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "sdk"))
    from avatarlab import Engine

    utterance = Engine().speak(LINE, seed=2)
    pcm = np.clip(np.round(np.asarray(utterance.audio, dtype=np.float64) * 32767), -32768, 32767).astype("<i2")
    path = tmp_path_factory.mktemp("unity-live") / "line.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(utterance.sample_rate)
        out.writeframes(pcm.tobytes())
    assert len(pcm) > utterance.sample_rate // 2, "the engine spoke less than half a second"
    return path


def test_live_audio_against_the_real_daemon(build, spoken_wav):
    with running_daemon() as daemon:
        output = run_runner(build["runner"], "--url", daemon.url, "--live-wav", str(spoken_wav), "--filter", "LiveTests",
                            timeout=90)
    passed, failed, skipped = summary(output)
    assert failed == 0 and skipped == 0, output
    for name in LIVE_TESTS:
        assert re.search(rf"^PASS LiveTests\.{name} ", output, re.M), f"{name} did not pass:\n{output}"
    assert passed >= len(LIVE_TESTS) + 4, output


def test_live_tests_skip_without_a_line(build):
    """Without --live-wav the daemon-side live tests are skipped, and the offline ones still run."""
    output = run_runner(build["runner"], "--filter", "LiveTests", timeout=60)
    passed, failed, skipped = summary(output)
    assert failed == 0 and skipped == len(LIVE_TESTS), output
    assert passed >= 4, output
