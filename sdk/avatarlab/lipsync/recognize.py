"""Recognition without a transcript: pocketsphinx's word LM finds the words, then they are aligned for the phones.

The audio is cut into pieces at its pauses (``recognition_pieces``), about half of them decoded in a helper
process when there are two or more (workers.py: pocketsphinx holds the GIL). Each piece is decoded twice on one
pooled decoder: a word pass with the en-US word LM over its 10,000 most likely words (WORD_SETTINGS,
vocabulary.py; tuned for speed and accuracy on training voices), then a phone pass inside the
word boundaries it found (``set_alignment``, as align.py does with a transcript). Phones of dictionary words
fit the sound better than a free phone loop, and the two passes cost less than the old word pass alone
(docs/lipsync.md, "Speed"). A piece where no word is found, or whose alignment fails, falls back to the
phone loop (pocketsphinx's phone LM, allphone), which align.py also uses for lines it cannot align.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import numpy as np

from .speech import (
    DEFAULT_SEARCH, SPHINX_RATE, Lease, SpeechPhone, SpeechTimings, SpeechWord, base_word, frame_seconds, is_filler,
    lease_decoder, model_path, new_decoder, pause_cuts, prime, silence_phones, split_at_silences, to_pcm, word_phones,
)
from .workers import decode_shared


def phone_settings() -> dict:
    """Phone recognition: pocketsphinx's phone LM (allphone), tuned for phones rather than words."""
    return {"allphone": model_path("en-us-phone.lm.bin"), "lw": 2.0, "pip": 0.3, "beam": 1e-200, "pbeam": 1e-20}


#: Word recognition with pocketsphinx's en-US word LM, chosen by measurement on training voices (Festival ked,
#: Flite awb and rms; docs/lipsync.md): no second (flat-lexicon) pass and no best-path rescoring, acoustic scores
#: on every second frame with the best 4 Gaussians, beams narrower than the defaults (1e-48, 7e-29), and only
#: the 10,000 most likely words (``word_settings`` adds vocabulary.py's dictionary). The beams keep a margin:
#: at 1e-30 the search loses its path on some lines and the words fall apart (6-class accuracy 0.80 -> 0.70).
WORD_SETTINGS: dict = {"fwdflat": False, "bestpath": False, "ds": 2, "topn": 4,
                       "beam": 1e-35, "wbeam": 1e-22, "pbeam": 1e-35}


def word_settings() -> dict:
    """WORD_SETTINGS with the recognition vocabulary's dictionary (written on first use)."""
    from .vocabulary import dictionary_path

    return {**WORD_SETTINGS, "dict": dictionary_path()}


def phone_decoder():
    """A new phone-recognition decoder (``recognize`` itself reuses pooled ones)."""
    return new_decoder(**phone_settings())


def word_decoder():
    """A new word-recognition decoder (``recognize`` itself reuses pooled ones)."""
    return new_decoder(**word_settings())


def _decode(decoder, pcm: bytes) -> list:
    prime(decoder, DEFAULT_SEARCH)  # the same result whatever this decoder decoded before
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return list(decoder.seg())


def recognize_segment(audio16k: np.ndarray, offset_s: float, phones_dec, words_dec, words: bool = True) -> SpeechTimings:
    """Phones (and words, unless ``words`` is False) of one segment; times in seconds of the whole audio."""
    pcm = to_pcm(audio16k)
    found_words = []
    if words:
        for seg in _decode(words_dec, pcm):
            if not is_filler(seg.word):
                found_words.append(SpeechWord(base_word(seg.word), frame_seconds(seg.start_frame, offset_s),
                                              frame_seconds(seg.end_frame + 1, offset_s)))
    phones = []
    for seg in _decode(phones_dec, pcm):
        start, end = frame_seconds(seg.start_frame, offset_s), frame_seconds(seg.end_frame + 1, offset_s)
        middle = (start + end) / 2
        owner = next((i for i, w in enumerate(found_words) if w.start <= middle < w.end), None)
        phones.append(SpeechPhone(seg.word, start, end, owner))
    return SpeechTimings(found_words, phones, "recognized")


def recognize_words(audio16k: np.ndarray, offset_s: float, lease: Lease) -> SpeechTimings | None:
    """Recognized words of one segment and their aligned phones; None when none is found or alignment fails."""
    pcm, decoder = to_pcm(audio16k), lease.decoder
    try:
        if all(is_filler(seg.word) for seg in _decode(decoder, pcm)):  # word pass
            return None
        decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)  # phone pass inside the words found
        decoder.end_utt()
        alignment = decoder.get_alignment()
    except RuntimeError:
        lease.discard = True  # do not reuse a decoder in an unknown state
        return None
    if alignment is None:
        return None
    result = SpeechTimings(method="recognized")
    for entry in alignment:
        name = base_word(entry.name)
        if is_filler(name):
            result.phones.extend(silence_phones(entry, offset_s))
            continue
        result.phones.extend(word_phones(entry, offset_s, len(result.words)))
        result.words.append(SpeechWord(name, frame_seconds(entry.start, offset_s),
                                       frame_seconds(entry.start + entry.duration, offset_s)))
    return result if result.words else None


def recognition_pieces(audio16k: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges tiling the audio: cut at every pause of 0.25 s or more that leaves pieces of at least 3 s
    (``pause_cuts``; pieces can be decoded on two cores), pieces over MAX_SEGMENT_S further cut at silences."""
    bounds = [0, *pause_cuts(audio16k), len(audio16k)]
    return [(a + s, a + e) for a, b in zip(bounds, bounds[1:]) for s, e in split_at_silences(audio16k[a:b])]


def decode_pieces(pieces: Sequence[tuple[np.ndarray, float]], words: bool = True) -> list[SpeechTimings]:
    """Each piece's timings (pieces: 16 kHz audio and its offset in seconds), on this process's pooled decoders."""
    out = []
    with ExitStack() as stack:
        word_lease = stack.enter_context(lease_decoder(**word_settings())) if words else None
        phones = None
        for piece, offset in pieces:
            part = recognize_words(piece, offset, word_lease) if word_lease is not None else None
            if part is None:
                if phones is None:
                    phones = stack.enter_context(lease_decoder(**phone_settings()))
                part = recognize_segment(piece, offset, phones.decoder, None, words=False)
            out.append(part)
            if word_lease is not None and word_lease.discard:  # pocketsphinx raised: a fresh one for the rest
                word_lease = stack.enter_context(lease_decoder(**word_settings()))
    return out


def recognize(audio16k: np.ndarray, words: bool = True) -> SpeechTimings:
    """Phones and words of 16 kHz mono audio without a transcript, decoded piece by piece (``recognition_pieces``;
    with two or more pieces, about half the audio in a helper process: workers.py).

    ``words=False`` skips the word LM: phones from the phone loop only (faster, less accurate).
    """
    pieces = [(audio16k[start:end], start / SPHINX_RATE) for start, end in recognition_pieces(audio16k)]
    result = SpeechTimings(method="recognized")
    for part in decode_shared(pieces, words, decode_pieces):
        merge(result, part)
    return result


def merge(into: SpeechTimings, part: SpeechTimings) -> None:
    """Append a later segment's timings, renumbering its word indices."""
    shift = len(into.words)
    into.words.extend(part.words)
    for p in part.phones:
        index = None if p.word_index is None else p.word_index + shift
        into.phones.append(SpeechPhone(p.phone, p.start, p.end, index, p.stressed))
