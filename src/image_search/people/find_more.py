"""Find more faces of one person: by a quality-weighted sample of its labelled faces, or by
its centroid (reference: ../shared/seeds/002_c68180e0afd50046.txt, sections 2.4.5-2.4.6).

Both run as background jobs with the reference's phases: queued -> sampling_prototypes ->
searching -> creating_suggestions -> complete. Each phase uses its own short transaction, so
progress can be written between them even on single-writer SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import read_only, session_scope
from image_search.errors import InvalidInputError, NotFoundError
from image_search.faces.models import ModelPackSettings
from image_search.faces.pack_settings import load_pack_settings
from image_search.faces.repository import FaceRepository
from image_search.people.assignment import record_suggestions, thresholds
from image_search.people.matching import match_faces
from image_search.people.models import FaceSuggestion, SuggestionStatus
from image_search.people.repository import PeopleRepository
from image_search.people.suggestion_repository import SuggestionRepository

# phase, current, total, message
Progress = Callable[[str, int, int, str | None], None]


@dataclass(slots=True)
class FindMoreResult:
    person_id: int
    prototypes_used: int
    candidates_searched: int
    matches_found: int
    suggestions_created: int


def sample_by_quality(quality: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct indices drawn with probability proportional to quality (all of them
    when there are fewer). ``quality`` float (n,) >= 0; returns int64 (k,)."""
    n = quality.shape[0]
    if n <= count:
        return np.arange(n, dtype=np.int64)
    weights = np.clip(quality.astype(np.float64), 1e-3, None)
    return rng.choice(n, size=count, replace=False, p=weights / weights.sum()).astype(np.int64)


