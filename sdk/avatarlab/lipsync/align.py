"""Forced alignment of a transcript with pocketsphinx: word and phone timings.

Long audio is first cut at silences into segments (speech.split_at_silences) and the transcript's words are
shared among the segments in proportion to their speech; a segment whose alignment fails falls back to phone
recognition with an AlignmentFallbackWarning.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import AvatarLabError
from .recognize import phone_decoder, recognize_segment
from .speech import (
    SPHINX_RATE, SpeechPhone, SpeechTimings, SpeechWord, base_word, frame_energy, frame_seconds, split_at_silences,
    to_pcm,
)

_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


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


def _align_segment(decoder, audio16k: np.ndarray, offset_s: float, words: list[tuple[int, str]]) -> SpeechTimings:
    """Align ``words`` ((transcript index, dictionary word)) with one segment; raises AlignmentError."""
    if not words:
        raise AlignmentError("no alignable words in this segment")
    pcm = to_pcm(audio16k)
    try:
        decoder.set_align_text(" ".join(w for _, w in words))
        for second_pass in (False, True):
            if second_pass:
                decoder.set_alignment()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
        alignment = decoder.get_alignment()
    except RuntimeError as error:
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
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SPHINX_RATE, loglevel="FATAL")
    tr_words = transcript_words(transcript)
    alignable, sizes, unknown = [], [], []
    for index, word in enumerate(tr_words):
        for token in word.tokens:
            pronunciation = decoder.lookup_word(token)
            if pronunciation is None:
                unknown.append(token)
                continue
            alignable.append((index, token))
            sizes.append(len(pronunciation.split()))
        if not word.tokens:
            unknown.append(word.text)
    if not alignable:
        raise AlignmentError("no word of the transcript is in the pronunciation dictionary; check the "
                             "transcript (English words spelled out, digits written as words) or leave it out")
    if unknown:
        warnings.warn(f"not in the pronunciation dictionary, timed from their neighbours: {', '.join(unknown[:10])}",
                      AlignmentFallbackWarning, stacklevel=2)
    ranges = split_at_silences(audio16k)
    result = SpeechTimings(method="aligned")
    phones_dec = words_dec = None
    for (start, end), share in zip(ranges, _share_words(audio16k, ranges, alignable, sizes)):
        offset = start / SPHINX_RATE
        try:
            part = _align_segment(decoder, audio16k[start:end], offset, share)
        except AlignmentError as error:
            warnings.warn(f"alignment failed for {offset:.1f}-{end / SPHINX_RATE:.1f} s ({error}); "
                          "using phone recognition there", AlignmentFallbackWarning, stacklevel=2)
            if phones_dec is None:
                phones_dec = phone_decoder()
            part = recognize_segment(audio16k[start:end], offset, phones_dec, words_dec, words=False)
            result.method = "mixed"
        result.phones.extend(part.phones)
        result.words.extend(part.words)
    if result.method == "mixed" and not result.words:
        result.method = "recognized"
    return result, tr_words
