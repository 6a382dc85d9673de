"""Metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from image_search.evaluation.metrics import (
    best_threshold,
    clustering_scores,
    verification_accuracy,
)


def test_perfect_clustering_scores_one() -> None:
    truth = np.array([0, 0, 1, 1, 1, 2])
    scores = clustering_scores(np.array([5, 5, 7, 7, 7, -1]), truth)
    assert scores.bcubed_f == pytest.approx(1.0)
    assert scores.pairwise_f1 == pytest.approx(1.0)
    assert scores.clusters == 2 and scores.noise == 1


def test_bcubed_and_pairwise_on_a_worked_example() -> None:
    # Items a1 a2 b1 | b2 (noise): cluster 0 holds two a's and one b.
    truth = np.array([0, 0, 1, 1])
    predicted = np.array([0, 0, 0, -1])
    scores = clustering_scores(predicted, truth)
    # BCubed precision: a1, a2 -> 2/3 each, b1 -> 1/3, b2 (singleton) -> 1; mean = 2/3.
    assert scores.bcubed_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    # BCubed recall: a1, a2 -> 1, b1 -> 1/2, b2 -> 1/2; mean = 3/4.
    assert scores.bcubed_recall == pytest.approx(0.75)
    # Pairwise: predicted pairs (a1a2, a1b1, a2b1), true pairs (a1a2, b1b2), one in common.
    assert scores.pairwise_precision == pytest.approx(1 / 3)
    assert scores.pairwise_recall == pytest.approx(1 / 2)
    assert scores.pairwise_f1 == pytest.approx(0.4)


def test_all_noise_has_full_precision_and_low_recall() -> None:
    truth = np.array([0, 0, 0, 0])
    scores = clustering_scores(np.full(4, -1), truth)
    assert scores.bcubed_precision == pytest.approx(1.0)
    assert scores.bcubed_recall == pytest.approx(0.25)


def test_best_threshold_separates_when_possible() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    same = np.array([False, False, False, True, True, True])
    threshold = best_threshold(scores, same)
    assert 0.3 < threshold < 0.7


def test_ten_fold_verification_reports_test_fold_accuracy() -> None:
    rng = np.random.default_rng(1)
    same = np.tile([True, False], 500)
    scores = np.where(same, 0.8, 0.2) + rng.normal(0, 0.1, size=1000)
    folds = np.repeat(np.arange(10), 100)
    result = verification_accuracy(scores, same, folds)
    # Two Gaussians 6 sigma apart: the Bayes error at the midpoint is Phi(-3) = 0.13%.
    assert result.accuracy > 0.99
    assert 0.4 < result.threshold < 0.6
    assert result.folds == 10 and result.pairs == 1000
    flipped = verification_accuracy(scores, ~same, folds)
    assert flipped.accuracy < 0.6  # "higher is same" is the rule: swapped labels score badly