def _candidates(
    session: Session, model_pack: str, dim: int, person_id: int, unassigned_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Faces that may be suggested for the person: not its own, not rejected for it, without a
    pending suggestion for it. Returns (face ids int64 (n,), embeddings (n, dim))."""
    people = PeopleRepository(session)
    ids, _, vectors = people.candidate_embeddings(model_pack, dim, person_id, unassigned_only)
    skip = people.rejected_faces(person_id) | SuggestionRepository(session).pending_faces_of_person(
        person_id
    )
    keep = ~np.isin(ids, np.fromiter(skip, dtype=np.int64, count=len(skip)))
    return ids[keep], vectors[keep]


def _pack_and_threshold(
    session: Session, model_pack: str, person_id: int, minimum: float | None
) -> tuple[ModelPackSettings, float]:
    """The pack's settings and the similarity to search down to (default: its suggestion
    threshold). Raises ``NotFoundError`` for an unknown person."""
    pack = load_pack_settings(FaceRepository(session), model_pack)
    if PeopleRepository(session).get(person_id) is None:
        raise NotFoundError(f"person {person_id} does not exist")
    return pack, thresholds(pack)[1] if minimum is None else minimum


def _still_candidates(
    people: PeopleRepository, face_ids: list[int], person_id: int, unassigned_only: bool
) -> set[int]:
    """Of ``face_ids``, those that may still be suggested for the person: unassigned (or, with
    ``unassigned_only=False``, assigned to someone else) at the time of writing."""
    faces = people.faces(face_ids)
    return {
        f.id
        for f in faces.values()
        if f.person_id is None or (not unassigned_only and f.person_id != person_id)
    }


def find_more(
    factory: sessionmaker[Session],
    model_pack: str,
    person_id: int,
    prototype_count: int = 50,
    max_suggestions: int = 100,
    min_confidence: float | None = None,
    progress: Progress | None = None,
    seed: int | None = None,
) -> FindMoreResult:
    """Sample up to ``prototype_count`` of the person's faces weighted by quality, search the
    unassigned faces with them, keep each face's matches (deduplicated across prototypes),
    rank by best similarity then by number of matching prototypes, and create up to
    ``max_suggestions`` pending suggestions at or above ``min_confidence`` (default: the pack's
    suggestion threshold). The sample is temporary: stored prototypes are not changed.

    Raises ``NotFoundError`` (person), ``InvalidInputError`` (person without faces of the pack,
    pack without thresholds).
    """
    report = progress or (lambda *_: None)
    report("sampling_prototypes", 0, 1, None)
    # read phase: a read-only session, so progress can be written meanwhile (SQLite)
    with session_scope(read_only(factory)) as session:
        pack, threshold = _pack_and_threshold(session, model_pack, person_id, min_confidence)
        people = PeopleRepository(session)
        face_ids, quality, vectors = people.labelled_embeddings(
            person_id, model_pack, pack.embedding_dim
        )
        if face_ids.size == 0:
            raise InvalidInputError(f"person {person_id} has no faces of pack {model_pack!r}")
        picks = sample_by_quality(quality, prototype_count, np.random.default_rng(seed))
        report("sampling_prototypes", 1, 1, f"{picks.size} prototypes")
        candidate_ids, candidates = _candidates(
            session, model_pack, pack.embedding_dim, person_id, unassigned_only=True
        )
    report("searching", 0, int(candidate_ids.size), None)
    found = match_faces(
        candidates,
        vectors[picks],
        face_ids[picks],
        np.full(picks.size, person_id, dtype=np.int64),
        threshold,
        top_k=int(picks.size),
    )
    matches = {
        int(face): hits for face, hits in zip(candidate_ids.tolist(), found, strict=True) if hits
    }
    ranked = sorted(
        matches.items(),
        key=lambda item: (item[1][0].confidence, len(item[1][0].scores)),
        reverse=True,
    )[:max_suggestions]
    report("searching", int(candidate_ids.size), int(candidate_ids.size), f"{len(matches)} matches")
    report("creating_suggestions", 0, len(ranked), None)
    with session_scope(factory) as session:
        people = PeopleRepository(session)
        # faces may have been assigned while the search ran
        still = _still_candidates(people, [face for face, _ in ranked], person_id, True)
        ranked = [(face, hits) for face, hits in ranked if face in still]
        rejected = people.rejected_pairs(face for face, _ in ranked)
        created, _ = record_suggestions(
            SuggestionRepository(session), rejected, dict(ranked), source="find_more"
        )
    report("creating_suggestions", len(ranked), len(ranked), None)
    return FindMoreResult(
        person_id, int(picks.size), int(candidate_ids.size), len(matches), created
    )


def find_more_by_centroid(
    factory: sessionmaker[Session],
    model_pack: str,
    person_id: int,
    min_similarity: float | None = None,
    max_results: int = 200,
    unassigned_only: bool = True,
    progress: Progress | None = None,
) -> FindMoreResult:
    """One search with the person's centroid (mean of its normalised embeddings): the faces at
    or above ``min_similarity`` (default: the pack's suggestion threshold), best first, become
    up to ``max_results`` pending suggestions. With ``unassigned_only=False`` faces assigned to
    other persons are searched too (a way to find mistakes).

    Raises ``NotFoundError`` (person), ``InvalidInputError`` (no centroid: the person has no
    faces of the pack).
    """
    report = progress or (lambda *_: None)
    report("sampling_prototypes", 0, 1, "centroid")
    # read phase: a read-only session, so progress can be written meanwhile (SQLite)
    with session_scope(read_only(factory)) as session:
        pack, threshold = _pack_and_threshold(session, model_pack, person_id, min_similarity)
        people = PeopleRepository(session)
        stored = people.centroid(person_id, model_pack)
        if stored is None:
            raise InvalidInputError(f"person {person_id} has no faces of pack {model_pack!r}")
        centroid = np.frombuffer(stored.embedding, dtype="<f4").astype(np.float32)
        report("sampling_prototypes", 1, 1, "centroid")
        candidate_ids, candidates = _candidates(
            session, model_pack, pack.embedding_dim, person_id, unassigned_only
        )
    report("searching", 0, int(candidate_ids.size), None)
    sims = candidates @ centroid if candidate_ids.size else np.zeros(0, dtype=np.float32)
    order = np.argsort(-sims, kind="stable")
    order = order[sims[order] >= threshold]
    chosen = order[:max_results]
    report("searching", int(candidate_ids.size), int(candidate_ids.size), f"{order.size} matches")
    report("creating_suggestions", 0, int(chosen.size), None)
    with session_scope(factory) as session:
        people = PeopleRepository(session)
        # re-read: an assignment run may have suggested some of them meanwhile
        skip = people.rejected_faces(person_id) | SuggestionRepository(
            session
        ).pending_faces_of_person(person_id)
        still = _still_candidates(
            people, [int(candidate_ids[i]) for i in chosen], person_id, unassigned_only
        )
        skip |= {int(candidate_ids[i]) for i in chosen} - still
        rows = [
            FaceSuggestion(
                face_id=int(candidate_ids[i]),
                suggested_person_id=person_id,
                confidence=round(float(sims[i]), 6),
                status=SuggestionStatus.PENDING,
                source="find_more_centroid",
                aggregate_confidence=round(float(sims[i]), 6),
                prototype_match_count=0,
            )
            for i in chosen
            if int(candidate_ids[i]) not in skip
        ]
        SuggestionRepository(session).add_all(rows)
    report("creating_suggestions", int(chosen.size), int(chosen.size), None)
    return FindMoreResult(person_id, 0, int(candidate_ids.size), int(order.size), len(rows))
