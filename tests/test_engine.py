"""The engine end to end with the real default voice: streaming, curves, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from avatarlab.channels import ARKIT_BLENDSHAPES, ARKIT_INDEX, OCULUS_VISEMES, VISEME_INDEX
from avatarlab.engine import Engine, chunk_schedule, frame_range

LINE = "Bob brought me maple pie, but Pam maybe wanted more apple bread by the bay."


def test_chunks_stream_audio_frames_and_events_for_exactly_their_span(engine: Engine) -> None:
    chunks = list(engine.synthesize(LINE + " Then we left.", fps=60))
    assert len(chunks) > 2, "a line this long must arrive in several chunks"
    position = 0
    frame = 0
    for chunk in chunks:
        assert chunk.sample_offset == position
        f0, f1 = frame_range(position, position + len(chunk.audio), 60, chunk.sample_rate)
        assert chunk.frames.start_frame == f0 == frame and len(chunk.frames) == f1 - f0
        for phoneme in chunk.phonemes:
            assert phoneme.start < position + len(chunk.audio) or chunk.final
        position += len(chunk.audio)
        frame = f1
    assert chunks[-1].final and not any(c.final for c in chunks[:-1])
    assert sum(len(c.phonemes) for c in chunks) == len({id(p) for c in chunks for p in c.phonemes})
    assert [c.sentence_index for c in chunks] == sorted(c.sentence_index for c in chunks)


def test_first_chunk_is_a_small_part_of_a_long_sentence(engine: Engine) -> None:
    text = " ".join(["the old ferryman rowed slowly across the dark river while the travelers waited"] * 3)
    first = next(iter(engine.synthesize(text)))
    whole = engine.speak(text)
    assert len(first.audio) * 10 < len(whole.audio)


def test_chunked_and_one_shot_decoding_match(engine: Engine) -> None:
    streamed = engine.speak(LINE, seed=7)
    one_shot = engine.speak(LINE, seed=7, stream=False)
    assert len(streamed.audio) == len(one_shot.audio)
    error = streamed.audio - one_shot.audio
    assert np.abs(error).max() < 2e-3
    assert np.sqrt(np.mean(error**2)) < 1e-3 * np.sqrt(np.mean(one_shot.audio**2)) + 1e-6
    np.testing.assert_allclose(streamed.frames.visemes, one_shot.frames.visemes, atol=0.02)
    np.testing.assert_allclose(streamed.frames.blendshapes, one_shot.frames.blendshapes, atol=0.02)


def test_same_seed_same_output_other_seed_other_output(engine: Engine) -> None:
    a = engine.speak(LINE, seed=3)
    b = engine.speak(LINE, seed=3)
    c = engine.speak(LINE, seed=4)
    assert np.array_equal(a.audio, b.audio)
    for name in ("visemes", "blendshapes", "head", "eyes"):
        assert np.array_equal(getattr(a.frames, name), getattr(b.frames, name))
    assert not np.array_equal(a.audio[: min(len(a.audio), len(c.audio))], c.audio[: min(len(a.audio), len(c.audio))])
    assert not np.array_equal(a.frames.head[:50], c.frames.head[:50])


@pytest.mark.parametrize("fps", [24, 60, 120])
def test_every_bilabial_closes_the_lips(engine: Engine, fps: int) -> None:
    utterance = engine.speak(LINE, fps=fps, emotion="happy")
    frames = utterance.frames
    rate = utterance.sample_rate
    bilabials = [p for p in utterance.timeline.phonemes if p.symbol in ("p", "b", "m")]
    assert len(bilabials) >= 10
    for phoneme in bilabials:
        lo = int(np.floor(phoneme.start * fps / rate))
        hi = max(lo + 1, int(np.ceil(phoneme.end * fps / rate)))
        window = slice(max(0, lo - frames.start_frame), hi + 1 - frames.start_frame)
        assert frames.visemes[window, VISEME_INDEX["PP"]].max() >= 0.9, phoneme
        jaw, close = (frames.blendshapes[window, ARKIT_INDEX[name]] for name in ("jawOpen", "mouthClose"))
        assert (close <= jaw + 1e-6).all() and (jaw - close).min() <= 0.01, phoneme  # sealed, the ARKit way
        press = frames.blendshapes[window, ARKIT_INDEX["mouthPressLeft"]]
        assert press.max() >= 0.3, phoneme


def test_curves_are_in_range_and_shaped_by_the_vocabulary(engine: Engine) -> None:
    utterance = engine.speak("How are you today? I'm surprised to see you here!", emotion="surprised")
    frames = utterance.frames
    n = -(-len(utterance.audio) * frames.fps // utterance.sample_rate)
    assert len(frames) == n
    assert frames.visemes.shape == (n, len(OCULUS_VISEMES))
    assert frames.blendshapes.shape == (n, len(ARKIT_BLENDSHAPES))
    for values in (frames.visemes, frames.blendshapes):
        assert values.dtype == np.float32 and values.min() >= 0.0 and values.max() <= 1.0
    assert np.abs(frames.head).max() < 0.35 and np.abs(frames.eyes).max() < 0.5
    jaw = frames.blendshapes[:, ARKIT_INDEX["jawOpen"]]
    assert jaw.max() > 0.2, "the jaw must open while speaking"


def test_events_cover_phonemes_words_and_visemes(engine: Engine) -> None:
    utterance = engine.speak("Fine thanks, and you?")
    assert [w.text for w in utterance.timeline.words] == ["Fine", "thanks", "and", "you"]
    assert len(utterance.visemes) == len(utterance.timeline.phonemes)
    names = {v.viseme for v in utterance.visemes}
    assert names <= set(OCULUS_VISEMES) and {"FF", "sil"} <= names
    by_symbol = {p.symbol: v.viseme for p, v in zip(utterance.timeline.phonemes, utterance.visemes)}
    assert by_symbol["f"] == "FF" and by_symbol["θ"] == "TH"


def test_chunk_schedule_covers_every_frame_once() -> None:
    for frames in (1, 5, 24, 25, 100, 1000, 5003):
        ranges = chunk_schedule(frames, 24, 768)
        assert ranges[0][0] == 0 and ranges[-1][1] == frames
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert ranges[0][1] <= max(24, min(frames, 36))


def test_overlong_sentences_are_cut_at_word_gaps(engine: Engine) -> None:
    from avatarlab.phonemize import MAX_SENTENCE_SYMBOLS

    text = " ".join(["the harbour lights flickered as the fishing boats came home"] * 40)
    phonemized = engine.phonemizer.phonemize(text)
    assert len(phonemized.sentences) > 1
    assert all(len(s.symbols) <= MAX_SENTENCE_SYMBOLS for s in phonemized.sentences)
    assert all(s.symbols[0] != " " and s.symbols[-1] != " " for s in phonemized.sentences)
    tagged = [i for s in phonemized.sentences for i in s.word_indices if i is not None]
    assert sorted(set(tagged)) == list(range(len(phonemized.words))) and tagged == sorted(tagged)
