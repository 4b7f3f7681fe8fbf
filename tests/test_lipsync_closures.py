"""Aligned p/b/m show closed for the closure, not its neighbours, and every one still closes (issue 16, item 4)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from avatarlab.channels import VISEME_INDEX
from avatarlab.engine import Engine, Utterance
from avatarlab.lipsync import lipsync
from avatarlab.lipsync.pipeline import PAUSE_CLOSURE_S, _tighten_closures
from avatarlab.live.evaluation import Scores, coarse_scores, frame_labels, frame_times, timeline_labels
from avatarlab.timeline import SILENCE_SYMBOL, TimedPhoneme

from tools import needs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "audio2face"))
from festival_voice import RESERVED_SPEAKERS, VOICES, VoiceUnavailableError, speak_many, voice_missing  # noqa: E402

RATE = 16000
#: Training voices of real speakers (never kal or slt, which are reserved for evaluation) whose pauses before
#: and after p/b/m the aligner let the closures take.
PAUSE_VOICES = ("festival:ked", "flite:awb")
PAUSE_LINES = ["Peter Piper picked a peck of pickled peppers before breakfast.",
               "Bring me three loaves of bread and a jug of fresh water from the market.",
               "The bishop kept a small lamp by the open window of the temple.",
               "Bob and Pam climbed the steep bumpy path to the top of the mountain.",
               "Please bump the number up by a hundred and tap the big blue button."]

LINES = ["Peter Piper picked a peck of pickled peppers.",
         "My mother made maple bread by the mill.",
         "Bring me three loaves of bread and a jug of fresh water from the market.",
         "Would you bring the map to the harbour before noon?"]


def _closed_frames(result: Utterance, truth: Utterance) -> tuple[int, int, int, int]:
    """(frames shown closed, of them inside a true p/b/m, p/b/m closed within 20 ms, p/b/m)."""
    rate, fps = truth.sample_rate, result.frames.fps
    spans = [(p.start / rate, p.end / rate) for p in truth.timeline.phonemes if p.symbol in ("p", "b", "m")]
    t = (result.frames.start_frame + np.arange(len(result.frames.visemes))) / fps
    closed = result.frames.visemes.argmax(axis=1) == VISEME_INDEX["PP"]
    inside = np.zeros(len(t), dtype=bool)
    for start, end in spans:
        inside |= (t >= start) & (t < end)
    hits = sum(bool(closed[(t >= start - 0.02) & (t < end + 0.02)].any()) for start, end in spans)
    return int(closed.sum()), int((closed & inside).sum()), hits, len(spans)


def test_aligned_closures_are_held_for_the_closure_and_every_one_closes(engine: Engine) -> None:
    """Measured on these lines: 0.30 of the frames shown closed were truly closed before the closures were
    tightened, 0.39 after; 0.93 once the voice's labels lost their lag (timing.py) and PP shows only lip contact
    (coarticulation.CONTACT_POWER); 0.86 since closures give their neighbours 20 + 10 ms instead of 40 + 20 ms
    (which raised the 6-class accuracy on real speakers by 0.01-0.04, tests/test_heldout_speakers.py)."""
    totals = np.zeros(4, dtype=int)
    for text in LINES:
        truth = engine.speak(text, seed=3)
        result = lipsync(truth.audio, text, sample_rate=truth.sample_rate)
        assert result.method == "aligned"
        closed, inside, hits, count = _closed_frames(result, truth)
        assert hits == count, text  # every p/b/m closes
        totals += (closed, inside, hits, count)
    closed, inside, _, _ = totals
    assert inside / closed >= 0.85


def test_spoken_closures_show_closed_for_the_closure_and_every_one_closes(engine: Engine) -> None:
    """The TTS path's own curves against its own p/b/m segments, at 100 frames/s: 0.59 of the frames shown closed
    were truly closed while PP followed the whole closure envelope, 0.84 with PP on lip contact only."""
    totals = np.zeros(4, dtype=int)
    for text in LINES:
        spoken = engine.speak(text, seed=3, fps=100)
        closed, inside, hits, count = _closed_frames(spoken, spoken)
        assert hits == count, text
        totals += (closed, inside, hits, count)
    closed, inside, _, _ = totals
    assert inside / closed >= 0.78


def _segments(*spec: tuple[str, float, float, int | None]) -> list[TimedPhoneme]:
    return [TimedPhoneme(symbol, round(a * RATE), round(b * RATE), word) for symbol, a, b, word in spec]


def _closure(phonemes: list[TimedPhoneme], symbol: str) -> tuple[float, float]:
    [p] = [p for p in phonemes if p.symbol == symbol]
    return p.start / RATE, p.end / RATE


def test_a_long_closure_after_a_pause_gives_the_pause_back() -> None:
    """The aligner let a word-initial b take 0.3 s of the pause before it: it shows closed only next to its
    vowel, and the rest is pause."""
    out = _tighten_closures(_segments((SILENCE_SYMBOL, 0, 0.2, None), ("b", 0.2, 0.5, 0), ("ɹ", 0.5, 0.58, 0),
                                      ("ɪ", 0.58, 0.7, 0), (SILENCE_SYMBOL, 0.7, 1.0, None)), RATE)
    start, end = _closure(out, "b")
    assert 0.5 - PAUSE_CLOSURE_S <= start < end <= 0.5
    assert out[0].symbol == SILENCE_SYMBOL and out[0].end / RATE >= 0.5 - PAUSE_CLOSURE_S
    assert all(a.end == b.start for a, b in zip(out, out[1:])) and out[-1].end == RATE


def test_a_long_word_final_closure_before_the_next_word_gets_a_pause() -> None:
    """Festival's ked paused between "lamp" and "by"; the aligner gave the pause to the p (0.36 s)."""
    out = _tighten_closures(_segments((SILENCE_SYMBOL, 0, 0.1, None), ("æ", 0.1, 0.29, 0), ("m", 0.29, 0.37, 0),
                                      ("p", 0.37, 0.73, 0), ("b", 0.73, 0.8, 1), ("a", 0.8, 0.9, 1),
                                      (SILENCE_SYMBOL, 0.9, 1.0, None)), RATE)
    start, end = _closure(out, "p")
    assert 0.37 <= start < end <= 0.37 + PAUSE_CLOSURE_S
    pauses = [p for p in out if p.symbol == SILENCE_SYMBOL and 0.37 < p.start / RATE < 0.73]
    assert len(pauses) == 1 and pauses[0].start / RATE <= 0.37 + PAUSE_CLOSURE_S and pauses[0].end / RATE >= 0.7
    assert all(a.end == b.start for a, b in zip(out, out[1:]))


