"""Any Piper-format voice works: a multi-speaker voice built here with Piper's own VITS code."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from avatarlab import InvalidOptionError
from avatarlab.engine import Engine

from tiny_voice import SPEAKERS, build_tiny_voice

LINE = "Hello there, traveler! Mind the bridge."


@pytest.fixture(scope="module")
def tiny_voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_tiny_voice(tmp_path_factory.mktemp("voices"))


@pytest.fixture(scope="module")
def tiny_engine(tiny_voice: Path) -> Engine:
    return Engine(voice=tiny_voice)


def test_multi_speaker_voice_loads_and_tiles_exactly(tiny_engine: Engine) -> None:
    assert tiny_engine.sample_rate == 16000 and tiny_engine.model.hop_length == 256
    assert tiny_engine.model.conditioning_names, "the speaker embedding must reach the decoder"
    utterance = tiny_engine.speak(LINE)
    utterance.timeline.check()
    assert utterance.timeline.num_samples == len(utterance.audio)
    assert [w.text for w in utterance.timeline.words] == ["Hello", "there", "traveler", "Mind", "the", "bridge"]


def test_speakers_by_id_and_name(tiny_engine: Engine) -> None:
    by_name = tiny_engine.speak(LINE, speaker="bob", seed=1)
    by_id = tiny_engine.speak(LINE, speaker=SPEAKERS["bob"], seed=1)
    other = tiny_engine.speak(LINE, speaker="carol", seed=1)
    assert np.array_equal(by_name.audio, by_id.audio)
    n = min(len(by_name.audio), len(other.audio))
    assert not np.allclose(by_name.audio[:n], other.audio[:n])
    with pytest.raises(InvalidOptionError, match="alice, bob, carol"):
        tiny_engine.synthesize(LINE, speaker="dave")
    with pytest.raises(InvalidOptionError, match="0 to 2"):
        tiny_engine.synthesize(LINE, speaker=5)


def test_chunked_matches_one_shot_on_another_voice(tiny_engine: Engine) -> None:
    streamed = tiny_engine.speak(LINE * 3, speaker="alice", seed=5)
    whole = tiny_engine.speak(LINE * 3, speaker="alice", seed=5, stream=False)
    assert np.abs(streamed.audio - whole.audio).max() < 1e-3 * max(1e-3, np.abs(whole.audio).max()) + 1e-5


def test_cli_speaks_with_a_voice_file_and_a_speaker(tiny_voice: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "sdk")}
    result = subprocess.run(
        [sys.executable, "-m", "avatarlab.cli", "speak", "Hello.", "--voice", str(tiny_voice), "--speaker", "carol",
         "--out", "out"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "hello.wav").exists()
