"""The coarse lip-sync scores (6 classes, closure share, closed precision) on hand-made label sequences."""

from __future__ import annotations

import numpy as np
import pytest

from avatarlab.channels import OCULUS_VISEMES, VISEME_INDEX
from avatarlab.live.evaluation import (COARSE_CLASSES, COARSE_OF, Scores, closed_runs, coarse_labels, coarse_scores,
                                       frame_labels)


def _seq(*runs: tuple[str, int]) -> np.ndarray:
    """('PP', 3), ('aa', 2) -> frame viseme indices PP PP PP aa aa."""
    return np.array([VISEME_INDEX[v] for v, k in runs for _ in range(k)], dtype=np.int64)


def test_every_viseme_has_one_coarse_class() -> None:
    assert set(COARSE_OF) == set(OCULUS_VISEMES)
    assert set(COARSE_OF.values()) == set(COARSE_CLASSES)
    assert [COARSE_CLASSES[i] for i in coarse_labels(_seq(("sil", 1), ("PP", 1), ("FF", 1), ("aa", 1), ("ou", 1),
                                                            ("SS", 1)))] == list(COARSE_CLASSES)


def test_coarse_accuracy_counts_look_alike_visemes_as_right() -> None:
    truth = _seq(("sil", 4), ("DD", 2), ("aa", 2), ("ou", 2))
    predicted = _seq(("sil", 4), ("SS", 2), ("E", 2), ("PP", 2))  # SS~DD (other), E~aa (open), PP is wrong
    assert coarse_scores(truth, predicted).coarse_accuracy == pytest.approx(8 / 10)


def test_only_frames_both_cover_are_scored() -> None:
    scores = coarse_scores(_seq(("aa", 5)), _seq(("aa", 3)))
    assert scores.frames == 3 and scores.coarse_accuracy == 1.0


def test_closed_runs_are_maximal_runs() -> None:
    assert closed_runs(np.array([0, 1, 1, 0, 0, 1, 0, 1], dtype=bool)) == [(1, 3), (5, 6), (7, 8)]
    assert closed_runs(np.zeros(4, dtype=bool)) == []


def test_a_closure_shown_within_20_ms_counts_and_a_later_one_does_not() -> None:
    truth = _seq(("aa", 10), ("PP", 5), ("aa", 10), ("PP", 5), ("aa", 10))
    # closures at frames 10-14 and 25-29; shown at frame 16 (2 frames = 20 ms at 100 fps after the last closed
    # frame: counts) and at frame 32 (3 frames after: missed)
    predicted = _seq(("aa", 16), ("PP", 1), ("aa", 15), ("PP", 1), ("aa", 7))
    scores = coarse_scores(truth, predicted, fps=100)
    assert (scores.closures, scores.closures_shown) == (2, 1)
    assert scores.closure_share == 0.5


def test_closed_precision_is_the_share_of_closed_frames_that_are_truly_closed() -> None:
    truth = _seq(("aa", 5), ("PP", 4), ("aa", 5))
    smeared = _seq(("aa", 3), ("PP", 8), ("aa", 3))  # held 2 frames too long on each side
    scores = coarse_scores(truth, smeared)
    assert scores.closure_share == 1.0
    assert scores.closed_precision == pytest.approx(4 / 8)


def test_without_closures_the_closure_figures_are_none() -> None:
    scores = coarse_scores(_seq(("aa", 3)), _seq(("aa", 3)))
    assert scores.closure_share is None and scores.closed_precision is None


def test_scores_add_up_across_lines() -> None:
    a = coarse_scores(_seq(("PP", 2), ("aa", 2)), _seq(("PP", 2), ("aa", 2)))
    b = coarse_scores(_seq(("PP", 2), ("aa", 2)), _seq(("aa", 4)))
    total = a + b
    assert total == Scores(frames=8, coarse_correct=6, closures=2, closures_shown=1, shown_closed=2,
                           shown_closed_truly=2)
    assert total.closure_share == 0.5 and total.closed_precision == 1.0


def test_frame_labels_feed_the_coarse_scores() -> None:
    times = (np.arange(30) + 0.5) / 100
    truth = frame_labels([("sil", 0.0, 0.1), ("PP", 0.1, 0.15), ("ou", 0.15, 0.3)], times)
    scores = coarse_scores(truth, truth)
    assert scores.coarse_accuracy == 1.0 and (scores.closures, scores.closures_shown) == (1, 1)
