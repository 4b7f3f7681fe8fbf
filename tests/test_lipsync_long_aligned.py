"""Long files with a transcript are aligned at their pauses, each piece decoded once for its words and once for
its phones (align._align_at_pauses, issue 16 speed); anything doubtful goes to the located windows instead."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from avatarlab.engine import Engine, Utterance
from avatarlab.lipsync import align as align_module
from avatarlab.lipsync.audio_input import resample
from avatarlab.lipsync.speech import MAX_SEGMENT_S, SPHINX_RATE, lease_decoder
from avatarlab.lipsync.transcript import read_transcript

LINES = ["The bridge to the northern village washed away in the storm last night.",
         "Bring me three loaves of bread and a jug of fresh water from the market.",
         "Keep your voice down because the guards are sleeping behind that door.",
         "She found a small wooden box buried under the old oak tree near the river."]
REPEATS = 3


@pytest.fixture(scope="module")
def spoken(engine: Engine) -> list[Utterance]:
    return [engine.speak(text, seed=5) for text in LINES]


def _joined(spoken: list[Utterance], pause_s: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The lines REPEATS times, from their first word's start to their last word's end, with ``pause_s``
    between them, at 16 kHz, and each word's (start, end) s."""
    rate = spoken[0].sample_rate
    pause = np.zeros(int(pause_s * rate), dtype=np.float32)
    parts, reference, position = [pause], [], len(pause)
    for line in spoken * REPEATS:
        words = line.timeline.words
        first, last = words[0].start, words[-1].end
        reference += [((position + w.start - first) / rate, (position + w.end - first) / rate) for w in words]
        parts += [line.audio[first:last], pause]
        position += last - first + len(pause)
    return resample(np.concatenate(parts), rate, SPHINX_RATE), reference


def _at_pauses(audio: np.ndarray, texts: list[str]):
    with lease_decoder(**align_module.FAST_ALIGN) as lease:
        read = read_transcript(" ".join(texts), align_module._dictionary_lookup(lease.decoder))
        words = [(i, token) for i, word in enumerate(read.words) for token in word.tokens]
        return align_module._align_at_pauses(lease, audio, words, read.added), len(read.words)


def test_a_long_file_is_aligned_at_its_pauses_decoding_each_piece_twice(spoken, monkeypatch) -> None:
    audio, reference = _joined(spoken, 0.5)
    assert len(audio) / SPHINX_RATE > MAX_SEGMENT_S
    decodes = []
    real_decode = align_module._decode
    monkeypatch.setattr(align_module, "_decode", lambda decoder, pcm: (decodes.append(len(pcm)),
                                                                     real_decode(decoder, pcm))[1])
    parts, count = _at_pauses(audio, LINES * REPEATS)
    assert parts is not None and len(parts) == len(LINES) * REPEATS  # one piece per line: cut at each pause
    assert len(decodes) == 2 * len(parts)  # a word pass and a phone pass each, no locating pass before them
    assert [int(w.text) for part in parts for w in part.words] == list(range(count))
    timings, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    assert timings.method == "aligned"
    assert [(w.start, w.end) for w in timings.words] == [(w.start, w.end) for part in parts for w in part.words]
    errors = [abs(a - w.start) for (a, _), w in zip(reference, timings.words)]
    errors += [abs(b - w.end) for (_, b), w in zip(reference, timings.words)]
    assert statistics.median(errors) <= 0.030


def test_a_transcript_that_lacks_a_line_goes_to_the_located_windows(spoken) -> None:
    """The piece after the missing line does not start where the previous one stopped: noticed, not forced."""
    audio, _ = _joined(spoken, 0.5)
    texts = LINES * REPEATS
    parts, _ = _at_pauses(audio, texts[:5] + texts[6:])
    assert parts is None
    timings, _ = align_module.align(audio, " ".join(texts[:5] + texts[6:]))
    assert timings.method in ("aligned", "mixed") and len(timings.words) >= len(" ".join(texts[6:]).split())


def test_a_long_file_without_pauses_to_cut_at_goes_to_the_located_windows(spoken) -> None:
    audio, _ = _joined(spoken, 0.1)  # pauses too short to cut at: pieces would be over MAX_SEGMENT_S
    parts, _ = _at_pauses(audio, LINES * REPEATS)
    assert parts is None
    timings, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    assert timings.method == "aligned"


def test_long_silences_before_and_after_the_speech_get_no_words(spoken) -> None:
    """Pieces of silence alone (here 8 s at each end) are left out instead of having a word forced into them."""
    audio, reference = _joined(spoken, 0.5)
    silence = np.zeros(8 * SPHINX_RATE, dtype=np.float32)
    parts, count = _at_pauses(np.concatenate([silence, audio, silence]), LINES * REPEATS)
    assert parts is not None and len(parts) == len(LINES) * REPEATS
    words = [w for part in parts for w in part.words]
    assert [int(w.text) for w in words] == list(range(count))
    assert abs(words[0].start - 8 - reference[0][0]) <= 0.05 and abs(words[-1].end - 8 - reference[-1][1]) <= 0.05
