"""People services on real embeddings of ../shared photos: prototype choice, centroids,
find-more phases, merge of suggestions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import make_engine, make_session_factory, session_scope
from image_search.faces.repository import FaceRepository
from image_search.people.find_more import find_more, find_more_by_centroid
from image_search.people.models import FaceSuggestion, SuggestionGroup
from image_search.people.prototypes import centroid, select_prototypes
from image_search.people.service import PersonService
from tests.conftest import IndexedLibrary, copy_sqlite_database

PACK = "yunet-dlib"


@pytest.fixture
def library(indexed_faces: IndexedLibrary, tmp_path: Path) -> sessionmaker[Session]:
    """A private copy of the session's indexed library database."""
    source = Path(indexed_faces.settings.resolved_database_url.removeprefix("sqlite:///"))
    target = tmp_path / "copy.db"
    copy_sqlite_database(source, target)
    return make_session_factory(make_engine(f"sqlite:///{target}"))


def _name_two_clusters(factory: sessionmaker[Session]) -> list[int]:
    with session_scope(factory) as session:
        sizes = FaceRepository(session).cluster_sizes(PACK)
        service = PersonService(session, PACK)
        return [service.name_cluster(c, name=f"P{c}").person.id for c, _ in sizes[:2]]


def test_prototypes_are_diverse_best_quality_first(library: sessionmaker[Session]) -> None:
    with session_scope(library) as session:
        ids, _, vectors = FaceRepository(session).embeddings(PACK, 128, unassigned_only=False)
    rng = np.random.default_rng(3)
    quality = rng.uniform(0.2, 1.0, len(ids))
    picks = select_prototypes(vectors, quality, 10)
    assert len(picks) == 10 == len(set(picks.tolist()))
    assert picks[0] == int(np.argmax(quality))
    assert (quality[picks] >= 0.5 * quality.max()).all()
    # Diversity: the chosen set is spread wider than the ten best-quality faces.
    best = np.argsort(-quality)[:10]
    spread = lambda idx: float((1 - vectors[idx] @ vectors[idx].T).mean())  # noqa: E731
    assert spread(picks) > spread(best)
    # Seeds (pinned prototypes) are not returned again and steer the choice away from them.
    seeded = select_prototypes(vectors, quality, 5, seeds=picks[:2])
    assert not set(seeded.tolist()) & set(picks[:2].tolist())
    # Exact duplicates are never picked twice.
    twice = np.vstack([vectors[:3], vectors[:3]])
    assert len(select_prototypes(twice, np.ones(6), 6)) == 3
    mean = centroid(vectors[:4])
    assert mean is not None and abs(float(np.linalg.norm(mean)) - 1.0) < 1e-5
    assert centroid(vectors[:0]) is None


def test_find_more_reports_every_phase_in_order(library: sessionmaker[Session]) -> None:
    first, _ = _name_two_clusters(library)
    phases: list[str] = []
    result = find_more(
        library,
        PACK,
        first,
        prototype_count=4,
        min_confidence=0.8,
        progress=lambda phase, *_: phases.append(phase),
        seed=1,
    )
    assert list(dict.fromkeys(phases)) == [
        "sampling_prototypes",
        "searching",
        "creating_suggestions",
    ]
    assert result.prototypes_used == 4 and result.suggestions_created <= result.matches_found
    with session_scope(library) as session:
        rows = session.scalars(
            select(FaceSuggestion).where(FaceSuggestion.source == "find_more")
        ).all()
        assert len(rows) == result.suggestions_created
        for row in rows:
            assert row.confidence >= 0.8 and row.prototype_match_count == len(
                row.matching_prototype_ids or []
            )
    again = find_more(library, PACK, first, prototype_count=4, min_confidence=0.8, seed=1)
    # Faces already pending for the person are not searched again: no duplicates.
    assert again.candidates_searched == result.candidates_searched - result.suggestions_created
    with session_scope(library) as session:
        pairs = session.execute(
            select(FaceSuggestion.face_id, FaceSuggestion.suggested_person_id)
        ).all()
    assert len(pairs) == len(set(pairs)) == result.suggestions_created + again.suggestions_created
    by_centroid = find_more_by_centroid(library, PACK, first, min_similarity=0.8)
    assert by_centroid.suggestions_created == 0 or by_centroid.matches_found > 0


def test_merge_keeps_one_pending_suggestion_per_face(library: sessionmaker[Session]) -> None:
    first, second = _name_two_clusters(library)
    find_more_by_centroid(library, PACK, first, min_similarity=0.0, max_results=30)
    find_more_by_centroid(library, PACK, second, min_similarity=0.0, max_results=30)
    with session_scope(library) as session:
        PersonService(session, PACK).merge([second], first)
    with session_scope(library) as session:
        rows = session.execute(
            select(FaceSuggestion.face_id, FaceSuggestion.suggested_person_id).where(
                FaceSuggestion.status == "pending"
            )
        ).all()
        assert len(rows) == len(set(rows)) and {p for _, p in rows} == {first}
        groups = session.scalars(select(SuggestionGroup)).all()
        assert [(g.person_id, g.status, g.suggestion_count) for g in groups] == [
            (first, "pending", len(rows))
        ]
