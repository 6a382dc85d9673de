"""Threshold calibration (evaluation/assignment.py) on real faces: people-small (8 people, 5
photos each) plus 12 lfw-dev people with a single photo (strangers), embedded with the real
yunet-dlib pack. The simulated two-tier rule is checked against the product's own
AssignmentService on a real SQLite library."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.evaluation.assignment import (
    TARGET_AUTO_PRECISION,
    assignment_outcome,
    build_gallery,
    calibrate,
    choose_thresholds,
    decide,
    lowest_auto_threshold,
    match_persons,
    primary_face_details,
    split_people,
    suggestion_grid,
    threshold_sweep,
)
from image_search.evaluation.dataset import LabelledImages
from image_search.evaluation.runner import embed_dataset
from image_search.faces.models import Face
from image_search.jobs.service import open_database
from image_search.library.models import Asset, AssetKind, AssetStatus, Stage
from image_search.people.assignment import AssignmentService
from image_search.people.matching import match_faces
from image_search.people.matching_settings import MatchingSettingsService
from image_search.people.models import FaceSuggestion, PersonPrototype, SuggestionStatus
from image_search.people.prototypes import MAX_AUTO_PROTOTYPES
from image_search.people.service import PersonService
from tests.conftest import make_settings

STRANGERS = 12


@dataclass
class Embedded:
    data: LabelledImages
    embeddings: np.ndarray
    quality: np.ndarray


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, models_dir: Path
) -> Embedded:
    paths: list[Path] = []
    labels: list[int] = []
    people: list[str] = []
    for folder in sorted((faces_dir / "people-small").iterdir()):
        people.append(folder.name)
        for image in sorted(folder.glob("*.png")):
            paths.append(image)
            labels.append(len(people) - 1)
    singles = [
        folder
        for folder in sorted((faces_dir / "lfw-dev").iterdir())
        if len(list(folder.glob("*.jpg"))) == 1
    ][:STRANGERS]
    for folder in singles:
        people.append(folder.name)
        paths.append(next(folder.glob("*.jpg")))
        labels.append(len(people) - 1)
    data = LabelledImages(paths, np.array(labels, dtype=np.int64), people)
    settings = make_settings(tmp_path_factory.mktemp("calibration"), models_dir)
    result = embed_dataset(data, settings)
    assert result.has_face.all(), "every test image shows a face"
    quality = primary_face_details(data, settings).quality
    assert ((quality > 0) & (quality <= 1)).all()
    return Embedded(data, result.embeddings, quality)


def test_split_and_gallery_keep_people_and_faces_apart(embedded: Embedded) -> None:
    labels = embedded.data.labels
    a, b = split_people(labels, seed=3)
    assert not set(a) & set(b) and set(a) | set(b) == set(np.unique(labels).tolist())

    gallery = build_gallery(embedded.embeddings, embedded.quality, labels, np.unique(labels))
    assert not set(gallery.labelled.tolist()) & set(gallery.queries.tolist())
    # 5 photos: 2 labelled, 3 queries; a single photo: a stranger query
    assert gallery.persons == 8 and gallery.labelled.size == 16
    strangers = gallery.queries[gallery.truth < 0]
    assert sorted(labels[strangers].tolist()) == list(range(8, 8 + STRANGERS))
    assert (labels[gallery.queries[gallery.truth >= 0]] == gallery.truth[gallery.truth >= 0]).all()
    assert set(gallery.prototype_images.tolist()) <= set(gallery.labelled.tolist())
    assert (labels[gallery.prototype_images] == gallery.prototype_person).all()
    assert np.bincount(gallery.prototype_person).max() <= MAX_AUTO_PROTOTYPES


def test_person_scores_match_the_products_matching(embedded: Embedded) -> None:
    labels = embedded.data.labels
    gallery = build_gallery(embedded.embeddings, embedded.quality, labels, np.unique(labels))
    queries = embedded.embeddings[gallery.queries]
    mine = match_persons(queries, gallery.prototypes, gallery.prototype_person)
    theirs = match_faces(
        queries,
        gallery.prototypes,
        gallery.prototype_images,
        gallery.prototype_person,
        min_similarity=-1.0,
        top_k=gallery.prototypes.shape[0],
    )
    for row, persons in enumerate(theirs):
        k = mine.persons.shape[1]
        assert mine.persons[row].tolist() == [m.person_id for m in persons[:k]]
        np.testing.assert_allclose(mine.scores[row], [m.confidence for m in persons[:k]], atol=1e-5)


def test_lowest_auto_threshold_is_the_lowest_that_reaches_the_target(
    embedded: Embedded,
) -> None:
    labels = embedded.data.labels
    gallery = build_gallery(embedded.embeddings, embedded.quality, labels, np.unique(labels))
    matches = match_persons(
        embedded.embeddings[gallery.queries], gallery.prototypes, gallery.prototype_person
    )
    best = matches.scores[:, 0]
    checked = 0
    for suggest in np.quantile(best, [0.1, 0.3, 0.5]):
        found = lowest_auto_threshold(matches, gallery.truth, float(suggest), target_precision=1.0)
        if found is None:
            continue
        checked += 1
        at = assignment_outcome(matches, gallery.truth, found, float(suggest))
        assert at.auto_assigned > 0 and at.auto_precision == 1.0
        # every higher threshold is as precise
        for higher in best[best > found]:
            assert assignment_outcome(matches, gallery.truth, higher, suggest).auto_precision == 1
        # the next lower candidate auto-assigns a wrong face
        lower = best[(best < found) & (best >= suggest) & (matches.scores[:, 1] < suggest)]
        if lower.size:
            below = assignment_outcome(matches, gallery.truth, float(lower.max()), suggest)
            assert below.auto_precision < 1.0
    assert checked > 0


def test_calibration_reaches_its_target_and_reports_the_held_out_half(
    embedded: Embedded,
) -> None:
    result = calibrate(embedded.embeddings, embedded.quality, embedded.data.labels, seed=0)
    for half in ("A", "B"):
        entry = result[f"calibratedOn{half}"]
        assert entry["suggestionThreshold"] <= entry["autoAssignThreshold"]
        assert entry["calibration"]["auto_precision"] >= TARGET_AUTO_PRECISION
        held_out = entry["heldOut"]
        assert held_out["queries"] == held_out["genuine"] + held_out["strangers"] > 0
    chosen = result["chosen"]
    assert chosen["autoAssignThreshold"] == max(
        result["calibratedOnA"]["autoAssignThreshold"],
        result["calibratedOnB"]["autoAssignThreshold"],
    )
    # the chosen pair has the lowest review cost of its sweep
    labels = embedded.data.labels
    gallery = build_gallery(embedded.embeddings, embedded.quality, labels, np.unique(labels))
    matches = match_persons(
        embedded.embeddings[gallery.queries], gallery.prototypes, gallery.prototype_person
    )
    sweep = threshold_sweep(matches, gallery.truth, suggestion_grid(matches))
    best = choose_thresholds(sweep)
    assert best.review_cost == min(s.review_cost for s in sweep)
    assert best.auto_precision >= TARGET_AUTO_PRECISION


def test_the_simulated_rule_is_what_assignment_service_does(
    tmp_path: Path, embedded: Embedded, models_dir: Path
) -> None:
    data, labels = embedded.data, embedded.data.labels
    gallery = build_gallery(embedded.embeddings, embedded.quality, labels, np.unique(labels))
    matches = match_persons(
        embedded.embeddings[gallery.queries], gallery.prototypes, gallery.prototype_person
    )
    factory = open_database(make_settings(tmp_path / "data", models_dir))
    with session_scope(factory) as session:
        assets = [
            Asset(
                path=str(p),
                root=str(p.parent),
                size=p.stat().st_size,
                mtime=p.stat().st_mtime,
                kind=AssetKind.IMAGE,
                stage=Stage.DONE,
                status=AssetStatus.DONE,
            )
            for p in data.paths
        ]
        session.add_all(assets)
        session.flush()
        faces = [
            Face(
                asset_id=a.id,
                model_pack="yunet-dlib",
                box_x=0.0,
                box_y=0.0,
                box_width=1.0,
                box_height=1.0,
                landmarks=[],
                detector_score=1.0,
                quality=float(embedded.quality[i]),
                embedding=embedded.embeddings[i].astype("<f4").tobytes(),
                embedding_dim=embedded.embeddings.shape[1],
            )
            for i, a in enumerate(assets)
        ]
        session.add_all(faces)
        session.flush()
        face_of = np.array([f.id for f in faces])
        service = PersonService(session, "yunet-dlib")
        person_of: dict[int, int] = {}
        for label in np.unique(gallery.prototype_person).tolist():
            mine = gallery.labelled[labels[gallery.labelled] == label]
            person, _ = service.assign(face_of[mine].tolist(), new_person_name=data.people[label])
            person_of[label] = person.id
        # the product chose the same prototypes
        stored = {(p.person_id, p.face_id) for p in session.scalars(select(PersonPrototype)).all()}
        expected = {
            (person_of[int(label)], int(face_of[image]))
            for label, image in zip(gallery.prototype_person, gallery.prototype_images, strict=True)
        }
        assert stored == expected

    best = matches.scores[:, 0]
    exercised = {"auto": 0, "suggested": 0}
    for low, high in ((0.2, 0.6), (0.4, 0.8), (0.1, 0.95)):
        suggest = round(float(np.quantile(best, low)), 3) + 0.0005
        auto = round(float(np.quantile(best, high)), 3) + 0.0005
        is_auto, suggested = decide(matches, auto, suggest)
        want_auto = {
            (int(face_of[gallery.queries[i]]), person_of[int(matches.persons[i, 0])])
            for i in np.flatnonzero(is_auto)
        }
        want_suggested = {
            (int(face_of[gallery.queries[i]]), person_of[int(matches.persons[i, j])])
            for i, j in zip(*np.nonzero(suggested), strict=True)
        }
        session = factory()
        try:
            MatchingSettingsService(session, "yunet-dlib").update(auto, suggest)
            AssignmentService(session, "yunet-dlib").assign_unassigned()
            got_auto = {
                (int(f), int(p))
                for f, p in session.execute(
                    select(Face.id, Face.person_id).where(Face.assigned_by == "auto")
                )
            }
            got_suggested = {
                (int(f), int(p))
                for f, p in session.execute(
                    select(FaceSuggestion.face_id, FaceSuggestion.suggested_person_id).where(
                        FaceSuggestion.status == SuggestionStatus.PENDING
                    )
                )
            }
        finally:
            session.rollback()
            session.close()
        assert got_auto == want_auto
        assert got_suggested == want_suggested
        exercised["auto"] += len(want_auto)
        exercised["suggested"] += len(want_suggested)
    assert exercised["auto"] > 0 and exercised["suggested"] > 0
