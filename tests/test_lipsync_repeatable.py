"""Alignment and recognition give the same result whatever the process aligned before (issue 16, item 5)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from avatarlab.engine import Engine
from avatarlab.lipsync import align as align_module
from avatarlab.resample import resample
from avatarlab.lipsync.recognize import recognize
from avatarlab.lipsync.speech import SPHINX_RATE

LINES = ["Would you bring the map to the harbour before noon?",
         "The bridge to the northern village washed away in the storm last night."]


@pytest.fixture(scope="module")
def lines(engine: Engine) -> list[tuple[np.ndarray, str]]:
    out = []
    for text in LINES:
        utterance = engine.speak(text, seed=3)
        out.append((resample(utterance.audio, utterance.sample_rate, SPHINX_RATE), text))
    return out


def _others(audio: np.ndarray) -> list[np.ndarray]:
    """What a process may have decoded before: the same speech quieter, louder, with noise."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(audio)).astype(np.float32)
    return [np.clip(audio * gain + noise * level, -1, 1).astype(np.float32)
            for gain, level in ((0.3, 0.01), (2.5, 0.0), (0.05, 0.03), (1.0, 0.05))]


def _phones(timings) -> list[tuple[str, float, float]]:
    return [(p.phone, round(p.start, 4), round(p.end, 4)) for p in timings.phones]


@pytest.mark.parametrize("settings", [align_module.FAST_ALIGN, *align_module.RETRY_ALIGN],
                         ids=["fast", "defaults", "wide-beams"])
def test_aligning_a_then_b_then_a_gives_a_first_result(lines, settings: dict, monkeypatch) -> None:
    """Every decoder setting the aligner uses (the fast one and both retries) is reset before each line:
    pocketsphinx's scorer otherwise carries state over and moves word starts by a frame or two."""
    monkeypatch.setattr(align_module, "FAST_ALIGN", settings)
    for audio, text in lines:
        first, _ = align_module.align(audio, text)
        for other, other_text in [(a, t) for line, t in lines for a in _others(line)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the faint, noisy ones may fall back to recognition
                align_module.align(other, other_text)
            again, _ = align_module.align(audio, text)
            assert again.method == first.method == "aligned"
            assert _phones(again) == _phones(first)
            assert again.words == first.words


def test_recognizing_a_then_b_then_a_gives_a_first_result(lines) -> None:
    audio = lines[0][0]
    first = recognize(audio)
    for other in _others(lines[1][0]):
        recognize(other)
        again = recognize(audio)
        assert _phones(again) == _phones(first)
        assert again.words == first.words
