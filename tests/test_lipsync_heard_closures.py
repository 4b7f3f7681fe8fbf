"""Without a transcript, p/b/m the recognizer missed are put back where the live network hears closed lips."""

from __future__ import annotations

import numpy as np
import pytest

import avatarlab.lipsync.pipeline as pipeline
from avatarlab.engine import Engine, Utterance
from avatarlab.lipsync import lipsync
from avatarlab.lipsync.heard_closures import CLOSURE_SYMBOL, NEAR_S, add_missed_closures, heard_closures
from avatarlab.lipsync.speech import SpeechPhone
from avatarlab.timeline import SILENCE_SYMBOL, PhonemeTimeline, TimedPhoneme, TimedWord

RATE = 16000
LINES = ["Bob and Pam climbed the steep bumpy path to the top of the mountain.",
         "My mother made maple bread by the mill."]


@pytest.fixture(scope="module")
def spoken(engine: Engine) -> list[Utterance]:
    return [engine.speak(text, seed=5) for text in LINES]


def _closures(timeline: PhonemeTimeline) -> list[tuple[int, int]]:
    return [(p.start, p.end) for p in timeline.phonemes if p.symbol in ("p", "b", "m")]


def _timeline(*spec: tuple[str, float, float, int | None]) -> PhonemeTimeline:
    phonemes = [TimedPhoneme(s, round(a * RATE), round(b * RATE), w) for s, a, b, w in spec]
    return PhonemeTimeline(RATE, phonemes, [TimedWord(0, "word", phonemes[1].start, phonemes[-2].end)])


def test_a_heard_closure_replaces_what_it_covers_and_joins_the_word_it_overlaps_most() -> None:
    timeline = _timeline((SILENCE_SYMBOL, 0, 0.2, None), ("d", 0.2, 0.3, 0), ("ɑ", 0.3, 0.5, 0),
                         (SILENCE_SYMBOL, 0.5, 0.8, None))
    out = add_missed_closures(timeline, [(round(0.18 * RATE), round(0.26 * RATE))])
    PhonemeTimeline(RATE, out.phonemes, out.words).check()  # still tiles the audio
    assert [(p.symbol, p.start / RATE, p.end / RATE, p.word_index) for p in out.phonemes] == [
        (SILENCE_SYMBOL, 0, 0.18, None), (CLOSURE_SYMBOL, 0.18, 0.26, 0), ("d", 0.26, 0.3, 0),
        ("ɑ", 0.3, 0.5, 0), (SILENCE_SYMBOL, 0.5, 0.8, None)]
    inside = add_missed_closures(timeline, [(round(0.35 * RATE), round(0.40 * RATE))])
    assert [p.symbol for p in inside.phonemes] == [SILENCE_SYMBOL, "d", "ɑ", CLOSURE_SYMBOL, "ɑ", SILENCE_SYMBOL]
    in_pause = add_missed_closures(timeline, [(round(0.6 * RATE), round(0.65 * RATE))])
    assert [p.word_index for p in in_pause.phonemes if p.symbol == CLOSURE_SYMBOL] == [None]


def test_a_closure_the_recognizer_found_is_left_alone() -> None:
    timeline = _timeline((SILENCE_SYMBOL, 0, 0.2, None), ("b", 0.2, 0.26, 0), ("ɑ", 0.26, 0.5, 0),
                         (SILENCE_SYMBOL, 0.5, 0.8, None))
    near = round((0.26 + NEAR_S * 0.9) * RATE)
    assert add_missed_closures(timeline, [(near, near + 320)]).phonemes == timeline.phonemes
    far = round((0.26 + NEAR_S * 2) * RATE)
    assert len(add_missed_closures(timeline, [(far, far + 320)]).phonemes) == len(timeline.phonemes) + 2


def test_a_run_right_after_an_added_closure_is_not_added_again_and_spans_across_segments_splice() -> None:
    """Two heard runs 10 ms apart are one closure; a run over several segments replaces them whole."""
    timeline = _timeline((SILENCE_SYMBOL, 0, 0.2, None), ("d", 0.2, 0.25, 0), ("ɑ", 0.25, 0.3, 0),
                         ("t", 0.3, 0.5, 1), (SILENCE_SYMBOL, 0.5, 0.8, None))
    spans = [(round(0.22 * RATE), round(0.32 * RATE)), (round(0.33 * RATE), round(0.36 * RATE)),
             (round(0.6 * RATE), round(0.62 * RATE))]
    out = add_missed_closures(timeline, spans)
    assert [(p.symbol, p.start / RATE, p.end / RATE, p.word_index) for p in out.phonemes] == [
        (SILENCE_SYMBOL, 0, 0.2, None), ("d", 0.2, 0.22, 0), (CLOSURE_SYMBOL, 0.22, 0.32, 0), ("t", 0.32, 0.5, 1),
        (SILENCE_SYMBOL, 0.5, 0.6, None), (CLOSURE_SYMBOL, 0.6, 0.62, None), (SILENCE_SYMBOL, 0.62, 0.8, None)]