def test_a_long_closure_inside_a_word_is_only_tightened() -> None:
    """Pauses fall between words: a long p inside one is a long closure, not a pause."""
    out = _tighten_closures(_segments((SILENCE_SYMBOL, 0, 0.1, None), ("æ", 0.1, 0.2, 0), ("p", 0.2, 0.45, 0),
                                      ("ə", 0.45, 0.6, 0), (SILENCE_SYMBOL, 0.6, 1.0, None)), RATE)
    assert [p.symbol for p in out] == [SILENCE_SYMBOL, "æ", "p", "ə", SILENCE_SYMBOL]
    start, end = _closure(out, "p")
    assert end - start > PAUSE_CLOSURE_S


@needs(next(filter(None, map(voice_missing, PAUSE_VOICES)), None))
@pytest.mark.parametrize("voice", PAUSE_VOICES)
def test_closures_beside_pauses_do_not_take_the_pause(voice: str) -> None:
    """Real speakers pause before "Bring" and "before" and inside "lamp by": the closed frames (timeline, every
    10 ms) there were 0.81 (ked) and 0.84 (awb) truly closed while p/b/m could take the pauses, 0.93 and 0.93
    now, with every closure still shown; 6-class accuracy rose from 0.776 and 0.817 to 0.815 and 0.861 (closures
    also lost less to their neighbours: pipeline.CLOSURE_LEAD_S, CLOSURE_TRAIL_S)."""
    assert VOICES[voice].speaker not in RESERVED_SPEAKERS
    try:
        speeches = speak_many(voice, PAUSE_LINES)
    except VoiceUnavailableError as error:
        pytest.fail(f"{error} (make test installs it as root)")
    total = Scores()
    for text, speech in zip(PAUSE_LINES, speeches):
        duration = len(speech.audio) / speech.sample_rate
        result = lipsync(speech.audio, text, sample_rate=speech.sample_rate)
        assert result.method == "aligned"
        truth = frame_labels(speech.spans, frame_times(duration))
        total += coarse_scores(truth, timeline_labels(result.timeline.phonemes, result.sample_rate, duration))
    assert total.closures >= 20 and total.closure_share == 1.0
    assert total.closed_precision >= 0.89
    assert total.coarse_accuracy >= 0.80
