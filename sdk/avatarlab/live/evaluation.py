"""Frame-level viseme-class accuracy: how the recognition and streaming paths are scored.

Ground truth is a timeline with exact phone times (our engine's, or espeak-ng's phoneme events).
Besides the 15 Oculus visemes, scores are given on 7 mouth shapes, because several visemes look alike
(DD, kk, nn, SS, TH differ mostly inside the mouth), and on 6 coarse classes that every lip-sync system can
show (so ours compares with Rhubarb's mouth shapes or a browser detector): silence, closed (p b m), f/v,
open, round and other. Closures get their own figures, because a missed or smeared p/b/m is what viewers see:
the closure share (closures the prediction shows closed within 20 ms) and the precision of closed frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import OCULUS_VISEMES, VISEME_INDEX

MOUTH_SHAPES: dict[str, str] = {
    "PP": "closed", "FF": "labiodental", "ou": "round", "oh": "round", "RR": "round", "CH": "round",
    "aa": "open", "E": "spread", "ih": "spread", "TH": "tongue", "DD": "tongue", "kk": "tongue",
    "nn": "tongue", "SS": "tongue", "sil": "rest",
}
SHAPE_NAMES = tuple(dict.fromkeys(MOUTH_SHAPES[v] for v in OCULUS_VISEMES))
#: viseme index -> mouth-shape index
SHAPE_OF_VISEME = np.array([SHAPE_NAMES.index(MOUTH_SHAPES[v]) for v in OCULUS_VISEMES], dtype=np.int64)


def frame_labels(spans: list[tuple[str, float, float]], times: np.ndarray) -> np.ndarray:
    """Viseme index at each time, from (viseme name, start s, end s) spans tiling the audio."""
    starts = np.array([s for _, s, _ in spans])
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(spans) - 1)
    return np.array([VISEME_INDEX[spans[i][0]] for i in index], dtype=np.int64)


def frame_times(duration_s: float, fps: float = 100.0) -> np.ndarray:
    """Centres of the frames scored over ``duration_s`` seconds."""
    return (np.arange(int(duration_s * fps)) + 0.5) / fps


def timeline_labels(phonemes, sample_rate: int, duration_s: float, fps: float = 100.0) -> np.ndarray:
    """Viseme index per frame of a timeline's phonemes (anything with symbol, start, end in samples)."""
    from ..animation import viseme_of

    spans = [(viseme_of(p.symbol), p.start / sample_rate, p.end / sample_rate) for p in phonemes]
    return frame_labels(spans, frame_times(duration_s, fps))


def accuracy(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """(15-viseme accuracy, 7-mouth-shape accuracy) over frames both cover."""
    n = min(len(truth), len(predicted))
    if n == 0:
        return 0.0, 0.0
    t, p = np.asarray(truth[:n]), np.asarray(predicted[:n])
    return float(np.mean(t == p)), float(np.mean(SHAPE_OF_VISEME[t] == SHAPE_OF_VISEME[p]))


#: The 6 coarse classes, grouped the way Rhubarb's mouth shapes group sounds: open = its C/D (ɛ æ a ʌ),
#: round = its E/F (o ɔ u w ɚ), other = its B/H (i ɪ and the consonants shaped inside the mouth, ʃ included).
COARSE_CLASSES: tuple[str, ...] = ("silence", "closed", "fv", "open", "round", "other")
COARSE_OF: dict[str, str] = {
    "sil": "silence", "PP": "closed", "FF": "fv", "aa": "open", "E": "open", "oh": "round", "ou": "round",
    "RR": "round", "ih": "other", "TH": "other", "DD": "other", "kk": "other", "nn": "other", "SS": "other",
    "CH": "other",
}
#: viseme index -> coarse-class index
COARSE_OF_VISEME = np.array([COARSE_CLASSES.index(COARSE_OF[v]) for v in OCULUS_VISEMES], dtype=np.int64)
CLOSED = COARSE_CLASSES.index("closed")
CLOSURE_TOLERANCE_S = 0.02


def coarse_labels(visemes: np.ndarray) -> np.ndarray:
    """Coarse-class index of each viseme index."""
    return COARSE_OF_VISEME[np.asarray(visemes, dtype=np.int64)]


def closed_runs(closed: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame ranges of each maximal run of True: one per closure (p b m)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(closed, dtype=np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


@dataclass(frozen=True)
class Scores:
    """Counts behind the coarse figures; counts add up across lines and sentences (``a + b``)."""

    frames: int = 0
    coarse_correct: int = 0
    closures: int = 0  # p/b/m closures in the truth
    closures_shown: int = 0  # of them, shown closed within the tolerance
    shown_closed: int = 0  # frames the prediction shows closed
    shown_closed_truly: int = 0  # of them, closed in the truth

    def __add__(self, other: "Scores") -> "Scores":
        return Scores(*(a + b for a, b in zip(self.counts(), other.counts())))

    def counts(self) -> tuple[int, ...]:
        return (self.frames, self.coarse_correct, self.closures, self.closures_shown, self.shown_closed,
                self.shown_closed_truly)

    @property
    def coarse_accuracy(self) -> float:
        """Share of frames on the right coarse class (0 when there are none)."""
        return self.coarse_correct / self.frames if self.frames else 0.0

    @property
    def closure_share(self) -> float | None:
        """Share of closures shown closed within the tolerance; None without closures."""
        return self.closures_shown / self.closures if self.closures else None

    @property
    def closed_precision(self) -> float | None:
        """Share of frames shown closed that are truly closed; None when none is shown closed."""
        return self.shown_closed_truly / self.shown_closed if self.shown_closed else None


def coarse_scores(truth: np.ndarray, predicted: np.ndarray, fps: float = 100.0,
                  tolerance_s: float = CLOSURE_TOLERANCE_S) -> Scores:
    """Score predicted viseme indices against true ones, frame by frame (over frames both cover).

    A closure counts as shown when any predicted frame from ``tolerance_s`` before its first frame to
    ``tolerance_s`` after its last one is closed: a mouth that closes a little early or late still closes.
    """
    n = min(len(truth), len(predicted))
    t, p = coarse_labels(np.asarray(truth)[:n]), coarse_labels(np.asarray(predicted)[:n])
    shown = p == CLOSED
    slack = int(round(tolerance_s * fps))
    runs = closed_runs(t == CLOSED)
    hits = sum(bool(shown[max(0, s - slack):e + slack].any()) for s, e in runs)
    return Scores(frames=n, coarse_correct=int(np.sum(t == p)), closures=len(runs), closures_shown=hits,
                  shown_closed=int(shown.sum()), shown_closed_truly=int(np.sum(shown & (t == CLOSED))))