@pytest.mark.parametrize("rate", [None, 8000])
def test_the_network_hears_the_closures_of_speech_and_little_else(spoken: list[Utterance], rate: int | None) -> None:
    """Nearly every heard span lies at a true p/b/m (within 40 ms), and most true ones are heard, with spans in
    the caller's samples at the voice's rate and at 8 kHz. The engine's voice is one the network trained on, so
    this checks the wiring (rates, frame times), not generalization (docs/lipsync.md has that)."""
    from avatarlab.resample import resample

    heard_total = hit = true_total = found = 0
    for u in spoken:
        rate_in = rate or u.sample_rate
        truth = [(s * rate_in / u.sample_rate, e * rate_in / u.sample_rate) for s, e in _closures(u.timeline)]
        heard = heard_closures(resample(u.audio, u.sample_rate, rate_in), rate_in)
        slack = 0.04 * rate_in
        heard_total += len(heard)
        hit += sum(any(a < e + slack and b > s - slack for s, e in truth) for a, b in heard)
        true_total += len(truth)
        found += sum(any(a < e + slack and b > s - slack for a, b in heard) for s, e in truth)
    assert heard_total and hit / heard_total >= 0.8, (hit, heard_total)
    assert found / true_total >= 0.8, (found, true_total)


def test_recognition_that_loses_every_closure_gets_them_back(spoken: list[Utterance],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A recognizer that heard d for every p/b/m (a word it got wrong): the output still closes at the true
    closures, and with hear_closures=False it does not."""
    original = pipeline.recognize

    def deaf(audio16k):
        speech = original(audio16k)
        speech.phones = [SpeechPhone("D" if p.phone in ("P", "B", "M") else p.phone, p.start, p.end, p.word_index,
                                     p.stressed) for p in speech.phones]
        return speech

    monkeypatch.setattr(pipeline, "recognize", deaf)
    for u in spoken:
        truth = _closures(u.timeline)
        slack = int(0.03 * u.sample_rate)
        result = lipsync(u.audio, sample_rate=u.sample_rate)
        assert result.method == "recognized"
        shown = _closures(result.timeline)
        assert all(p.symbol == CLOSURE_SYMBOL for p in result.timeline.phonemes if p.symbol in ("p", "b"))
        closed = sum(any(a < e + slack and b > s - slack for a, b in shown) for s, e in truth)
        assert closed / len(truth) >= 0.8, (closed, len(truth), u.text)
        assert _closures(lipsync(u.audio, sample_rate=u.sample_rate, hear_closures=False).timeline) == []


def test_pieces_hear_what_one_call_hears(spoken: list[Utterance], monkeypatch: pytest.MonkeyPatch) -> None:
    """Long files are heard 30 s at a time; cutting a line into 0.37 s pieces changes no span."""
    import avatarlab.lipsync.heard_closures as heard

    u = spoken[0]
    whole = heard_closures(u.audio, u.sample_rate)
    monkeypatch.setattr(heard, "PIECE_S", 0.37)
    assert heard_closures(u.audio, u.sample_rate) == whole


def test_the_cli_switch_turns_heard_closures_off(spoken: list[Utterance], tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    """`avatarlab lipsync --no-heard-closures` (one file and a batch) and `render --audio` reach the pipeline;
    with --live, or for a take that is not --audio, the switch is refused with a message."""
    from avatarlab.cli import main
    from avatarlab.output import wav_bytes

    calls: list[int] = []
    real = pipeline.heard_closures
    monkeypatch.setattr(pipeline, "heard_closures", lambda *a, **k: calls.append(1) or real(*a, **k))
    take = tmp_path / "take.wav"
    take.write_bytes(wav_bytes(spoken[1].audio, spoken[1].sample_rate))
    assert main(["lipsync", str(take), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert len(calls) == 1
    assert main(["lipsync", str(take), "--out", str(tmp_path / "b"), "--quiet", "--no-heard-closures"]) == 0
    other = tmp_path / "other.wav"
    other.write_bytes(take.read_bytes())
    assert main(["lipsync", str(take), str(other), "--out", str(tmp_path / "c"), "--quiet", "--no-heard-closures"]) == 0
    assert len(calls) == 1
    assert main(["lipsync", str(take), "--live", "--no-heard-closures", "--out", str(tmp_path / "d")]) == 2
    assert "--no-heard-closures applies to recognition" in capsys.readouterr().err
    assert main(["render", "Hello there.", "--no-heard-closures", "--out", str(tmp_path / "e")]) == 2
    assert "apply to --audio takes" in capsys.readouterr().err
