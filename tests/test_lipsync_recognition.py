"""Long audio and recognition (issue 16): recognized words aligned for their phones, long audio in pieces cut at
pauses (recognition and alignment)."""

from __future__ import annotations

import difflib
import functools
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from avatarlab.engine import Engine
from avatarlab.lipsync import align as align_module
from avatarlab.lipsync import recognize as recognize_module
from avatarlab.lipsync import vocabulary as vocabulary_module
from avatarlab.lipsync import workers
from avatarlab.resample import resample
from avatarlab.lipsync.recognize import phone_settings, recognition_pieces, recognize, recognize_segment
from avatarlab.lipsync.speech import SPHINX_RATE, lease_decoder, pause_cuts
from avatarlab.lipsync.vocabulary import VOCABULARY_SIZE, WORDS_FILE

LINES = ["Bring me three loaves of bread and a jug of fresh water from the market.",
         "Keep your voice down because the guards are sleeping behind that door.",
         "She found a small wooden box buried under the old oak tree near the river."]
PAUSE_S = 0.8


@pytest.fixture(scope="module")
def lines(engine: Engine) -> list[np.ndarray]:
    out = []
    for text in LINES:
        utterance = engine.speak(text, seed=2)
        out.append(resample(utterance.audio, utterance.sample_rate, SPHINX_RATE))
    return out


def _rounded(words) -> list[tuple[str, float, float]]:
    return [(w.text, round(w.start, 4), round(w.end, 4)) for w in words]


def test_phones_are_aligned_inside_the_recognized_words(lines) -> None:
    """Every phone of a word lies inside that word and the words' phones tile them: a phone pass aligned the
    recognized words (not a free phone loop, whose phones belong to no word)."""
    result = recognize(lines[0])
    assert result.method == "recognized" and len(result.words) >= 8
    assert {"bread", "market"} <= {w.text for w in result.words}
    for index, word in enumerate(result.words):
        phones = [p for p in result.phones if p.word_index == index]
        assert phones and phones[0].start == pytest.approx(word.start) and phones[-1].end == pytest.approx(word.end)
        assert all(a.end == pytest.approx(b.start) for a, b in zip(phones, phones[1:]))
    assert all(p.phone == "SIL" for p in result.phones if p.word_index is None)


def test_long_audio_is_recognized_in_pieces_cut_at_pauses(lines) -> None:
    """Audio is cut at its pauses and each piece decoded on its own (cost grows with length, not faster; pieces
    can go to two cores): the result is the pieces' results end to end, and nearly the words of each line
    recognized alone (a piece also holds a pause, which moves pocketsphinx's per-utterance normalization)."""
    pause = np.zeros(int(PAUSE_S * SPHINX_RATE), dtype=np.float32)
    joined = np.concatenate([x for line in lines for x in (line, pause)])
    alone, pauses, position = [], [], 0
    for line in lines:
        alone += [w.text for w in recognize(line).words]
        position += len(line) + len(pause)
        pauses.append((position - len(pause), position))
    cuts = recognition_pieces(joined)
    assert len(cuts) == len(LINES)
    assert all(any(a <= end <= b for a, b in pauses) for _, end in cuts[:-1])  # every cut in a pause
    pieces = [(start / SPHINX_RATE, recognize(joined[start:end])) for start, end in cuts]
    result = recognize(joined)
    assert _rounded(result.words) == _rounded([replace(w, start=w.start + offset, end=w.end + offset)
                                               for offset, piece in pieces for w in piece.words])
    assert len(result.phones) == sum(len(piece.phones) for _, piece in pieces)
    same = difflib.SequenceMatcher(a=alone, b=[w.text for w in result.words]).ratio()
    assert same >= 0.8, (alone, result.text)


def test_pieces_are_cut_only_at_long_enough_pauses() -> None:
    """A cut needs a pause of 0.25 s that leaves 3 s on both sides; pieces over 30 s are cut again at silences."""
    rate, rng = SPHINX_RATE, np.random.default_rng(0)

    def speech(seconds: float) -> np.ndarray:
        return (0.3 * rng.standard_normal(int(seconds * rate))).astype(np.float32)

    def pause(seconds: float) -> np.ndarray:
        return np.zeros(int(seconds * rate), dtype=np.float32)

    audio = np.concatenate([speech(4), pause(0.4), speech(2), pause(0.4), speech(3.5), pause(0.1), speech(4),
                            pause(0.3), speech(3.2)])
    # not at 6.6 s (2.4 s after the last cut) nor at 10.35 s (a 0.1 s pause)
    assert [round(c / rate, 2) for c in pause_cuts(audio)] == [4.2, 14.55]
    long = np.concatenate([speech(40), pause(0.5), speech(5)])
    cuts = recognition_pieces(long)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(long) and all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
    assert [round(b / rate, 2) for _, b in cuts][-2] == 40.25 and all(b - a <= 30 * rate for a, b in cuts)


