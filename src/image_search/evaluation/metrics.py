"""Evaluation metrics: LFW-style 10-fold verification accuracy, pairwise and BCubed clustering
scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(slots=True)
class VerificationResult:
    accuracy: float  # mean of the 10 test folds, in [0, 1]
    accuracy_std: float
    threshold: float  # mean cosine-similarity threshold chosen on the training folds
    pairs: int
    folds: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def verification_accuracy(
    scores: np.ndarray, same: np.ndarray, folds: np.ndarray
) -> VerificationResult:
    """10-fold verification as in the LFW protocol (Huang et al., "Labeled Faces in the Wild",
    2007): for each fold, the similarity threshold maximising accuracy on the other folds is
    applied to it.

    ``scores``: float (p,) cosine similarities; ``same``: bool (p,); ``folds``: int (p,) fold ids.
    """
    fold_ids = np.unique(folds)
    accuracies, thresholds = [], []
    for fold in fold_ids:
        train, test = folds != fold, folds == fold
        threshold = best_threshold(scores[train], same[train])
        thresholds.append(threshold)
        accuracies.append(float(((scores[test] >= threshold) == same[test]).mean()))
    return VerificationResult(
        accuracy=float(np.mean(accuracies)),
        accuracy_std=float(np.std(accuracies)),
        threshold=float(np.mean(thresholds)),
        pairs=len(scores),
        folds=len(fold_ids),
    )


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold (midpoint between consecutive sorted scores) with the best accuracy."""
    order = np.argsort(scores)
    sorted_scores, sorted_same = scores[order], same[order].astype(np.int64)
    # Predict "same" for scores >= threshold; threshold just above index i keeps i+1.. as same.
    negatives_below = np.concatenate([[0], np.cumsum(1 - sorted_same)])
    positives_above = np.concatenate([np.cumsum(sorted_same[::-1])[::-1], [0]])
    correct = negatives_below + positives_above
    best = int(np.argmax(correct))
    if best == 0:
        return float(sorted_scores[0]) - 1e-6
    if best == len(sorted_scores):
        return float(sorted_scores[-1]) + 1e-6
    return float((sorted_scores[best - 1] + sorted_scores[best]) / 2.0)


@dataclass(slots=True)
class ClusteringScores:
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f: float
    clusters: int  # predicted clusters of at least two faces
    noise: int  # faces left unclustered

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def clustering_scores(predicted: np.ndarray, truth: np.ndarray) -> ClusteringScores:
    """Pairwise precision/recall/F1 and BCubed precision/recall/F (Bagga & Baldwin 1998; Amigó
    et al., "A comparison of extrinsic clustering evaluation metrics", 2009).

    ``predicted``: int (n,) cluster labels, -1 = unclustered (each such face is its own
    singleton); ``truth``: int (n,) identity labels.
    """
    predicted = np.asarray(predicted, dtype=np.int64).copy()
    truth = np.asarray(truth, dtype=np.int64)
    noise = predicted < 0
    base = int(predicted.max(initial=-1)) + 1
    predicted[noise] = base + np.arange(int(noise.sum()))
    _, cluster_index = np.unique(predicted, return_inverse=True)
    _, class_index = np.unique(truth, return_inverse=True)
    joint = cluster_index.astype(np.int64) * (class_index.max() + 1) + class_index
    _, joint_index, joint_counts = np.unique(joint, return_inverse=True, return_counts=True)
    cluster_sizes = np.bincount(cluster_index)
    class_sizes = np.bincount(class_index)
    per_item_joint = joint_counts[joint_index]
    bcubed_precision = float(np.mean(per_item_joint / cluster_sizes[cluster_index]))
    bcubed_recall = float(np.mean(per_item_joint / class_sizes[class_index]))

    def pairs(counts: np.ndarray) -> float:
        counts = counts.astype(np.float64)
        return float(np.sum(counts * (counts - 1) / 2.0))

    true_positive = pairs(joint_counts)
    predicted_pairs, true_pairs = pairs(cluster_sizes), pairs(class_sizes)
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    return ClusteringScores(
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_harmonic(precision, recall),
        bcubed_precision=bcubed_precision,
        bcubed_recall=bcubed_recall,
        bcubed_f=_harmonic(bcubed_precision, bcubed_recall),
        clusters=int((cluster_sizes >= 2).sum()),
        noise=int(noise.sum()),
    )


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0
