"""Forced alignment of a transcript with pocketsphinx: word and phone timings.

Each stretch of audio is aligned in two passes on a pooled decoder: a word pass (``set_align_text``, which also
picks alternative pronunciations and optional silences) and a phone pass (``set_alignment``) inside the word
boundaries it found. Decoder settings are tuned for speed (FAST_ALIGN); a stretch that fails with them is
retried with pocketsphinx's defaults, and one that still fails falls back to phone recognition with an
AlignmentFallbackWarning.

Long audio is first cut at silences into segments (speech.split_at_silences) and the transcript's words are
shared among the segments in proportion to their speech.
"""

from __future__ import annotations

import re
import warnings
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from ..errors import AvatarLabError
from .recognize import phone_settings, recognize_segment
from .speech import (
    SPHINX_RATE, Lease, SpeechPhone, SpeechTimings, SpeechWord,
    base_word, frame_energy, frame_seconds, is_filler, lease_decoder, split_at_silences, to_pcm,
)

_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
#: Decoder settings for alignment, chosen by measurement (docs/lipsync.md, "Speed"): acoustic scores on every
#: second frame (ds), the best 2 Gaussians per codebook (topn), and beams wider than the defaults so that the
#: path is not lost with ds=2. Together about 2x faster than the defaults with the same word-boundary error.
FAST_ALIGN = {"lm": None, "ds": 2, "topn": 2, "beam": 1e-64, "wbeam": 1e-40, "pbeam": 1e-64}
#: pocketsphinx's own settings: the retry for a stretch the fast settings cannot align.
ACCURATE_ALIGN = {"lm": None}


class AlignmentError(AvatarLabError, RuntimeError):
    """The transcript could not be aligned with the audio (no alignable words, or pocketsphinx failed)."""


class AlignmentFallbackWarning(UserWarning):
    """Alignment failed for (part of) the audio; recognition was used there instead."""


@dataclass(frozen=True)
class TranscriptWord:
    text: str  # as written, outer punctuation removed
    tokens: tuple[str, ...]  # dictionary words pocketsphinx aligns ('well-known' -> 'well', 'known')


def transcript_words(transcript: str) -> list[TranscriptWord]:
    words = []
    for raw in transcript.split():
        text = raw.strip(".,!?;:\"()[]{}…—-'«»“”‘’")
        if not text:
            continue
        tokens = tuple(t for t in re.sub(r"[^a-z']+", " ", text.lower().replace("’", "'")).split() if t.strip("'"))
        words.append(TranscriptWord(text, tokens))
    return words


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _align_segment(lease: Lease, audio16k: np.ndarray, offset_s: float, words: list[tuple[int, str]]) -> SpeechTimings:
    """Align ``words`` ((transcript index, dictionary word)) with one segment; raises AlignmentError."""
    if not words:
        raise AlignmentError("no alignable words in this segment")
    pcm = to_pcm(audio16k)
    decoder = lease.decoder
    try:
        lease.prime()
        decoder.set_align_text(" ".join(w for _, w in words))
        _decode(decoder, pcm)  # word pass
        if decoder.hyp() is None:
            raise AlignmentError("pocketsphinx found no alignment")
        found = [base_word(seg.word) for seg in decoder.seg() if not is_filler(seg.word)]
        if found != [w for _, w in words]:  # the search did not reach the grammar's final state
            raise AlignmentError(f"the word pass ended after {len(found)} of {len(words)} words")
        decoder.set_alignment()
        _decode(decoder, pcm)  # phone pass, inside the word boundaries of the word pass
        alignment = decoder.get_alignment()
    except AlignmentError:
        raise
    except RuntimeError as error:
        lease.discard = True  # do not reuse a decoder in an unknown state
        raise AlignmentError(f"pocketsphinx could not align the transcript: {error}") from error
    if alignment is None:
        raise AlignmentError("pocketsphinx found no alignment")
    result = SpeechTimings(method="aligned")
    spoken = iter(words)
    for entry in alignment:
        name = base_word(entry.name)
        phones = [(p.name, p.start, p.start + p.duration) for p in entry]
        if name.startswith("<") or name.startswith("[") or name == "(NULL)":
            result.phones.extend(SpeechPhone("SIL", frame_seconds(s, offset_s), frame_seconds(e, offset_s))
                                 for _, s, e in phones)
            continue
        index, expected = next(spoken, (None, None))
        if expected is None or expected != name:
            raise AlignmentError(f"alignment returned {name!r} where {expected!r} was expected")
        vowels = [i for i, (p, _, _) in enumerate(phones) if p in _VOWELS]
        for i, (phone, s, e) in enumerate(phones):
            stressed = phone != "AH" or len(vowels) < 2 or i == vowels[0]
            result.phones.append(SpeechPhone(phone, frame_seconds(s, offset_s), frame_seconds(e, offset_s),
                                             index, stressed))
        start, end = frame_seconds(entry.start, offset_s), frame_seconds(entry.start + entry.duration, offset_s)
        result.words.append(SpeechWord(str(index), start, end))  # index for now; merged per transcript word later
    if next(spoken, None) is not None:
        raise AlignmentError("alignment ended before the transcript did")
    return result