def test_a_stretch_without_words_gets_the_phone_loop(lines, monkeypatch) -> None:
    """Where the word pass finds nothing (or its alignment fails) the phones come from the phone loop."""
    monkeypatch.setattr(recognize_module, "recognize_words", lambda *args: None)
    result = recognize(lines[1])
    with lease_decoder(**phone_settings()) as phones:
        loop = recognize_segment(lines[1], 0.0, phones.decoder, None, words=False)
    assert result.words == [] and result.method == "recognized"
    assert result.phones == loop.phones and len(loop.phones) > 10


def test_words_false_skips_the_word_pass(lines, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(recognize_module, "recognize_words",
                        functools.partial(lambda real, *args: calls.append(1) or real(*args),
                                          recognize_module.recognize_words))
    assert recognize(lines[2], words=False).words == [] and calls == []
    assert recognize(lines[2]).words and calls == [1]


def test_a_located_window_is_also_cut_at_its_inner_pauses() -> None:
    """Long files are aligned in pieces cut at every pause of 0.25 s or more between located words that leaves
    pieces of at least 3 s (shorter pieces align faster per second), not only at the window's main cut."""
    rate = SPHINX_RATE
    energy = np.ones(4000)  # 40 s of 10 ms frames; the quietest frame of each pause is its first
    # (position, first sample, end sample): pauses of 0.3 s after 4 s, 0.1 s after 5 s, 0.4 s after 9 s, 0.3 s
    # after 10.5 s (a piece of 1.1 s: too short), the main cut after position 5 (at 14 s)
    found = [(0, 0, 4 * rate), (1, int(4.3 * rate), 5 * rate), (2, int(5.1 * rate), 9 * rate),
             (3, int(9.4 * rate), int(10.5 * rate)), (4, int(10.8 * rate), 12 * rate), (5, 12 * rate, 14 * rate),
             (6, 15 * rate, 16 * rate)]
    cuts = align_module._inner_cuts(found, 5, energy, 0)
    assert [(round(cut / rate, 2), after) for cut, after in cuts] == [(4.0, 1), (9.0, 3)]
    offset = 20 * rate  # cuts are in the file's samples
    assert [c for c, _ in align_module._inner_cuts(found, 5, energy, offset)] == [offset + c for c, _ in cuts]


def test_a_long_file_is_aligned_in_short_pieces_with_exactly_their_words(engine: Engine) -> None:
    texts = LINES * 7
    utterances = [engine.speak(text, seed=2) for text in LINES]
    lines = [resample(u.audio, u.sample_rate, SPHINX_RATE) for u in utterances]
    pause = np.zeros(int(PAUSE_S * SPHINX_RATE), dtype=np.float32)
    audio = np.concatenate([x for line in lines * 7 for x in (line, pause)])
    words = [(i, w.lower().strip(".,")) for i, w in enumerate(" ".join(texts).split())]
    with lease_decoder(**align_module.FAST_ALIGN) as lease:
        pieces = align_module._pieces(lease, audio, words, {})
    assert pieces[0][0] == 0 and pieces[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    assert [w for _, _, share in pieces for w in share] == words
    assert len(pieces) >= 2 * int(len(audio) / SPHINX_RATE / align_module.MAX_SEGMENT_S)
    for start, end, share in pieces[:-1]:  # each piece holds whole lines: it ends in a pause after a line's end
        assert share[-1][1] in {"market", "door", "river"}, share


def test_a_decoder_that_raised_is_not_used_for_the_next_piece(lines, monkeypatch) -> None:
    """A piece whose word decoder raised gets the phone loop, and the next piece a fresh word decoder."""
    monkeypatch.setenv("AVATARLAB_LIPSYNC_WORKERS", "0")  # every piece in this process, where the fake runs
    pause = np.zeros(int(PAUSE_S * SPHINX_RATE), dtype=np.float32)
    joined = np.concatenate([lines[0], pause, lines[1], pause])
    cuts = recognition_pieces(joined)
    assert len(cuts) == 2
    real, used = recognize_module.recognize_words, []

    def first_raises(audio, offset, lease):
        used.append(lease.decoder)
        if len(used) == 1:
            lease.discard = True  # what recognize_words does when pocketsphinx raises
            return None
        return real(audio, offset, lease)

    monkeypatch.setattr(recognize_module, "recognize_words", first_raises)
    result = recognize(joined)
    assert len(used) >= 2 and used[1] is not used[0]
    assert result.words and all(w.start >= cuts[0][1] / SPHINX_RATE for w in result.words)


def test_recognition_uses_the_most_likely_words_only(lines) -> None:
    """The word pass searches the 10,000 most likely words of the LM (faster and, measured, more accurate than all
    72,000): every recognized word is in the list, and a rare CMUdict word is unknown to the word decoder."""
    vocabulary = set(json.loads(WORDS_FILE.read_text()))
    assert len(vocabulary) == VOCABULARY_SIZE and {"bread", "market", "the"} <= vocabulary
    result = recognize(lines[0])
    assert result.words and {w.text for w in result.words} <= vocabulary
    with lease_decoder(**recognize_module.word_settings()) as lease:
        assert lease.decoder.lookup_word("bread") is not None
        assert "aardvark" not in vocabulary and lease.decoder.lookup_word("aardvark") is None


def test_the_shipped_vocabulary_is_the_models_most_likely_words() -> None:
    """data/recognition_words.json is what ``python -m avatarlab.lipsync.vocabulary`` makes from the installed
    model (rerun it when pocketsphinx's model changes)."""
    assert json.loads(WORDS_FILE.read_text()) == vocabulary_module.most_likely_words()


def test_the_vocabulary_dictionary_is_written_again_when_removed(monkeypatch) -> None:
    """The dictionary file lives in the temporary folder; a cleaned-up folder does not break recognition."""
    from pocketsphinx import get_model_path

    path = Path(vocabulary_module.dictionary_path())
    entries = path.read_text().splitlines()
    words = set(json.loads(WORDS_FILE.read_text()))
    full = [line for line in Path(get_model_path("en-us/cmudict-en-us.dict")).read_text().splitlines()
            if line.split(" ", 1)[0].split("(")[0] in words]
    assert entries == full  # every pronunciation of every listed word, alternatives included
    path.unlink()
    assert Path(vocabulary_module.dictionary_path()).read_text().splitlines() == entries


def test_an_unwritable_temporary_folder_falls_back_to_the_whole_dictionary(tmp_path, monkeypatch) -> None:
    from pocketsphinx import get_model_path

    monkeypatch.setattr(vocabulary_module, "_path", None)
    monkeypatch.setattr(vocabulary_module.tempfile, "gettempdir", lambda: str(tmp_path / "missing"))
    assert vocabulary_module.dictionary_path() == get_model_path("en-us/cmudict-en-us.dict")


@pytest.fixture()
def joined(lines) -> np.ndarray:
    pause = np.zeros(int(PAUSE_S * SPHINX_RATE), dtype=np.float32)
    return np.concatenate([x for line in lines for x in (line, pause)])


def _count_local_pieces(monkeypatch) -> list[int]:
    """Record how many pieces each decode_pieces call in this process gets."""
    counts, real = [], recognize_module.decode_pieces
    monkeypatch.setattr(recognize_module, "decode_pieces",
                        lambda pieces, words: counts.append(len(pieces)) or real(pieces, words))
    return counts


def test_pieces_decoded_in_the_helper_process_give_the_same_result(joined, monkeypatch) -> None:
    """About half the pieces go to a second process (pocketsphinx holds the GIL): the result is the same as when
    this process decodes them all, and the helper stays for the next call."""
    counts = _count_local_pieces(monkeypatch)
    monkeypatch.setenv("AVATARLAB_LIPSYNC_WORKERS", "0")
    alone = recognize(joined)
    assert counts == [len(LINES)]
    monkeypatch.delenv("AVATARLAB_LIPSYNC_WORKERS")
    if not workers.enabled():
        pytest.skip("one CPU: pieces are not shared")
    shared = recognize(joined)
    assert counts[1] < len(LINES) and workers.helper_pid() is not None
    assert shared.words == alone.words and shared.phones == alone.phones
    helper = workers.helper_pid()
    assert recognize(joined).words == alone.words and workers.helper_pid() == helper  # reused


#: Helper processes that fail: one dies after reading a byte, one reads forever and never answers.
FAILING_HELPERS = ["import sys; sys.stdin.buffer.read(1)", "import sys; sys.stdin.buffer.read()"]


def use_failing_helper(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """The next shared decode starts ``code`` as its helper process and waits at most a second for a reply."""
    workers._stop()
    monkeypatch.setattr(workers, "REPLY_TIMEOUT_S", 1.0)
    monkeypatch.setattr(workers, "REPLY_TIMEOUT_PER_AUDIO_S", 0.0)
    monkeypatch.setattr(workers, "_start", lambda: subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE))


@pytest.mark.parametrize("helper", FAILING_HELPERS, ids=["dies", "hangs"])
def test_a_helper_that_fails_leaves_the_result_unchanged(joined, monkeypatch, helper) -> None:
    """A helper that dies or hangs costs time, not results: this process decodes its pieces itself."""
    if not workers.enabled():
        pytest.skip("one CPU: pieces are not shared")
    counts = _count_local_pieces(monkeypatch)
    expected = recognize(joined)
    use_failing_helper(monkeypatch, helper)
    result = recognize(joined)
    assert result.words == expected.words and result.phones == expected.phones
    assert sum(counts[1:]) == len(LINES) and len(counts) == 3  # its own share, then the helper's
    assert workers.helper_pid() is None
