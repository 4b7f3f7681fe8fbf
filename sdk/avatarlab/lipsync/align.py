"""Forced alignment of a transcript with pocketsphinx: word and phone timings.

Each stretch of audio is aligned in two passes on a pooled decoder: a word pass (``set_align_text``, which also
picks alternative pronunciations and optional silences) and a phone pass (``set_alignment``) inside the word
boundaries it found. Decoder settings are tuned for speed (FAST_ALIGN); a stretch that fails with them is
retried with pocketsphinx's defaults, then with wider beams (RETRY_ALIGN), and one that still fails falls back
to phone recognition with an AlignmentFallbackWarning.

Audio longer than MAX_SEGMENT_S whose pauses cut it into pieces of at most MAX_SEGMENT_S is aligned piece by
piece at those pauses (``_align_at_pauses``): each piece's word pass uses the locating grammar below (from the
word after the previous piece's last, stopping after any word), and its phone pass follows on the same decode,
so every piece is decoded twice, not three times; the later pieces (about half the speech) are aligned in the
helper process of workers.py meanwhile, and used only when they are exactly what this process would have found
(``align_chain``). When a check fails there (a piece that does not start where
the last one stopped, a word running into a cut, the last piece not ending the transcript), the file is
located instead: a word pass over a 30 s window, with a grammar that may stop after any word, finds where the
transcript's words fall; the window is cut at the longest pause between
two words found well inside it, and the piece before the cut is aligned with exactly the words found there
(further cut at every pause between located words that leaves pieces of at least 3 s, ``_inner_cuts``:
shorter pieces align faster per second). The next window starts at the cut with the next word. See docs/lipsync.md.
"""

from __future__ import annotations

import warnings
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from ..errors import AvatarLabError
from . import workers
from .recognize import phone_settings, recognize_segment
from .speech import (
    FRAME_S, MAX_SEGMENT_S, MIN_SEGMENT_S, PAD_S, SPHINX_RATE, Lease, SpeechTimings, SpeechWord, base_word,
    frame_energy, frame_seconds, is_filler, lease_decoder, pause_cuts, silence_phones, speech_threshold,
    split_at_silences, to_pcm, word_phones,
)
from .transcript import Transcript, TranscriptWord, read_transcript

