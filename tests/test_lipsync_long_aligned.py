"""Long files with a transcript are aligned at their pauses, each piece decoded once for its words and once for
its phones (align._align_at_pauses, issue 16 speed); anything doubtful goes to the located windows instead."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from avatarlab.engine import Engine, Utterance
from avatarlab.lipsync import align as align_module
from avatarlab.lipsync import workers
from avatarlab.resample import resample
from avatarlab.lipsync.speech import MAX_SEGMENT_S, SPHINX_RATE, lease_decoder
from avatarlab.lipsync.transcript import read_transcript
from test_lipsync_recognition import FAILING_HELPERS, use_failing_helper

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
    monkeypatch.setenv("AVATARLAB_LIPSYNC_WORKERS", "0")  # every decode in this process, to count them
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


def _phones(timings) -> list[tuple[str, float, float, int | None]]:
    return [(p.phone, p.start, p.end, p.word_index) for p in timings.phones]


@pytest.fixture()
def alone(spoken, monkeypatch):
    """The joined lines and their timings with every piece aligned in this process."""
    audio, _ = _joined(spoken, 0.5)
    monkeypatch.setenv("AVATARLAB_LIPSYNC_WORKERS", "0")
    timings, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    monkeypatch.delenv("AVATARLAB_LIPSYNC_WORKERS")
    assert timings.method == "aligned"
    return audio, timings


def _count_local_pieces(monkeypatch) -> list[int]:
    """Record the index of every piece aligned at the pauses in this process."""
    pieces, real = [], align_module._chain_piece
    monkeypatch.setattr(align_module, "_chain_piece",
                        lambda lease, plan, k, *rest: pieces.append(k) or real(lease, plan, k, *rest))
    return pieces


def test_later_pieces_aligned_in_the_helper_process_give_the_same_result(alone, monkeypatch) -> None:
    """The helper aligns the later pieces from the word they are expected to start at while this process aligns
    the first ones (pocketsphinx holds the GIL): used when it started where this process stopped, it gives
    exactly what this process would have."""
    if not workers.enabled():
        pytest.skip("one CPU: pieces are not shared")
    audio, expected = alone
    local = _count_local_pieces(monkeypatch)
    shared, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    assert workers.helper_pid() is not None
    assert 0 < len(local) < len(LINES) * REPEATS and local == sorted(set(local))  # the rest came from the helper
    assert shared.method == "aligned" and shared.words == expected.words and _phones(shared) == _phones(expected)


@pytest.mark.parametrize("shift", [3, -40])
def test_a_helper_that_started_elsewhere_is_not_used(alone, monkeypatch, shift: int) -> None:
    """The helper starts from an estimate: off by a few words it aligns its first piece again from the word it
    found; off by more, its chain starts at the wrong word and this process aligns those pieces itself."""
    if not workers.enabled():
        pytest.skip("one CPU: pieces are not shared")
    audio, expected = alone
    real = workers.run_shared
    starts = []

    def shifted(task, args, local, seconds):
        pieces, plan, words, added, guess = args
        mine, reply = real(task, (pieces, plan, words, added, max(0, guess + shift)), local, seconds)
        starts.append((mine[0], reply[0]))
        return mine, reply

    monkeypatch.setattr(workers, "run_shared", shifted)
    shared, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    assert shared.words == expected.words and _phones(shared) == _phones(expected)
    assert (starts[0][0] == starts[0][1]) == (shift == 3)


@pytest.mark.parametrize("helper", FAILING_HELPERS, ids=["dies", "hangs"])
def test_a_helper_that_fails_leaves_the_aligned_result_unchanged(alone, monkeypatch, helper) -> None:
    """A helper that dies or hangs costs time, not results: this process aligns its pieces itself."""
    if not workers.enabled():
        pytest.skip("one CPU: pieces are not shared")
    audio, expected = alone
    use_failing_helper(monkeypatch, helper)
    local = _count_local_pieces(monkeypatch)
    result, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    assert result.words == expected.words and _phones(result) == _phones(expected)
    assert local == list(range(len(LINES) * REPEATS))  # every piece aligned here, once
    assert workers.helper_pid() is None


def test_a_failing_local_share_stops_the_helper(alone, monkeypatch) -> None:
    """When this process's share raises, the helper's reply would wait in its pipe for the next request: the
    helper is stopped instead, and the next call gets a fresh one with the right result."""
    if not workers.enabled():
        pytest.skip("one CPU: pieces are not shared")
    audio, expected = alone

    def fail():
        raise KeyboardInterrupt

    align_module.align(audio, " ".join(LINES * REPEATS))  # a helper running
    with pytest.raises(KeyboardInterrupt):
        workers.run_shared("align", ({}, None, [], {}, 0), fail, 1.0)
    assert workers.helper_pid() is None
    again, _ = align_module.align(audio, " ".join(LINES * REPEATS))
    assert again.words == expected.words and _phones(again) == _phones(expected)