def _share_words(audio16k: np.ndarray, ranges: list[tuple[int, int]], words: list[tuple[int, str]],
                 sizes: list[int]) -> list[list[tuple[int, str]]]:
    """Split the words among segments in proportion to each segment's speech (frames above the noise floor)."""
    if len(ranges) == 1:
        return [words]
    energy = frame_energy(audio16k)
    threshold = max(1e-4, 0.1 * float(np.percentile(energy, 95))) if energy.size else 1e-4
    hop = int(0.01 * SPHINX_RATE)
    speech = np.array([(energy[s // hop: e // hop] > threshold).sum() for s, e in ranges], dtype=float)
    bounds = np.cumsum(speech) / max(speech.sum(), 1.0)
    cumulative = np.cumsum(sizes) / max(sum(sizes), 1)
    shares, begin = [], 0
    for bound in bounds[:-1]:
        end = begin + int(np.searchsorted(cumulative[begin:], bound - 1e-9)) + (1 if begin < len(words) else 0)
        end = min(end, len(words))
        shares.append(words[begin:end])
        begin = end
    shares.append(words[begin:])
    return shares


def align(audio16k: np.ndarray, transcript: str) -> tuple[SpeechTimings, list[TranscriptWord]]:
    """Word and phone timings of ``transcript`` spoken in 16 kHz mono audio.

    Returns the timings (SpeechPhone.word_index indexes the returned transcript words; SpeechTimings.words
    has one entry per aligned transcript word, with text = its transcript index) and the transcript words.
    Words pocketsphinx's dictionary lacks (numbers, rare names) get no phones of their own; they are warned
    about. Raises AlignmentError when nothing in the transcript is alignable.
    """
    tr_words = transcript_words(transcript)
    with ExitStack() as stack:
        fast = stack.enter_context(lease_decoder(**FAST_ALIGN))
        alignable, sizes, unknown = [], [], []
        for index, word in enumerate(tr_words):
            for token in word.tokens:
                pronunciation = fast.decoder.lookup_word(token)
                if pronunciation is None:
                    unknown.append(token)
                else:
                    alignable.append((index, token))
                    sizes.append(len(pronunciation.split()))
            if not word.tokens:
                unknown.append(word.text)
        if not alignable:
            raise AlignmentError("no word of the transcript is in the pronunciation dictionary; check the "
                                 "transcript (English words spelled out, digits written as words) or leave it out")
        if unknown:
            warnings.warn(f"not in the pronunciation dictionary, timed from their neighbours: "
                          f"{', '.join(unknown[:10])}", AlignmentFallbackWarning, stacklevel=2)
        result = SpeechTimings(method="aligned")
        accurate = phones = None
        ranges = split_at_silences(audio16k)
        for (start, end), share in zip(ranges, _share_words(audio16k, ranges, alignable, sizes)):
            offset, piece = start / SPHINX_RATE, audio16k[start:end]
            try:
                try:
                    part = _align_segment(fast, piece, offset, share)
                except AlignmentError:
                    if not share:
                        raise
                    if accurate is None or accurate.discard:
                        accurate = stack.enter_context(lease_decoder(**ACCURATE_ALIGN))
                    part = _align_segment(accurate, piece, offset, share)
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
