"""Calibrating a model pack's two assignment thresholds (auto-assign and suggestion, cosine
similarities to a person's prototypes) on a folder-per-person dataset, and measuring them.

Method (docs/evaluation.md, "Assignment thresholds"), an open-set identification protocol in the
spirit of the watch-list evaluations of Phillips et al. (FRVT 2002) and the open-set LFW protocol
of Best-Rowden et al. (IJCB 2014), with the product's own decision rule:

1. The people are split at random (fixed seed) into two disjoint halves: a calibration half and
   a held-out half. Everything below is done inside one half.
2. Each person with at least two faces is in the gallery: half of its faces (at least one,
   chosen at random) are its labelled faces, and its prototypes are chosen from them by the
   product's own selection (``people.prototypes.select_prototypes``, quality and diversity, at
   most ``MAX_AUTO_PROTOTYPES``). Its other faces (at most ``MAX_QUERIES_PER_PERSON``, so a
   few people with hundreds of photos do not dominate) are genuine queries.
3. Every face of a person with a single face is a stranger query: nobody in the gallery is
   right for it (in LFW these are thousands of real, unrelated people: the faces of a personal
   library that nobody will ever name).
4. Each query is scored like ``people.assignment.AssignmentService``: per person, the best
   similarity to one of its prototypes; auto-assigned to the best person when that is at or
   above the auto-assign threshold and no other person reaches the suggestion threshold; else
   every person (at most ``MAX_PERSONS_PER_FACE``) at or above the suggestion threshold gets a
   suggestion; else nothing.
5. For every suggestion threshold of a grid, the auto-assign threshold is the lowest at which
   auto-assign precision is at least ``TARGET_AUTO_PRECISION`` there and at every higher
   threshold. Of these pairs the one with the lowest review cost is chosen: one click per false
   suggestion (a reviewer rejects it) plus one per genuine face whose person is neither
   auto-assigned nor suggested (it must be labelled by hand) plus one per wrong
   auto-assignment. True suggestions cost nothing extra: they are accepted in bulk. So the
   suggestion threshold sits where a further suggestion is as likely wrong as right.
6. The chosen pair is then measured on the held-out half, where auto-assign precision must
   reach ``REQUIRED_AUTO_PRECISION``. The halves then swap roles, and of the two calibrations
   the one with the higher (more cautious) auto-assign threshold is the result.

Each half is resampled ``RESAMPLES`` times (other labelled faces, prototypes and queries) and
the outcomes pooled, so that one wrong auto-assignment among a few hundred does not decide the
threshold alone.

Run it with ``python -m image_search.evaluation.assignment DATASET --pack PACK``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from image_search.config import Settings
from image_search.evaluation.dataset import LabelledImages, list_dataset
from image_search.evaluation.runner import EMBEDDING_REVISION, embed_dataset
from image_search.people.assignment import MAX_PERSONS_PER_FACE
from image_search.people.prototypes import MAX_AUTO_PROTOTYPES, select_prototypes

# Auto-assign precision aimed at on the calibration half; the product's requirement (held out)
# is REQUIRED_AUTO_PRECISION, the difference is the safety margin.
TARGET_AUTO_PRECISION = 0.999
REQUIRED_AUTO_PRECISION = 0.995
# Fraction of a gallery person's faces that are labelled (the rest are queries).
LABELLED_FRACTION = 0.5
MAX_QUERIES_PER_PERSON = 10
# Each half is resampled this many times (other labelled faces and queries), and the outcomes
# pooled: one wrong auto-assignment among a few hundred would otherwise decide the threshold.
RESAMPLES = 5
# Thresholds are searched and stored with this resolution (cosine similarity).
THRESHOLD_STEP = 0.001
# What the JSON report keeps of each sweep entry.
SWEEP_FIELDS = (
    "suggestion_threshold",
    "auto_assign_threshold",
    "auto_assigned",
    "auto_precision",
    "suggestions",
    "suggestion_precision",
    "suggestion_recall",
    "missed",
    "review_cost",
)


@dataclass(slots=True)
class Gallery:
    """Labelled persons and the faces to assign, all indices into the dataset's images."""

    prototypes: np.ndarray  # float32 (p, d), L2-normalised rows
    prototype_person: np.ndarray  # int64 (p,) dataset person index of each prototype
    prototype_images: np.ndarray  # int64 (p,) image of each prototype
    labelled: np.ndarray  # int64 (l,) images used as the persons' labelled faces
    queries: np.ndarray  # int64 (q,) images to assign
    truth: np.ndarray  # int64 (q,) the query's person, -1 when nobody in the gallery is right

    @property
    def persons(self) -> int:
        return int(np.unique(self.prototype_person).size)