#: Decoder settings for alignment, chosen by measurement (docs/lipsync.md, "Speed"): acoustic scores on every
#: second frame (ds), the best 2 Gaussians per codebook (topn), and beams wider than the defaults so that the
#: path is not lost with ds=2. Together about 2x faster than the defaults with the same word-boundary error.
#: No best-path search over the word lattice (bestpath): on a 30 s window located in a long file it cost a fifth
#: of the word pass (``_locate_window``'s ``hyp()``); without it word error on the benchmark is unchanged and the
#: 6-class accuracy on the training voices ked, awb and rms the same or better (ked +0.01).
FAST_ALIGN = {"lm": None, "ds": 2, "topn": 2, "beam": 1e-64, "wbeam": 1e-40, "pbeam": 1e-64, "bestpath": False}
#: Retries, in order, for a stretch the fast settings cannot align: pocketsphinx's defaults (what alignment
#: used before FAST_ALIGN), then the same with wider beams, which align some lines the defaults lose (and
#: lose some they align).
RETRY_ALIGN = ({"lm": None}, {"lm": None, "beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80})
#: A located window is also cut at every pause of at least MIN_PAUSE_S between its words that leaves pieces of
#: at least MIN_PIECE_S (``_inner_cuts``).
MIN_PAUSE_S = 0.25
MIN_PIECE_S = 3.0
#: A long file cut at its pauses (``_align_at_pauses``): each piece may start this many words either side of the
#: word after the previous piece's last one (so a piece that starts elsewhere is noticed), and no word may end
#: closer than _CUT_MARGIN_S to its end.
ENTRY_SLACK = 15
_CUT_MARGIN_S = 0.05
#: When locating words in a long file, words ending this close to the end of the 30 s window are not trusted.
_LOCATE_GUARD_S = 2.0
_HOP = int(FRAME_S * SPHINX_RATE)
#: Dictionary names added to pooled decoders from espeak-ng (transcript.py); always the same pronunciation.
_ADDED: set[str] = set()


class AlignmentError(AvatarLabError, RuntimeError):
    """The transcript could not be aligned with the audio (no alignable words, or pocketsphinx failed)."""


class AlignmentFallbackWarning(UserWarning):
    """Alignment failed for (part of) the audio; recognition was used there instead."""


def _add_words(decoder, added: dict[str, str]) -> None:
    """Give the decoder the transcript's pronunciations from espeak-ng (names are the same in every decoder)."""
    for name, phones in added.items():
        if decoder.lookup_word(name) is None:
            decoder.add_word(name, phones, False)
            _ADDED.add(name)


def _dictionary_lookup(decoder):
    """The decoder's CMUdict pronunciation of a word; None for words missing there (even once added by us)."""
    return lambda word: None if word in _ADDED else decoder.lookup_word(word)


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _align_segment(lease: Lease, audio16k: np.ndarray, offset_s: float, words: list[tuple[int, str]],
                   added: dict[str, str]) -> SpeechTimings:
    """Align ``words`` ((transcript index, dictionary word)) with one segment; raises AlignmentError."""
    if not words:
        raise AlignmentError("no alignable words in this segment")
    pcm = to_pcm(audio16k)
    decoder = lease.decoder
    try:
        lease.prime()
        _add_words(decoder, added)
        decoder.set_align_text(" ".join(w for _, w in words))
        _decode(decoder, pcm)  # word pass
        if decoder.hyp() is None:
            raise AlignmentError("pocketsphinx found no alignment")
        found = [base_word(seg.word) for seg in decoder.seg() if not is_filler(seg.word)]
        if found != [w for _, w in words]:  # the search did not reach the grammar's final state
            raise AlignmentError(f"the word pass ended after {len(found)} of {len(words)} words")
        alignment = _phone_pass(decoder, pcm)
    except AlignmentError:
        raise
    except RuntimeError as error:
        lease.discard = True  # do not reuse a decoder in an unknown state
        raise AlignmentError(f"pocketsphinx could not align the transcript: {error}") from error
    return _timings(alignment, offset_s, words)


def _phone_pass(decoder, pcm: bytes):
    """Phone pass inside the word boundaries of the word pass just decoded on ``pcm``."""
    decoder.set_alignment()
    _decode(decoder, pcm)
    return decoder.get_alignment()


def _timings(alignment, offset_s: float, words: list[tuple[int, str]]) -> SpeechTimings:
    """A pocketsphinx alignment of exactly ``words`` ((transcript index, dictionary word)) as timings."""
    if alignment is None:
        raise AlignmentError("pocketsphinx found no alignment")
    result = SpeechTimings(method="aligned")
    spoken = iter(words)
    for entry in alignment:
        name = base_word(entry.name)
        if name.startswith("<") or name.startswith("[") or name == "(NULL)":
            result.phones.extend(silence_phones(entry, offset_s))
            continue
        index, expected = next(spoken, (None, None))
        if expected is None or expected != name:
            raise AlignmentError(f"alignment returned {name!r} where {expected!r} was expected")
        result.phones.extend(word_phones(entry, offset_s, index))
        start, end = frame_seconds(entry.start, offset_s), frame_seconds(entry.start + entry.duration, offset_s)
        result.words.append(SpeechWord(str(index), start, end))  # index for now; merged per transcript word later
    if next(spoken, None) is not None:
        raise AlignmentError("alignment ended before the transcript did")
    return result


def _locate_window(lease: Lease, window: np.ndarray, words: list[str], entries: int,
                   added: dict[str, str]) -> list[tuple[int, int, int]] | None:
    """Word pass over ``window`` with a grammar that may start at any of the first ``entries`` words and stop
    after any word: (word position in ``words``, first sample, end sample) of the words found, in the window's
    samples; None when pocketsphinx finds nothing."""
    decoder = lease.decoder
    n = len(words)
    start_state, final_state = n + 1, n + 2
    transitions = []
    for i, word in enumerate(words):
        transitions.append((i, i + 1, 1.0, word))
        transitions.append((i, final_state, 1.0, word))
        if i < entries:
            transitions.append((start_state, i + 1, 1.0, word))
            transitions.append((start_state, final_state, 1.0, word))
    try:
        lease.prime()
        _add_words(decoder, added)
        fsg = decoder.create_fsg("_locate", start_state, final_state, transitions)
        decoder.add_fsg("_locate", fsg)
        decoder.activate_search("_locate")
        _decode(decoder, to_pcm(window))
        if decoder.hyp() is None:
            return None
        segs = [(base_word(s.word), s.start_frame, s.end_frame + 1) for s in decoder.seg() if not is_filler(s.word)]
    except RuntimeError:
        lease.discard = True
        return None
    if not segs:
        return None
    pad = int(PAD_S * SPHINX_RATE)
    # the grammar is linear, so the words found are consecutive: find where they start
    names = [w for w, _, _ in segs]
    for first in range(min(entries, n)):
        if words[first:first + len(names)] == names:
            return [(first + k, s * _HOP - pad, e * _HOP - pad) for k, (_, s, e) in enumerate(segs)]
    return None


def _quietest(energy: np.ndarray, lo: int, hi: int) -> int:
    """Sample at the start of the quietest 10 ms frame of samples [lo, hi) (lo when the span is empty)."""
    a, b = lo // _HOP, max(lo // _HOP + 1, hi // _HOP)
    if b > energy.size or a >= b:
        return lo
    return (a + int(np.argmin(energy[a:b]))) * _HOP


def _inner_cuts(found: list[tuple[int, int, int]], last: int, energy: np.ndarray,
                start: int) -> list[tuple[int, int]]:
    """Extra cuts before the located window's main cut (after ``found`` word position ``last``): at every pause
    of at least MIN_PAUSE_S between two located words that leaves pieces of at least MIN_PIECE_S. Shorter
    pieces align faster per second (a long grammar and utterance keep more of the search alive).
    Returns (cut sample, position in the located words of the first word after it)."""
    cuts: list[tuple[int, int]] = []
    ends = {k: e for k, _, e in found}
    main_end = ends.get(last)
    if main_end is None:
        return cuts
    previous = 0
    pause, shortest = int(MIN_PAUSE_S * SPHINX_RATE), int(MIN_PIECE_S * SPHINX_RATE)
    for (_, _, a_end), (b, b_start, _) in zip(found, found[1:]):
        if b > last:
            break
        if b_start - a_end >= pause and a_end - previous >= shortest and main_end - b_start >= shortest:
            cut = _quietest(energy, start + a_end, start + b_start + _HOP)
            cuts.append((cut, b))
            previous = cut - start
    return cuts


def _pieces(lease: Lease, audio16k: np.ndarray, words: list[tuple[int, str]],
            added: dict[str, str]) -> list[tuple[int, int, list]]:
    """Cut long audio into pieces of at most MAX_SEGMENT_S, each with exactly the words spoken in it."""
    total = len(audio16k)
    max_len, min_len = int(MAX_SEGMENT_S * SPHINX_RATE), int(MIN_SEGMENT_S * SPHINX_RATE)
    if total <= max_len:
        return [(0, total, list(words))]
    energy = frame_energy(audio16k)
    speech = np.concatenate([[0], np.cumsum(energy > speech_threshold(energy))])  # speech frames before each frame
    pieces: list[tuple[int, int, list]] = []
    start, first, sure = 0, 0, True  # sure: words[first] is the first word spoken after `start`
    guard = int(_LOCATE_GUARD_S * SPHINX_RATE)
    while total - start > max_len and first < len(words):
        end = start + max_len
        left_speech = max(1, speech[-1] - speech[start // _HOP])
        expected = (len(words) - first) * (speech[end // _HOP] - speech[start // _HOP]) / left_speech
        # after a guess, look around it (but not before the guessed piece)
        back = 0 if sure else min(len(pieces[-1][2]), int(expected / 2) + 5)
        take = words[first - back: first + int(2 * expected) + 20]
        found = _locate_window(lease, audio16k[start:end], [w for _, w in take], 1 if sure else 2 * back + 1,
                               added)
        cut = None
        if found and len(found) >= 2:
            best = None
            for (k, _, a_end), (_, b_start, b_end) in zip(found, found[1:]):
                if b_end > max_len - guard or a_end < min_len:
                    continue
                gap = (b_start - a_end) + a_end / max_len * _HOP  # longest pause; later on ties
                if best is None or gap > best[0]:
                    best = (gap, k, a_end, b_start)
            if best is not None:
                _, k, a_end, b_start = best
                cut = _quietest(energy, start + a_end, start + max(a_end, b_start) + _HOP)
                located_first = first - back + found[0][0]
                if pieces and located_first != first:  # the previous piece was a guess: give it what lies before
                    p_start, p_end, _ = pieces[-1]
                    previous_first = first - len(pieces[-1][2])
                    pieces[-1] = (p_start, p_end, words[previous_first:max(previous_first, located_first)])
                base, first = first - back, first - back + k + 1
                piece_start, piece_first = start, located_first
                for inner, word_after in _inner_cuts(found, k, energy, start):
                    pieces.append((piece_start, inner, words[piece_first:base + word_after]))
                    piece_start, piece_first = inner, base + word_after
                pieces.append((piece_start, cut, words[piece_first:first]))
                start, sure = cut, True
                continue
        # nothing reliable found: cut at the quietest point and share the words by speech (a guess)
        cut = _quietest(energy, start + min_len, end)
        share = min(len(words) - first,
                    round((len(words) - first) * (speech[cut // _HOP] - speech[start // _HOP]) / left_speech))
        pieces.append((start, cut, words[first:first + share]))
        first, start, sure = first + share, cut, False
    if first >= len(words) and total - start > max_len:  # transcript used up: the rest goes without words
        pieces += [(start + a, start + b, []) for a, b in split_at_silences(audio16k[start:])]
    else:
        pieces.append((start, total, words[first:]))
    return pieces


@dataclass(frozen=True)
class _PausePlan:
    """A long file cut at its pauses, as both processes see it: piece bounds (samples), which pieces are quiet,
    and the speech frames before each piece's start and end and in the whole file."""

    bounds: list[tuple[int, int]]
    quiet: list[bool]
    speech_before: list[tuple[int, int]]
    speech_total: int


def _pause_plan(audio16k: np.ndarray) -> _PausePlan | None:
    """The pieces of ``_align_at_pauses``; None when there is no pause to cut at or a piece is too long."""
    cuts = pause_cuts(audio16k, MIN_PAUSE_S, MIN_PIECE_S)
    bounds = list(zip([0] + cuts, cuts + [len(audio16k)]))
    if len(bounds) < 2 or any(b - a > MAX_SEGMENT_S * SPHINX_RATE for a, b in bounds):
        return None
    energy = frame_energy(audio16k)
    speech = np.concatenate([[0], np.cumsum(energy > speech_threshold(energy))])  # speech frames before each frame
    before = [(int(speech[a // _HOP]), int(speech[b // _HOP])) for a, b in bounds]
    quiet = [b - a < 10 for a, b in before]  # as _is_quiet, threshold computed once
    return _PausePlan(bounds, quiet, before, int(speech[-1]))


def _chain_piece(lease: Lease, plan: _PausePlan, k: int, piece: np.ndarray, words: list[tuple[int, str]],
                 added: dict[str, str], first: int, started: list[int] | None = None
                 ) -> tuple[int, SpeechTimings] | None:
    """Piece ``k`` aligned starting from word ``first``: (the word after its last, its timings); None when the
    piece does not start at ``first``, a word runs into its end, the last piece misses the transcript's last
    word, or pocketsphinx fails. The word the piece was found to start at is appended to ``started``."""
    if first >= len(words):
        return None  # speech left after the transcript's last word
    a, b = plan.bounds[k]
    last = all(plan.quiet[k + 1:])
    left = max(1, plan.speech_total - plan.speech_before[k][0])
    expected = (len(words) - first) * (plan.speech_before[k][1] - plan.speech_before[k][0]) / left
    lo = max(0, first - ENTRY_SLACK)
    take = words[lo:] if last else words[lo:first + int(2 * expected) + 20]
    found = _locate_window(lease, piece, [w for _, w in take], first - lo + ENTRY_SLACK + 1, added)
    if found and started is not None:
        started.append(lo + found[0][0])
    margin = int(_CUT_MARGIN_S * SPHINX_RATE)
    if not found or lo + found[0][0] != first or (found[-1][2] > b - a - margin and not last) \
            or (last and lo + found[-1][0] != len(words) - 1):
        return None
    spoken = take[found[0][0]:found[-1][0] + 1]
    try:
        timings = _timings(_phone_pass(lease.decoder, to_pcm(piece)), a / SPHINX_RATE, spoken)
    except AlignmentError:
        return None
    except RuntimeError:
        lease.discard = True
        return None
    return lo + found[-1][0] + 1, timings


def _chain(lease: Lease, plan: _PausePlan, pieces: dict[int, np.ndarray], words: list[tuple[int, str]],
           added: dict[str, str], first: int, started: list[int] | None = None
           ) -> tuple[int, list[SpeechTimings]] | None:
    """The pieces ``pieces`` (index -> audio, in order) aligned one after another from word ``first``: (the word
    after the last one aligned, their timings); None as soon as one fails (``_chain_piece``). ``started`` gets
    the word the first speech piece was found to start at."""
    parts: list[SpeechTimings] = []
    for k, piece in pieces.items():
        if plan.quiet[k]:
            continue  # a long pause or silence before or after the speech: no words there
        step = _chain_piece(lease, plan, k, piece, words, added, first, None if parts else started)
        if step is None:
            return None
        first, timings = step
        parts.append(timings)
    return first, parts


def align_chain(pieces: dict[int, np.ndarray], plan: _PausePlan, words: list[tuple[int, str]],
                added: dict[str, str], guess: int) -> tuple[int, tuple[int, list[SpeechTimings]] | None]:
    """The helper process's share of ``_align_at_pauses`` (workers.py): its pieces chained from the word its
    first speech piece starts at, which the other process is still working out. That piece is aligned from
    ``guess`` (an estimate); when it starts at another word it is aligned again from that word. Returns (the
    word the chain started from, ``_chain``'s result); the caller uses it only if it stopped at that word."""
    with lease_decoder(**FAST_ALIGN) as lease:
        started: list[int] = []
        result = _chain(lease, plan, pieces, words, added, guess, started)
        if started and started[0] != guess and not lease.discard:
            guess, result = started[0], _chain(lease, plan, pieces, words, added, started[0])
        return (-1, None) if lease.discard else (guess, result)  # pocketsphinx raised: nothing to trust


def _align_at_pauses(lease: Lease, audio16k: np.ndarray, words: list[tuple[int, str]],
                     added: dict[str, str]) -> list[SpeechTimings] | None:
    """Timings of a long file cut at its pauses, each piece decoded once for its words and once for its phones.

    Every pause of at least MIN_PAUSE_S that leaves pieces of at least MIN_PIECE_S cuts the file
    (``speech.pause_cuts``). Each piece gets a word pass with the grammar that locates windows (it may stop
    after any word, and start up to ENTRY_SLACK words either side of where the previous piece stopped), then
    the phone pass inside the words it found: the locating pass is the word pass, so no audio is decoded three
    times. Pieces without speech (long silences before, between or after the words) get no words. None, and the
    file goes to the located windows (``_pieces``), when a piece is over MAX_SEGMENT_S (no pause to cut at), when
    one does not start at the word after the previous piece's last (a transcript that does not match the audio,
    or a word lost at a cut), when a word runs into a cut, when the last piece does not end with the transcript's
    last word, or when pocketsphinx fails.

    The later pieces (about half the audio) are aligned in the helper process (workers.py) while this one aligns
    the first ones, from the word where their speech is expected to start (``align_chain``). Its result is used
    only when it started at the word this process stopped at: then it is what this process would have found
    (primed decoders); otherwise, or when the helper fails, this process aligns those pieces itself.
    """
    plan = _pause_plan(audio16k)
    if plan is None:
        return None
    pieces = {k: audio16k[a:b] for k, (a, b) in enumerate(plan.bounds)}
    speaking = [k for k in pieces if not plan.quiet[k]]
    split = len(pieces)
    if len(speaking) >= 2:
        share = workers.helper_share([(pieces[k], 0.0) for k in speaking])
        split = speaking[len(speaking) - share]
    mine = {k: v for k, v in pieces.items() if k < split}
    theirs = {k: v for k, v in pieces.items() if k >= split}
    if theirs:
        guess = round(len(words) * plan.speech_before[split][0] / max(1, plan.speech_total))
        seconds = sum(len(v) for v in theirs.values()) / SPHINX_RATE
        head, reply = workers.run_shared("align", (theirs, plan, words, added, guess),
                                         lambda: _chain(lease, plan, mine, words, added, 0), seconds)
    else:
        head, reply = _chain(lease, plan, mine, words, added, 0), None
    if head is None:
        return None
    first, parts = head
    if theirs:
        tail = reply[1] if reply is not None and reply[0] == first else _chain(lease, plan, theirs, words, added,
                                                                                first)
        if tail is None:
            return None
        first, rest = tail
        parts = parts + rest
    return parts if first == len(words) else None


def _is_quiet(audio16k: np.ndarray, reference: np.ndarray) -> bool:
    """No 10 ms frame of ``audio16k`` reaches a tenth of the loud frames (95th percentile) of ``reference``."""
    return int((frame_energy(audio16k) > speech_threshold(frame_energy(reference))).sum()) < 10


def align(audio16k: np.ndarray, transcript: str) -> tuple[SpeechTimings, list[TranscriptWord]]:
    """Word and phone timings of ``transcript`` spoken in 16 kHz mono audio.

    Returns the timings (SpeechPhone.word_index indexes the returned transcript words; SpeechTimings.words
    has one entry per aligned transcript word, with text = its transcript index) and the transcript words.
    Numbers, abbreviations and words pocketsphinx's dictionary lacks are pronounced by espeak-ng
    (transcript.py); words with no pronunciation at all are warned about and timed from their neighbours.
    Raises AlignmentError when nothing in the transcript is alignable.
    """
    with ExitStack() as stack:
        fast = stack.enter_context(lease_decoder(**FAST_ALIGN))
        transcript_read: Transcript = read_transcript(transcript, _dictionary_lookup(fast.decoder))
        tr_words, added = transcript_read.words, transcript_read.added
        alignable = [(index, token) for index, word in enumerate(tr_words) for token in word.tokens]
        if not alignable:
            raise AlignmentError("no word of the transcript can be pronounced; check the transcript (English "
                                 "words, numbers, abbreviations) or leave it out")
        if transcript_read.unknown:
            warnings.warn(f"no pronunciation found, timed from their neighbours: "
                          f"{', '.join(transcript_read.unknown[:10])}", AlignmentFallbackWarning, stacklevel=2)
        result = SpeechTimings(method="aligned")
        retries: dict[int, Lease] = {}
        phones = None
        parts = _align_at_pauses(fast, audio16k, alignable, added) if len(audio16k) > MAX_SEGMENT_S * SPHINX_RATE \
            else None
        if fast.discard:
            fast = stack.enter_context(lease_decoder(**FAST_ALIGN))
        for part in parts or []:
            result.phones.extend(part.phones)
            result.words.extend(part.words)
        for start, end, share in [] if parts is not None else _pieces(fast, audio16k, alignable, added):
            offset, piece = start / SPHINX_RATE, audio16k[start:end]
            if not share and _is_quiet(piece, audio16k):
                continue  # a pause after the last word: silence, nothing to align or recognize
            try:
                try:
                    part = _align_segment(fast, piece, offset, share, added)
                except AlignmentError as error:
                    if not share:
                        raise
                    for k, settings in enumerate(RETRY_ALIGN):
                        if k not in retries or retries[k].discard:
                            retries[k] = stack.enter_context(lease_decoder(**settings))
                        try:
                            part = _align_segment(retries[k], piece, offset, share, added)
                            break
                        except AlignmentError:
                            pass
                    else:
                        raise error
            except AlignmentError as error:
                warnings.warn(f"alignment failed for {offset:.1f}-{end / SPHINX_RATE:.1f} s ({error}); "
                              "using phone recognition there", AlignmentFallbackWarning, stacklevel=2)
                if phones is None:
                    phones = stack.enter_context(lease_decoder(**phone_settings()))
                part = recognize_segment(piece, offset, phones.decoder, None, words=False)
                result.method = "mixed"
            result.phones.extend(part.phones)
            result.words.extend(part.words)
            if fast.discard:
                fast = stack.enter_context(lease_decoder(**FAST_ALIGN))
    if result.method == "mixed" and not result.words:
        result.method = "recognized"
    return result, tr_words
