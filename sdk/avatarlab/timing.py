"""Phoneme ids and the voice's own durations -> timeline segments in audio samples.

Piper feeds ``bos pad p1 pad p2 pad ... pN pad eos`` to the model, and its
duration predictor gives whole model frames per id, so ``sum(frames) * hop``
is exactly the audio length. A pad is the transition between its neighbours,
so each pad is split in half between them, except before a stop: the voice
closes a stop before its own id starts (the id's frames hold the release), so a
stop takes the whole pad before it. A word gap (espeak's " ") shorter than a
phrase break is the onset of the next word (the closure of its stop, the start
of its fricative) and joins the sound after it. Both were measured against the
audio's own landmarks and an independent aligner: docs/engine.md "Exact
timings", tests/test_tts_timing_offset.py. Stress marks fold into the sound
after them, length marks and diacritics into the sound before them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

from .timeline import PAUSE_SYMBOLS, SILENCE_SYMBOL, TimedPhoneme, TimedWord
from .voice import VoiceConfig

_STRESS_LEVEL = {"ˈ": 2, "ˌ": 1}
#: The word gap symbol espeak puts between words of one phrase.
WORD_GAP = " "
#: A word gap at least this long is a pause of its own (the animation's phrase break, track.PHRASE_BREAK_S).
WORD_GAP_JOIN_MAX_S = 0.15
#: Sounds made with a closure before their release: they take the whole pad before them.
_STOPS = frozenset({"p", "b", "t", "d", "k", "g", "ɡ", "c", "ɟ", "q", "ʔ", "tʃ", "dʒ", "ts", "dz"})


def phoneme_ids(symbols: Sequence[str], config: VoiceConfig) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Piper's id sequence for a sentence, and for bos, each symbol and eos: (start, pad start, end) in ids."""
    id_map = config.phoneme_id_map
    ids: list[int] = []
    spans: list[tuple[int, int, int]] = []
    for symbol, pad in [("^", True), *((s, True) for s in symbols), ("$", False)]:
        start = len(ids)
        ids.extend(id_map[symbol])
        pad_start = len(ids)
        if pad:
            ids.extend(id_map["_"])
        spans.append((start, pad_start, len(ids)))
    return ids, spans


def _is_modifier(symbol: str) -> bool:
    return symbol == "ː" or all(unicodedata.combining(ch) for ch in symbol)


def sentence_segments(
    symbols: Sequence[str],
    word_indices: Sequence[int | None],
    spans: Sequence[tuple[int, int, int]],
    frames: np.ndarray,
    hop_length: int,
    offset: int,
    sentence_index: int,
    sample_rate: int,
) -> list[TimedPhoneme]:
    """Timeline segments of one sentence starting at sample ``offset``; they tile its audio exactly."""
    labelled = [("^", None), *zip(symbols, word_indices), ("$", None)]
    samples = _id_samples([s for s, _ in labelled], spans, frames, hop_length)
    join_max = WORD_GAP_JOIN_MAX_S * sample_rate
    merged: list[list] = []  # [symbol, samples, word_index, stress]
    pending_stress = 0
    pending_samples = 0
    for k, ((symbol, word_index), count) in enumerate(zip(labelled, samples)):
        if symbol in _STRESS_LEVEL or (
            symbol == WORD_GAP and count < join_max and _next_sound_in_word(labelled, k) is not None
        ):
            pending_stress = max(pending_stress, _STRESS_LEVEL.get(symbol, 0))
            pending_samples += count
        elif _is_modifier(symbol) and merged:
            merged[-1][0] += symbol
            merged[-1][1] += count
        else:
            merged.append([symbol, count + pending_samples, word_index, pending_stress])
            pending_stress = pending_samples = 0
    if pending_samples:  # a trailing stress mark: give its time to the last segment
        merged[-1][1] += pending_samples
    segments: list[TimedPhoneme] = []
    position = offset
    for symbol, count, word_index, stress in merged:
        segments.append(TimedPhoneme(symbol, position, position + count, word_index, stress, sentence_index))
        position += count
    return segments


def _id_samples(symbols: Sequence[str], spans: Sequence[tuple[int, int, int]], frames: np.ndarray,
                hop_length: int) -> list[int]:
    """Samples of each symbol: its ids' frames plus its share of the pads (half each side, all before a stop)."""
    samples = [int(frames[a:p].sum()) * hop_length for a, p, _ in spans]
    for k, (_, p, b) in enumerate(spans):
        pad = int(frames[p:b].sum()) * hop_length
        if k + 1 == len(spans):
            samples[k] += pad
        elif _is_stop(symbols[k + 1]):
            samples[k + 1] += pad
        else:
            samples[k] += pad - pad // 2
            samples[k + 1] += pad // 2
    return samples


def _is_stop(symbol: str) -> bool:
    return symbol in _STOPS


def _next_sound_in_word(labelled: Sequence[tuple[str, int | None]], k: int) -> int | None:
    """Index of the sound after position ``k`` when it starts a word (stress marks skipped), else None."""
    for j in range(k + 1, len(labelled)):
        symbol, word_index = labelled[j]
        if symbol in _STRESS_LEVEL:
            continue
        return j if word_index is not None and symbol not in PAUSE_SYMBOLS else None
    return None


def silence_segment(start: int, num_samples: int, sentence_index: int) -> TimedPhoneme:
    return TimedPhoneme(SILENCE_SYMBOL, start, start + num_samples, None, 0, sentence_index)


def word_timings(words: Sequence[str], segments: Sequence[TimedPhoneme]) -> list[TimedWord]:
    """Each word spans from its first to its last phoneme; a word espeak dropped gets a zero-length span."""
    spans: dict[int, list[int]] = {}
    stressed: set[int] = set()
    sentence_of: dict[int, int] = {}
    for segment in segments:
        if segment.word_index is None:
            continue
        span = spans.setdefault(segment.word_index, [segment.start, segment.end])
        span[0] = min(span[0], segment.start)
        span[1] = max(span[1], segment.end)
        sentence_of.setdefault(segment.word_index, segment.sentence_index)
        if segment.stress == 2:
            stressed.add(segment.word_index)
    result: list[TimedWord] = []
    last_end, last_sentence = 0, 0
    for index, text in enumerate(words):
        start, end = spans.get(index, (last_end, last_end))
        last_sentence = sentence_of.get(index, last_sentence)
        result.append(TimedWord(index, text, start, end, index in stressed, last_sentence))
        last_end = end
    return result
