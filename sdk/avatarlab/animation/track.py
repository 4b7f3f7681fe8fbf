"""The timeline flattened into per-segment arrays the animation layers index by frame time.

Built once per timeline object (cached) so streaming calls on small frame ranges stay cheap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import numpy as np

from ..timeline import SILENCE_SYMBOL, PhonemeTimeline, TimedPhoneme
from .phonemes import NUM_FEATURES, PAUSE_SPEC, PhonemeSpec, spec_for

#: Pauses longer than this (or punctuation/sentence silences) end a phrase.
PHRASE_BREAK_S: Final = 0.15
#: Plateau margin of pause segments: fixed, so a pause extended past the timeline end keeps its onset shape.
PAUSE_MARGIN_S: Final = 0.04
#: Fraction of a phoneme's duration on each side of its dominance plateau.
PHONEME_MARGIN: Final = 0.35


@dataclass(frozen=True)
class Phrase:
    """A run of speech between phrase breaks."""

    start: float
    end: float  # +inf when the timeline ends before the phrase does
    key: int  # start sample: a stable id for random draws


@dataclass(frozen=True)
class StressGroup:
    """Consecutive primary-stressed segments of one word: where a nod or brow raise lands."""

    start: float
    end: float
    word_segments: int
    word_duration: float
    key: int
    zone: int
    zone_start: float  # gestures anticipating this group may not start before its zone does


@dataclass(frozen=True)
class Track:
    """Segment arrays in seconds; the first and last pauses extend to -inf/+inf (silence beyond the timeline)."""

    start: np.ndarray
    end: np.ndarray
    core_lo: np.ndarray
    core_hi: np.ndarray
    zone: np.ndarray  # sentence silences start new zones: later zones are never looked ahead into
    target: np.ndarray  # (M, F)
    alpha: np.ndarray
    tau_ant: np.ndarray
    tau_carry: np.ndarray
    viseme: np.ndarray  # (M, 15)
    alpha_vis: np.ndarray
    tau_vis_ant: np.ndarray
    tau_vis_carry: np.ndarray
    critical: np.ndarray  # (M,) CRITICAL_* code
    pause_onsets: np.ndarray  # starts of phrase-break pauses (s)
    phrases: tuple[Phrase, ...]
    stress_groups: tuple[StressGroup, ...]

    def __len__(self) -> int:
        return int(self.start.shape[0])


def _is_break(seg: TimedPhoneme, duration: float) -> bool:
    return seg.is_pause and (seg.symbol != " " or duration >= PHRASE_BREAK_S)


def _segments(timeline: PhonemeTimeline) -> list[tuple[TimedPhoneme, PhonemeSpec]]:
    """Non-empty segments with their specs; bos/eos virtual pauses make the edges silent."""
    return [(seg, spec_for(seg.symbol)) for seg in timeline.phonemes if seg.end > seg.start]


def _phrases(segs: list[TimedPhoneme], sr: int) -> tuple[Phrase, ...]:
    phrases: list[Phrase] = []
    open_start: int | None = None
    for seg in segs:
        if _is_break(seg, seg.num_samples / sr):
            if open_start is not None:
                phrases.append(Phrase(open_start / sr, seg.start / sr, open_start))
                open_start = None
        elif not seg.is_pause and open_start is None:
            open_start = seg.start
    if open_start is not None:
        phrases.append(Phrase(open_start / sr, float("inf"), open_start))
    return tuple(phrases)


def _stress_groups(segs: list[TimedPhoneme], zones: np.ndarray, sr: int) -> tuple[StressGroup, ...]:
    zone_of = {id(seg): int(z) for seg, z in zip(segs, zones)}
    zone_start: dict[int, float] = {}
    for seg, z in zip(segs, zones):
        zone_start.setdefault(int(z), seg.start / sr)
    words: dict[int, list[TimedPhoneme]] = {}
    for seg in segs:
        if seg.word_index is not None and not seg.is_pause:
            words.setdefault(seg.word_index, []).append(seg)
    groups: list[StressGroup] = []
    for word in words.values():
        duration = (word[-1].end - word[0].start) / sr
        run: list[TimedPhoneme] = []
        for seg in word + [None]:  # type: ignore[list-item]
            if seg is not None and seg.stress == 2 and (not run or run[-1].end == seg.start):
                run.append(seg)
                continue
            if run:
                groups.append(StressGroup(run[0].start / sr, run[-1].end / sr, len(word), duration, run[0].start,
                                          zone_of[id(run[0])], zone_start[zone_of[id(run[0])]]))
            run = [seg] if seg is not None and seg.stress == 2 else []
    groups.sort(key=lambda g: g.start)
    return tuple(groups)


def build_track(timeline: PhonemeTimeline) -> Track:
    """Flatten the timeline; silence is assumed before its start and after its end."""
    sr = timeline.sample_rate
    pairs = _segments(timeline)
    if not pairs or not pairs[0][1].is_pause:
        pairs.insert(0, (TimedPhoneme("^", 0, 0, None), PAUSE_SPEC))
    last_real_end = pairs[-1][0].end
    if not pairs[-1][1].is_pause or pairs[-1][0].symbol == " ":
        pairs.append((TimedPhoneme("$", last_real_end, last_real_end, None), PAUSE_SPEC))
    m = len(pairs)
    start = np.array([p.start / sr for p, _ in pairs])
    end = np.array([p.end / sr for p, _ in pairs])
    duration = end - start
    is_pause = np.array([s.is_pause for _, s in pairs])
    margin = np.where(is_pause, np.minimum(PHONEME_MARGIN * duration, PAUSE_MARGIN_S), PHONEME_MARGIN * duration)
    core_lo, core_hi = start + margin, end - margin
    start[0] = core_lo[0] = -np.inf
    end[-1] = core_hi[-1] = np.inf
    silence = np.array([p.symbol == SILENCE_SYMBOL for p, _ in pairs])
    sentence = np.array([p.sentence_index for p, _ in pairs])
    new_zone = silence.copy()
    new_zone[1:] |= silence[:-1] | (sentence[1:] != sentence[:-1])
    zone = np.cumsum(new_zone)
    specs = [s for _, s in pairs]
    real = [p for p, _ in pairs]
    pause_onsets = np.array([p.start / sr for p in real if _is_break(p, p.num_samples / sr) and p.num_samples > 0])
    return Track(
        start=start, end=end, core_lo=core_lo, core_hi=core_hi, zone=zone,
        target=np.stack([s.target for s in specs]).reshape(m, NUM_FEATURES),
        alpha=np.stack([s.alpha for s in specs]),
        tau_ant=np.stack([s.tau_ant for s in specs]),
        tau_carry=np.stack([s.tau_carry for s in specs]),
        viseme=np.stack([s.viseme for s in specs]),
        alpha_vis=np.array([s.alpha_vis for s in specs]),
        tau_vis_ant=np.array([s.tau_vis[0] for s in specs]),
        tau_vis_carry=np.array([s.tau_vis[1] for s in specs]),
        critical=np.array([s.critical for s in specs]),
        pause_onsets=pause_onsets,
        phrases=_phrases(real, sr),
        stress_groups=_stress_groups(real, zone, sr),
    )


class TrackCache:
    """Remembers the track of the last timeline seen; rebuilt when the timeline grows or changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int, int, int] | None = None
        self._timeline: PhonemeTimeline | None = None
        self._track: Track | None = None

    def get(self, timeline: PhonemeTimeline) -> Track:
        phonemes = timeline.phonemes
        key = (id(timeline), len(phonemes), phonemes[-1].end if phonemes else 0, timeline.sample_rate)
        with self._lock:
            if self._track is None or key != self._key or self._timeline is not timeline:
                self._track, self._key, self._timeline = build_track(timeline), key, timeline
            return self._track
