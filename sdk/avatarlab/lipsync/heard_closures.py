"""p/b/m closures the word recognizer missed, put back where the live viseme network hears closed lips.

Without a transcript, a word pocketsphinx gets wrong takes its p/b/m with it, and the mouth never closes there.
The live network (avatarlab.live) hears closures from the sound alone, whatever the words. Each run of its
10 ms frames where a closed mouth is more likely than CLOSED_PROBABILITY, with no recognized p/b/m within
NEAR_S of it, becomes a p/b/m segment over the other phones there. Chosen on voices left out of both the
network's training and the recognizer's tuning (espeak-ng f3 and m3, Flite awb, Festival lj; docs/lipsync.md,
"Closures the recognizer missed"): closures shown rose from 0.12-0.95 to 0.94-1.0, 6-class accuracy by
0.02-0.14, except awb (0.844 -> 0.838), where pocketsphinx already finds them.
"""

from __future__ import annotations

import bisect
from dataclasses import replace

import numpy as np

from ..channels import OCULUS_VISEMES
from ..live import features as feat
from ..live.model import VisemeModel, VisemeStream
from ..resample import resample
from ..timeline import PhonemeTimeline, TimedPhoneme

CLOSED_PROBABILITY = 0.5
NEAR_S = 0.02
#: The symbol a heard closure gets: p, b and m animate alike (animation/phonemes.py).
CLOSURE_SYMBOL = "m"
#: The symbols that close the lips: a recognized one near a heard closure keeps it out; pipeline.py tightens them.
CLOSURE_SYMBOLS = frozenset("pbm")
#: Audio is heard in pieces of this many seconds: memory stays small on a 10-minute file, and the network's
#: streaming state makes the result the same as one call.
PIECE_S = 30.0
_PP = OCULUS_VISEMES.index("PP")


def heard_closures(audio: np.ndarray, rate: int, model: VisemeModel | None = None,
                   audio16: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Sample spans (at ``rate``) where the network's closed-mouth probability is above CLOSED_PROBABILITY.

    ``audio16``: the same audio already resampled to 16 kHz band-limited, when the caller has it."""
    if audio16 is None:
        audio16 = resample(np.asarray(audio, np.float32), rate, feat.SAMPLE_RATE)
    features, stream = feat.StreamingLogMel(), VisemeStream(model)
    step = int(PIECE_S * feat.SAMPLE_RATE)
    logprobs = np.concatenate([stream.push(features.push(audio16[a:a + step])) for a in range(0, len(audio16), step)]
                              + [stream.finish()])
    closed = np.concatenate([[False], np.exp(logprobs[:, _PP]) > CLOSED_PROBABILITY, [False]])
    edges = np.flatnonzero(np.diff(closed.astype(np.int8)))  # frame indices: run starts and ends, alternating
    at = np.minimum(len(audio), np.round((feat.HOP * edges + feat.SPAN_OFFSET) * rate / feat.SAMPLE_RATE)).astype(int)
    return [(int(a), int(b)) for a, b in zip(at[::2], at[1::2]) if b > a]


def add_missed_closures(timeline: PhonemeTimeline, spans: list[tuple[int, int]]) -> PhonemeTimeline:
    """``timeline`` with a CLOSURE_SYMBOL segment over each span (sorted, disjoint) that has no p/b/m within
    NEAR_S of it, nor a closure added for an earlier span. Linear in the segments: a 10-minute file has thousands."""
    near = int(NEAR_S * timeline.sample_rate)
    phonemes = timeline.phonemes
    found = [(p.start, p.end) for p in phonemes if p.symbol in CLOSURE_SYMBOLS]  # disjoint, so sorted both ways
    found_ends = [end for _, end in found]
    missed: list[tuple[int, int]] = []
    for start, end in spans:
        k = bisect.bisect_right(found_ends, start - near)  # the first recognized closure ending after start - near
        if (k < len(found) and found[k][0] < end + near) or (missed and missed[-1][1] > start - near):
            continue
        missed.append((start, end))
    starts = [p.start for p in phonemes]
    words = [_word_over(phonemes, bisect.bisect_right(starts, start) - 1, start, end) for start, end in missed]
    return PhonemeTimeline(timeline.sample_rate, _splice(phonemes, missed, words), timeline.words)


def _word_over(phonemes: list[TimedPhoneme], first: int, start: int, end: int) -> int | None:
    """The word of the segment (from index ``first`` on) that overlaps [start, end) most; None if none has one."""
    best, word = 0, None
    for p in phonemes[first:]:
        if p.start >= end:
            break
        overlap = min(p.end, end) - max(p.start, start)
        if p.word_index is not None and overlap > best:
            best, word = overlap, p.word_index
    return word


def _splice(phonemes: list[TimedPhoneme], spans: list[tuple[int, int]], words: list[int | None]) -> list[TimedPhoneme]:
    """Segments tiling the same range, each of ``spans`` (sorted, disjoint) a closure over what was there."""
    out: list[TimedPhoneme] = []
    k = 0
    for p in phonemes:
        cursor = p.start
        while k < len(spans) and spans[k][0] < p.end:
            start, end = spans[k]
            if start > cursor:
                out.append(replace(p, start=cursor, end=start))
            if end > p.end:  # the span runs on into the next segment
                cursor = p.end
                break
            out.append(TimedPhoneme(CLOSURE_SYMBOL, start, end, words[k]))
            cursor, k = end, k + 1
        if cursor < p.end:
            out.append(replace(p, start=cursor))
    return out
