"""Accuracy on voices no model here was trained on: libespeak-ng formant voices with exact phone timings.

The audio-to-face network trained on the default Piper voice and other espeak-ng variants
(models/audio2face/make_dataset.py); HELD_OUT_VARIANTS never entered its training. Pocketsphinx's
models never heard either. Each path is scored against espeak-ng's own phoneme events.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

from avatarlab.animation import viseme_of
from avatarlab.lipsync import lipsync
from avatarlab.live.evaluation import accuracy, frame_labels
from avatarlab.live.offline import animate_recording

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "audio2face"))
from espeak_voice import EspeakUnavailableError, speak_fresh  # noqa: E402
from make_dataset import HELD_OUT_VARIANTS  # noqa: E402

SENTENCES = (
    "The old lighthouse keeper climbed the stairs every evening before sunset.",
    "Bring me four bottles of fresh milk and a loaf of brown bread, please.",
    "Which way leads to the village market, and how far is it from here?",
)
FPS = 100


@pytest.fixture(scope="module", params=HELD_OUT_VARIANTS)
def held_out(request):
    try:
        speeches = speak_fresh(request.param, list(SENTENCES), rate_wpm=165)
    except EspeakUnavailableError as error:
        pytest.fail(f"{error} (make test installs it)")
    return request.param, list(zip(SENTENCES, speeches))


def _truth(speech) -> np.ndarray:
    spans = [(viseme_of(p.symbol), p.start / speech.sample_rate, p.end / speech.sample_rate) for p in speech.phones]
    return frame_labels(spans, _times(len(speech.audio) / speech.sample_rate))


def _times(duration_s: float) -> np.ndarray:
    return (np.arange(int(duration_s * FPS)) + 0.5) / FPS


def _predicted(utterance) -> np.ndarray:
    rate = utterance.sample_rate
    spans = [(viseme_of(p.symbol), p.start / rate, p.end / rate) for p in utterance.timeline.phonemes]
    return frame_labels(spans, _times(utterance.duration_s))


def _score(held_out, run) -> tuple[float, float]:
    truth, predicted = [], []
    for text, speech in held_out[1]:
        result = run(text, speech)
        truth.append(_truth(speech))
        predicted.append(_predicted(result))
    n = [min(len(a), len(b)) for a, b in zip(truth, predicted)]
    return accuracy(np.concatenate([a[:k] for a, k in zip(truth, n)]), np.concatenate([b[:k] for b, k in zip(predicted, n)]))


def test_streaming_network_on_a_held_out_voice(held_out) -> None:
    visemes, shapes = _score(held_out, lambda text, s: animate_recording(s.audio, s.sample_rate))
    print(f"streaming network, espeak-ng {held_out[0]}: {visemes:.3f} of frames on the right viseme, "
          f"{shapes:.3f} on the right mouth shape")
    assert shapes >= 0.55 and visemes >= 0.45


def test_recognition_on_a_held_out_voice(held_out) -> None:
    visemes, shapes = _score(held_out, lambda text, s: lipsync(s.audio, sample_rate=s.sample_rate))
    print(f"pocketsphinx recognition, espeak-ng {held_out[0]}: {visemes:.3f} visemes, {shapes:.3f} mouth shapes")
    assert shapes >= 0.3


def test_alignment_with_a_transcript_on_a_held_out_voice(held_out) -> None:
    errors = []
    for text, speech in held_out[1]:
        result = lipsync(speech.audio, text, sample_rate=speech.sample_rate)
        assert result.method == "aligned"
        assert [w.text for w in result.timeline.words] == [w.text for w in speech.words]
        for got, truth in zip(result.timeline.words, speech.words):
            errors += [abs(got.start - truth.start) / speech.sample_rate, abs(got.end - truth.end) / speech.sample_rate]
    median = statistics.median(errors)
    print(f"alignment with transcript, espeak-ng {held_out[0]}: median word-boundary error {median * 1000:.1f} ms")
    assert median <= 0.040
