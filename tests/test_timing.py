"""Timings are exact by construction, and an independent aligner agrees with them."""

from __future__ import annotations

import re
import statistics

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatarlab.engine import Engine

WORDS = [
    "hello", "there", "traveler", "the", "bridge", "village", "storm", "mind", "your", "step", "quick", "brown",
    "fox", "jumps", "over", "lazy", "dog", "people", "of", "for", "by", "and", "to", "a", "it's", "don't", "42",
    "Dr.", "well-known", "über", "naïve", "3.5%", "e.g.", "I", "you", "we", "maybe", "absolutely", "rhythm",
]
PUNCTUATION = ["", "", "", ",", ".", "!", "?", ";", ":", " -", "..."]


@st.composite
def dialogue_lines(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=18))
    marks = draw(st.lists(st.sampled_from(PUNCTUATION), min_size=len(words), max_size=len(words)))
    return " ".join(w + m for w, m in zip(words, marks))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=dialogue_lines(), silence=st.sampled_from([0.0, 0.15]))
def test_timeline_tiles_the_audio_exactly(engine: Engine, text: str, silence: float) -> None:
    utterance = engine.speak(text, sentence_silence=silence)
    timeline = utterance.timeline
    timeline.check()
    assert timeline.num_samples == len(utterance.audio)
    assert sum(p.end - p.start for p in timeline.phonemes) == len(utterance.audio)
    assert len(timeline.words) == len(utterance.timeline.words)
    for word in timeline.words:
        assert 0 <= word.start <= word.end <= len(utterance.audio)
    starts = [w.start for w in timeline.words]
    assert starts == sorted(starts)
    for phoneme in timeline.phonemes:
        assert phoneme.word_index is None or 0 <= phoneme.word_index < len(timeline.words)


def test_durations_come_from_the_voice_model(engine: Engine) -> None:
    """Boundaries sit on half decoder hops: the model's own frame counts (pads split in two), not estimates."""
    utterance = engine.speak("Durations come straight from the duration predictor.")
    half_hop = engine.model.hop_length // 2
    assert all(p.start % half_hop == 0 for p in utterance.timeline.phonemes)
    assert len(utterance.audio) % engine.model.hop_length == 0


def test_words_follow_the_input_even_when_espeak_merges_or_expands_them(engine: Engine) -> None:
    utterance = engine.speak("Give 42 of the apples to Mr. Smith, for the people.")
    words = [w.text for w in utterance.timeline.words]
    assert words == ["Give", "42", "of", "the", "apples", "to", "Mr", "Smith", "for", "the", "people"]
    for word in utterance.timeline.words:
        assert word.end > word.start, word
    spans = [(w.start, w.end) for w in utterance.timeline.words]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


# ---- independent check with pocketsphinx forced alignment ----------------------------------

ALIGNMENT_SENTENCES = [
    "The bridge to the northern village washed away in the storm last night.",
    "Bring me three loaves of bread and a jug of fresh water from the market.",
    "I have been waiting here for hours and nobody told me the gate was closed.",
    "Keep your voice down because the guards are sleeping behind that door.",
    "She found a small wooden box buried under the old oak tree near the river.",
    "Please remember to feed the horses before you leave for the city tomorrow morning.",
]


def _resample_to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    """Windowed-sinc low-pass at 7.6 kHz, then linear interpolation onto the 16 kHz grid."""
    cutoff = 7600 / rate
    taps = np.arange(-64, 65)
    kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
    filtered = np.convolve(audio, kernel / kernel.sum(), mode="same")
    times = np.arange(int(len(audio) * 16000 / rate)) * rate / 16000
    return np.interp(times, np.arange(len(audio)), filtered)


def _sphinx_words(audio: np.ndarray, rate: int, text: str) -> list[tuple[str, float, float]]:
    from pocketsphinx import Decoder

    pad = np.zeros(int(0.3 * rate), dtype=np.float32)
    pcm = (np.clip(_resample_to_16k(np.concatenate([pad, audio, pad]), rate), -1, 1) * 32767).astype(np.int16)
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.set_align_text(re.sub(r"[^a-z' ]", " ", text.lower()))
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    words = []
    for seg in decoder.seg():
        if seg.word.startswith("<") or seg.word.startswith("[") or seg.word == "(NULL)":
            continue
        words.append((re.sub(r"\(\d+\)$", "", seg.word), seg.start_frame / 100 - 0.3, (seg.end_frame + 1) / 100 - 0.3))
    return words


def test_pocketsphinx_agrees_with_our_word_timings(engine: Engine) -> None:
    differences: list[float] = []
    for text in ALIGNMENT_SENTENCES:
        utterance = engine.speak(text)
        rate = utterance.sample_rate
        ours = [(w.text.lower().strip(".,"), w.start / rate, w.end / rate) for w in utterance.timeline.words]
        theirs = _sphinx_words(utterance.audio, rate, text)
        assert [w[0] for w in theirs] == [w[0] for w in ours], (ours, theirs)
        for (_, s1, e1), (_, s2, e2) in zip(ours, theirs):
            differences += [abs(s1 - s2), abs(e1 - e2)]
    median = statistics.median(differences)
    assert median <= 0.040, f"median word-boundary difference {median * 1000:.1f} ms"
