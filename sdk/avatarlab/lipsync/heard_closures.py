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
_CLOSURES = frozenset("pbm")
#: Audio is heard in pieces of this many seconds: memory stays small on a 10-minute file, and the network's
#: streaming state makes the result the same as one call.
PIECE_S = 30.0
_PP = OCULUS_VISEMES.index("PP")
#: Feature frame j covers 16 kHz samples [HOP * j + _SPAN_OFFSET, HOP * (j + 1) + _SPAN_OFFSET) (live/session.py).
_SPAN_OFFSET = feat.WINDOW // 2 - feat.HOP // 2


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
    edges = np.flatnonzero(np.diff(closed.astype(np.int8)))
    to_rate = lambda j: min(len(audio), round((feat.HOP * j + _SPAN_OFFSET) * rate / feat.SAMPLE_RATE))  # noqa: E731
    return [(to_rate(a), to_rate(b)) for a, b in zip(edges[::2], edges[1::2]) if to_rate(b) > to_rate(a)]


def add_missed_closures(timeline: PhonemeTimeline, spans: list[tuple[int, int]]) -> PhonemeTimeline:
    """``timeline`` with a CLOSURE_SYMBOL segment over each span that has no p/b/m within NEAR_S of it."""
    near = int(NEAR_S * timeline.sample_rate)
    phonemes = list(timeline.phonemes)
    for start, end in spans:
        if not any(p.symbol in _CLOSURES and p.start < end + near and p.end > start - near for p in phonemes):
            phonemes = _overwrite(phonemes, start, end)
    return PhonemeTimeline(timeline.sample_rate, phonemes, timeline.words)


def _overwrite(phonemes: list[TimedPhoneme], start: int, end: int) -> list[TimedPhoneme]:
    """Segments tiling the same range with [start, end) a closure; it belongs to the word it overlaps most."""
    overlap = lambda p: min(p.end, end) - max(p.start, start)  # noqa: E731
    in_words = [p for p in phonemes if p.word_index is not None and overlap(p) > 0]
    word = max(in_words, key=overlap).word_index if in_words else None
    out: list[TimedPhoneme] = []
    for p in phonemes:
        if p.end <= start or p.start >= end:
            out.append(p)
            continue
        if p.start < start:
            out.append(replace(p, end=start))
        if p.start < end <= p.end:  # the one segment the span ends in
            out.append(TimedPhoneme(CLOSURE_SYMBOL, start, end, word))
        if p.end > end:
            out.append(replace(p, start=end))
    return out
