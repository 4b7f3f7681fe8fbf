"""Phone recognition without a transcript: pocketsphinx's phone LM (allphone) for the phones, its word LM for words."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from .speech import (
    DEFAULT_SEARCH, SPHINX_RATE, SpeechPhone, SpeechTimings, SpeechWord, base_word, frame_seconds, is_filler,
    lease_decoder, new_decoder, prime, split_at_silences, to_pcm,
)


def _model(name: str) -> str:
    from pocketsphinx import get_model_path

    return get_model_path(f"en-us/{name}")


def phone_settings() -> dict:
    """Phone recognition: pocketsphinx's phone LM (allphone), tuned for phones rather than words."""
    return {"allphone": _model("en-us-phone.lm.bin"), "lw": 2.0, "pip": 0.3, "beam": 1e-200, "pbeam": 1e-20}


#: Word recognition: pocketsphinx's defaults (its en-US word LM).
WORD_SETTINGS: dict = {}


def phone_decoder():
    """A new phone-recognition decoder (``recognize`` itself reuses pooled ones)."""
    return new_decoder(**phone_settings())


def word_decoder():
    """A new word-recognition decoder (``recognize`` itself reuses pooled ones)."""
    return new_decoder(**WORD_SETTINGS)


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


def recognize(audio16k: np.ndarray, words: bool = True) -> SpeechTimings:
    """Phones and words of 16 kHz mono audio without a transcript; long audio is decoded segment by segment."""
    result = SpeechTimings(method="recognized")
    with lease_decoder(**phone_settings()) as phones, \
            (lease_decoder(**WORD_SETTINGS) if words else nullcontext()) as words_lease:
        words_dec = words_lease.decoder if words_lease is not None else None
        for start, end in split_at_silences(audio16k):
            part = recognize_segment(audio16k[start:end], start / SPHINX_RATE, phones.decoder, words_dec, words)
            merge(result, part)
    return result


def merge(into: SpeechTimings, part: SpeechTimings) -> None:
    """Append a later segment's timings, renumbering its word indices."""
    shift = len(into.words)
    into.words.extend(part.words)
    for p in part.phones:
        index = None if p.word_index is None else p.word_index + shift
        into.phones.append(SpeechPhone(p.phone, p.start, p.end, index, p.stressed))