@dataclass(slots=True)
class PersonMatches:
    """Each query's best persons by their best prototype similarity, best first."""

    persons: np.ndarray  # int64 (q, k); -2 where fewer than k persons exist
    scores: np.ndarray  # float32 (q, k) cosine similarities; -inf where no person


@dataclass(slots=True)
class AssignmentOutcome:
    """What two-tier assignment does to a set of queries at one pair of thresholds."""

    auto_assign_threshold: float
    suggestion_threshold: float
    queries: int
    genuine: int  # queries whose person is in the gallery
    strangers: int
    auto_assigned: int
    auto_correct: int
    auto_precision: float  # auto_correct / auto_assigned (1.0 when nothing is assigned)
    auto_precision_lower95: float  # Wilson score lower bound of auto_precision
    auto_recall: float  # auto_correct / genuine
    strangers_auto_assigned: int
    suggestions: int  # pending suggestions created (a face may get several)
    true_suggestions: int
    suggestion_precision: float  # true_suggestions / suggestions (1.0 when none)
    reviewed_genuine: int  # genuine queries not auto-assigned: they reach the review queue
    suggestion_recall: float  # share of reviewed_genuine whose person is suggested
    strangers_suggested: int  # stranger queries with at least one suggestion
    missed: int  # genuine queries neither correctly auto-assigned nor suggested for their person
    coverage: float  # share of genuine queries correctly auto-assigned or suggested
    review_cost: int  # false suggestions + missed + wrong auto-assignments (clicks)

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def wilson_lower_bound(successes: int, trials: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval (Wilson 1927) of a proportion; 1.0 for no trials."""
    if trials == 0:
        return 1.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def split_people(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of the people (int64 person indices), at random with ``seed``.

    ``labels``: int64 (n,) person index of each image.
    """
    people = np.unique(labels)
    shuffled = np.random.default_rng(seed).permutation(people)
    half = shuffled.size // 2
    return np.sort(shuffled[:half]), np.sort(shuffled[half:])


def build_gallery(
    embeddings: np.ndarray,
    quality: np.ndarray,
    labels: np.ndarray,
    people: np.ndarray,
    seed: int = 0,
    labelled_fraction: float = LABELLED_FRACTION,
    max_queries_per_person: int | None = MAX_QUERIES_PER_PERSON,
    max_prototypes: int = MAX_AUTO_PROTOTYPES,
) -> Gallery:
    """Labelled faces, prototypes and queries of ``people`` (steps 2-3 of the module's method).

    ``embeddings``: float32 (n, d) L2-normalised, one face per image; ``quality``: float (n,)
    in [0, 1] (the product's face quality; ones when unknown); ``labels``: int64 (n,) person
    index; ``people``: int64 person indices to use. Images whose embedding is all zeros (no
    face found) are ignored. Persons with at least two faces enter the gallery with
    ``max(1, floor(n * labelled_fraction))`` labelled faces; their other faces (at most
    ``max_queries_per_person``, at random) are genuine queries; persons with one face are
    stranger queries (truth -1).
    """
    rng = np.random.default_rng(seed)
    has_face = np.abs(embeddings).sum(axis=1) > 0
    protos: list[np.ndarray] = []
    proto_person: list[np.ndarray] = []
    proto_images: list[np.ndarray] = []
    labelled: list[np.ndarray] = []
    queries: list[np.ndarray] = []
    truth: list[np.ndarray] = []
    for person in np.sort(people):
        faces = np.flatnonzero((labels == person) & has_face)
        if faces.size == 0:
            continue
        if faces.size == 1:
            queries.append(faces)
            truth.append(np.full(1, -1, dtype=np.int64))
            continue
        faces = rng.permutation(faces)
        count = max(1, int(faces.size * labelled_fraction))
        mine, rest = np.sort(faces[:count]), faces[count:]
        if max_queries_per_person is not None:
            rest = rest[:max_queries_per_person]
        picks = select_prototypes(embeddings[mine], quality[mine], max_prototypes)
        protos.append(embeddings[mine[picks]])
        proto_images.append(mine[picks])
        proto_person.append(np.full(picks.size, person, dtype=np.int64))
        labelled.append(mine)
        queries.append(np.sort(rest))
        truth.append(np.full(rest.size, person, dtype=np.int64))
    dim = embeddings.shape[1]
    return Gallery(
        prototypes=(
            np.concatenate(protos).astype(np.float32) if protos else np.zeros((0, dim), np.float32)
        ),
        prototype_person=np.concatenate(proto_person) if proto_person else np.zeros(0, np.int64),
        prototype_images=np.concatenate(proto_images) if proto_images else np.zeros(0, np.int64),
        labelled=np.concatenate(labelled) if labelled else np.zeros(0, np.int64),
        queries=np.concatenate(queries) if queries else np.zeros(0, np.int64),
        truth=np.concatenate(truth) if truth else np.zeros(0, np.int64),
    )


def match_persons(
    queries: np.ndarray,
    prototypes: np.ndarray,
    prototype_person: np.ndarray,
    k: int = MAX_PERSONS_PER_FACE,
) -> PersonMatches:
    """The ``k`` best persons of each query: a person's score is its best prototype's cosine
    similarity (as ``people.matching.PersonMatch.confidence``).

    ``queries``: float32 (q, d) and ``prototypes``: float32 (p, d), L2-normalised;
    ``prototype_person``: int64 (p,). Returns persons int64 (q, k) and scores float32 (q, k),
    best first, padded with -2 / -inf when there are fewer than ``k`` persons.
    """
    k = max(2, k)
    q = queries.shape[0]
    persons_out = np.full((q, k), -2, dtype=np.int64)
    scores_out = np.full((q, k), -np.inf, dtype=np.float32)
    if prototypes.shape[0] == 0 or q == 0:
        return PersonMatches(persons_out, scores_out)
    order = np.argsort(prototype_person, kind="stable")
    sorted_person = prototype_person[order]
    starts = np.flatnonzero(np.r_[True, sorted_person[1:] != sorted_person[:-1]])
    person_ids = sorted_person[starts]
    take = min(k, person_ids.size)
    block = max(1, 8_000_000 // max(1, prototypes.shape[0]))
    for start in range(0, q, block):
        sims = queries[start : start + block] @ prototypes[order].T
        per_person = np.maximum.reduceat(sims, starts, axis=1)  # (b, persons)
        if take < person_ids.size:
            top = np.argpartition(-per_person, take - 1, axis=1)[:, :take]
        else:
            top = np.broadcast_to(np.arange(take), (per_person.shape[0], take))
        top_scores = np.take_along_axis(per_person, top, axis=1)
        rank = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, rank, axis=1)
        rows = slice(start, start + per_person.shape[0])
        persons_out[rows, :take] = person_ids[top]
        scores_out[rows, :take] = np.take_along_axis(top_scores, rank, axis=1)
    return PersonMatches(persons_out, scores_out)


def decide(
    matches: PersonMatches,
    auto_assign_threshold: float,
    suggestion_threshold: float,
    max_persons: int = MAX_PERSONS_PER_FACE,
) -> tuple[np.ndarray, np.ndarray]:
    """The two-tier rule of ``AssignmentService.assign_unassigned`` for every query.

    Returns ``auto`` bool (q,): auto-assigned to ``matches.persons[:, 0]``; and ``suggested``
    bool (q, max_persons): a pending suggestion for ``matches.persons[:, j]``.
    """
    scores = matches.scores[:, :max_persons]
    above = scores >= suggestion_threshold
    auto = (scores[:, 0] >= auto_assign_threshold) & above[:, 0] & ~above[:, 1]
    return auto, above & ~auto[:, None]


def assignment_outcome(
    matches: PersonMatches,
    truth: np.ndarray,
    auto_assign_threshold: float,
    suggestion_threshold: float,
    max_persons: int = MAX_PERSONS_PER_FACE,
) -> AssignmentOutcome:
    """Apply the two-tier rule of ``AssignmentService.assign_unassigned`` to every query and
    count the results. ``truth``: int64 (q,) true person, -1 for strangers."""
    persons = matches.persons[:, :max_persons]
    auto, suggested = decide(matches, auto_assign_threshold, suggestion_threshold, max_persons)
    right = persons[:, 0] == truth
    auto_correct = auto & right
    true_suggested = suggested & (persons == truth[:, None])
    genuine = truth >= 0
    found = true_suggested.any(axis=1)
    reviewed = genuine & ~auto
    missed = genuine & ~auto_correct & ~found
    n_auto, n_right = int(auto.sum()), int(auto_correct.sum())
    n_sugg, n_true = int(suggested.sum()), int(true_suggested.sum())
    return AssignmentOutcome(
        auto_assign_threshold=float(auto_assign_threshold),
        suggestion_threshold=float(suggestion_threshold),
        queries=int(truth.size),
        genuine=int(genuine.sum()),
        strangers=int((~genuine).sum()),
        auto_assigned=n_auto,
        auto_correct=n_right,
        auto_precision=n_right / n_auto if n_auto else 1.0,
        auto_precision_lower95=wilson_lower_bound(n_right, n_auto),
        auto_recall=n_right / max(1, int(genuine.sum())),
        strangers_auto_assigned=int((auto & ~genuine).sum()),
        suggestions=n_sugg,
        true_suggestions=n_true,
        suggestion_precision=n_true / n_sugg if n_sugg else 1.0,
        reviewed_genuine=int(reviewed.sum()),
        suggestion_recall=float(found[reviewed].mean()) if reviewed.any() else 1.0,
        strangers_suggested=int((suggested.any(axis=1) & ~genuine).sum()),
        missed=int(missed.sum()),
        coverage=float((auto_correct | found)[genuine].mean()) if genuine.any() else 1.0,
        review_cost=(n_sugg - n_true) + int(missed.sum()) + (n_auto - n_right),
    )


def lowest_auto_threshold(
    matches: PersonMatches,
    truth: np.ndarray,
    suggestion_threshold: float,
    target_precision: float = TARGET_AUTO_PRECISION,
) -> float | None:
    """The lowest auto-assign threshold (>= ``suggestion_threshold``) at which auto-assign
    precision is at least ``target_precision`` there and at every higher threshold, given the
    rule that no second person may reach ``suggestion_threshold``. Only observed best-person
    scores are candidates (an exact threshold, not a grid point). None when even the highest
    scoring auto-assignment is wrong or no query can be auto-assigned."""
    best, second = matches.scores[:, 0], matches.scores[:, 1]
    eligible = (best >= suggestion_threshold) & (second < suggestion_threshold)
    if not eligible.any():
        return None
    values = best[eligible]
    right = (matches.persons[eligible, 0] == truth[eligible]).astype(np.int64)
    order = np.argsort(-values, kind="stable")
    values, right = values[order], right[order]
    precision = np.cumsum(right) / np.arange(1, values.size + 1)
    # A threshold cannot separate equal scores: only the last of each run of ties is a cut.
    cuts = np.flatnonzero(np.r_[values[1:] < values[:-1], True])
    envelope = np.minimum.accumulate(precision[cuts])
    ok = np.flatnonzero(envelope >= target_precision)
    if ok.size == 0 or ok[0] != 0:
        return None
    # envelope is non-increasing: the passing cuts are a prefix
    return float(values[cuts[ok[-1]]])


def ceil_to_step(value: float, step: float = THRESHOLD_STEP) -> float:
    """``value`` rounded up to the threshold grid (so rounding never lowers precision)."""
    return round(math.ceil(round(value / step, 6)) * step, 6)


def threshold_sweep(
    matches: PersonMatches,
    truth: np.ndarray,
    suggestion_grid: np.ndarray,
    target_precision: float = TARGET_AUTO_PRECISION,
) -> list[AssignmentOutcome]:
    """For each suggestion threshold of ``suggestion_grid`` (float (g,) cosine similarities),
    the outcome at the lowest auto-assign threshold reaching ``target_precision`` (rounded up
    to ``THRESHOLD_STEP``; 1.0 + step, i.e. auto-assignment off, when none does)."""
    results = []
    for suggest in np.asarray(suggestion_grid, dtype=np.float64):
        suggest = round(float(suggest), 6)
        found = lowest_auto_threshold(matches, truth, suggest, target_precision)
        auto = 1.0 + THRESHOLD_STEP if found is None else max(suggest, ceil_to_step(found))
        results.append(assignment_outcome(matches, truth, auto, suggest))
    return results


def suggestion_grid(matches: PersonMatches, step: float = THRESHOLD_STEP) -> np.ndarray:
    """Suggestion thresholds worth trying: every ``step`` from the 5th percentile of the
    queries' best-person score to their maximum. float64 (g,)."""
    best = matches.scores[:, 0]
    best = best[np.isfinite(best)]
    if best.size == 0:
        return np.zeros(0)
    low = math.floor(float(np.percentile(best, 5)) / step) * step
    high = math.ceil(float(best.max()) / step) * step
    return np.round(np.arange(low, high + step / 2, step), 6)


def choose_thresholds(sweep: list[AssignmentOutcome]) -> AssignmentOutcome:
    """The sweep entry with the lowest review cost (ties: the higher suggestion threshold)."""
    if not sweep:
        raise ValueError("empty sweep")
    return min(sweep, key=lambda o: (o.review_cost, -o.suggestion_threshold))


@dataclass(slots=True)
class CalibrationHalf:
    """One half of the people, resampled: the galleries and their pooled queries."""

    galleries: list[Gallery]
    matches: PersonMatches  # of every gallery's queries, concatenated
    truth: np.ndarray  # int64, concatenated likewise

    def describe(self) -> dict[str, Any]:
        first = self.galleries[0]
        return {
            "resamples": len(self.galleries),
            "galleryPersons": first.persons,
            "labelledFacesPerResample": int(first.labelled.size),
            "prototypesPerResample": int(first.prototypes.shape[0]),
            "genuineQueriesPerResample": int((first.truth >= 0).sum()),
            "strangerQueriesPerResample": int((first.truth < 0).sum()),
            "pooledQueries": int(self.truth.size),
        }


def prepare_half(
    embeddings: np.ndarray,
    quality: np.ndarray,
    labels: np.ndarray,
    people: np.ndarray,
    seed: int,
    resamples: int = RESAMPLES,
) -> CalibrationHalf:
    """``resamples`` galleries of the same people (``build_gallery`` with seeds ``seed``,
    ``seed + 1``, ...: other labelled faces, prototypes and queries each time) and the person
    matches of all their queries, pooled."""
    galleries = [
        build_gallery(embeddings, quality, labels, people, seed + r) for r in range(resamples)
    ]
    found = [
        match_persons(embeddings[g.queries], g.prototypes, g.prototype_person) for g in galleries
    ]
    return CalibrationHalf(
        galleries,
        PersonMatches(
            np.concatenate([m.persons for m in found]), np.concatenate([m.scores for m in found])
        ),
        np.concatenate([g.truth for g in galleries]),
    )


def calibrate(
    embeddings: np.ndarray,
    quality: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    target_precision: float = TARGET_AUTO_PRECISION,
) -> dict[str, Any]:
    """The whole method of the module docstring on one dataset; JSON-ready.

    ``embeddings`` float32 (n, d) L2-normalised (zero rows: no face), ``quality`` float (n,)
    in [0, 1], ``labels`` int64 (n,). Calibrates on half A, reports the chosen thresholds on
    the held-out half B, and, as a stability check, also calibrates on B.
    """
    half_a, half_b = split_people(labels, seed)
    prepared = {
        name: prepare_half(embeddings, quality, labels, people, seed)
        for name, people in (("A", half_a), ("B", half_b))
    }
    result: dict[str, Any] = {
        "seed": seed,
        "targetAutoPrecision": target_precision,
        "requiredAutoPrecision": REQUIRED_AUTO_PRECISION,
        "labelledFraction": LABELLED_FRACTION,
        "maxQueriesPerPerson": MAX_QUERIES_PER_PERSON,
        "maxPrototypesPerPerson": MAX_AUTO_PROTOTYPES,
        "maxPersonsPerFace": MAX_PERSONS_PER_FACE,
        "resamples": RESAMPLES,
        "halves": {name: half.describe() for name, half in prepared.items()},
    }
    for calibration, held_out in (("A", "B"), ("B", "A")):
        cal = prepared[calibration]
        sweep = threshold_sweep(
            cal.matches, cal.truth, suggestion_grid(cal.matches), target_precision
        )
        chosen = choose_thresholds(sweep)
        other = prepared[held_out]
        test = assignment_outcome(
            other.matches,
            other.truth,
            chosen.auto_assign_threshold,
            chosen.suggestion_threshold,
        )
        result[f"calibratedOn{calibration}"] = {
            "autoAssignThreshold": chosen.auto_assign_threshold,
            "suggestionThreshold": chosen.suggestion_threshold,
            "calibration": chosen.as_dict(),
            "heldOut": test.as_dict(),
            "heldOutMeetsRequirement": test.auto_precision >= REQUIRED_AUTO_PRECISION,
            "sweep": [
                {k: v for k, v in s.as_dict().items() if k in SWEEP_FIELDS}
                for s in sweep[:: max(1, len(sweep) // 60)]
            ],
        }
    # The more cautious of the two calibrations is the one to ship (a single look-alike pair
    # can move the auto-assign threshold, and which half it falls in is chance).
    source = max(("A", "B"), key=lambda h: result[f"calibratedOn{h}"]["autoAssignThreshold"])
    result["chosen"] = {
        "calibratedOn": source,
        "autoAssignThreshold": result[f"calibratedOn{source}"]["autoAssignThreshold"],
        "suggestionThreshold": result[f"calibratedOn{source}"]["suggestionThreshold"],
    }
    return result


# primary-face quality -------------------------------------------------------------------------


def dataset_key(data: LabelledImages) -> str:
    """The cache key ``runner.embed_dataset`` uses for a dataset's file list."""
    return hashlib.sha256(
        "\n".join([EMBEDDING_REVISION, *(f"{p}:{p.stat().st_size}" for p in data.paths)]).encode()
    ).hexdigest()[:16]


@dataclass(slots=True)
class PrimaryFaceDetails:
    """Of each image's primary face (the one nearest the centre, as ``embed_primary_face``)."""

    quality: np.ndarray  # float32 (n,) in [0, 1] (faces.quality.face_quality); 0 without face
    boxes: np.ndarray  # float32 (n, 4) x, y, width, height in original-image pixels
    landmarks: np.ndarray  # float32 (n, 5, 2) original-image pixels
    scores: np.ndarray  # float32 (n,) detector confidence
    sizes: np.ndarray  # int64 (n, 2) original width, height


def primary_face_details(data: LabelledImages, settings: Settings) -> PrimaryFaceDetails:
    """Quality, box and landmarks of every image's primary face, found with the YuNet detector
    that every YuNet pack shares (so the result is the same for yunet-dlib and mobilefacenet).
    Cached in ``<data dir>/eval-cache/yunet-primary-<key>.npz``; computing it takes about
    20-30 ms per LFW image on one core."""
    from image_search.faces.quality import face_quality
    from image_search.library.media import decode_image
    from image_search.ml.detection import YuNetDetector
    from image_search.ml.weights import YUNET_2023MAR, resolve_model_file

    cache = settings.data_dir / "eval-cache" / f"yunet-primary-{dataset_key(data)}.npz"
    if cache.exists():
        stored = np.load(cache)
        return PrimaryFaceDetails(
            stored["quality"], stored["boxes"], stored["landmarks"], stored["scores"],
            stored["sizes"],
        )  # fmt: skip
    detector = YuNetDetector(
        resolve_model_file(YUNET_2023MAR, settings.models_dir, settings.model_cache_dir)
    )
    n = len(data.paths)
    details = PrimaryFaceDetails(
        np.zeros(n, np.float32),
        np.zeros((n, 4), np.float32),
        np.zeros((n, 5, 2), np.float32),
        np.zeros(n, np.float32),
        np.zeros((n, 2), np.int64),
    )
    for i, path in enumerate(data.paths):
        decoded = decode_image(path, settings.working_size)
        details.sizes[i] = (decoded.full_width, decoded.full_height)
        detections = detector.detect(decoded.pixels)
        if not detections:
            continue
        height, width = decoded.pixels.shape[:2]
        centre = np.array([width / 2.0, height / 2.0])
        distances = [
            float(np.linalg.norm(d.box[:2] + d.box[2:] / 2.0 - centre)) for d in detections
        ]
        primary = detections[int(np.argmin(distances))]
        details.quality[i] = face_quality(decoded.pixels, primary, decoded.scale)
        original = primary.scaled(decoded.scale)
        details.boxes[i] = original.box
        details.landmarks[i] = original.landmarks
        details.scores[i] = primary.score
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        quality=details.quality,
        boxes=details.boxes,
        landmarks=details.landmarks,
        scores=details.scores,
        sizes=details.sizes,
    )
    return details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m image_search.evaluation.assignment",
        description="Calibrate a pack's auto-assign and suggestion thresholds (JSON on stdout).",
    )
    parser.add_argument("dataset", type=Path, help="folder-per-person dataset (DATASET/<p>/<img>)")
    parser.add_argument("--pack", default="yunet-dlib")
    parser.add_argument("--data-dir", type=Path, default=Path(".bench-data/eval"))
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uniform-quality", action="store_true", help="all face qualities 1.0")
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    settings = Settings(
        data_dir=args.data_dir.resolve(),
        model_pack=args.pack,
        models_dir=args.models_dir.resolve() if args.models_dir else None,
        database_url=None,
    )
    data = list_dataset(args.dataset.resolve())
    embedded = embed_dataset(data, settings)
    quality = (
        np.ones(len(data.paths), np.float32)
        if args.uniform_quality
        else primary_face_details(data, settings).quality
    )
    result = {
        "dataset": str(args.dataset),
        "modelPack": args.pack,
        "images": len(data.paths),
        "people": len(data.people),
        "quality": "uniform 1.0" if args.uniform_quality else "faces.quality of the YuNet face",
        **calibrate(embedded.embeddings, quality, data.labels, args.seed),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
