"""All SQL of face suggestions, including the grouped page of the review screen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, and_, any_, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.faces.models import Face
from image_search.library.models import Asset
from image_search.people.models import (
    FaceRejection,
    FaceSuggestion,
    SuggestionGroup,
    SuggestionPersonTotal,
    SuggestionStatus,
)


@dataclass(slots=True)
class GroupRow:
    person_id: int
    suggestion_count: int
    max_confidence: float


@dataclass(slots=True, frozen=True)
class SuggestionRecord:
    """A face_suggestions row as plain values: the read-only twin of ``FaceSuggestion`` that
    review pages use (building 1,000 ORM objects per page costs more than the SQL)."""

    id: int
    face_id: int
    suggested_person_id: int
    confidence: float
    source_face_id: int | None
    status: str
    source: str
    created_at: datetime
    reviewed_at: datetime | None
    matching_prototype_ids: list[int] | None
    prototype_scores: dict[str, float] | None
    aggregate_confidence: float | None
    prototype_match_count: int | None


@dataclass(slots=True, frozen=True)
class FaceBox:
    """The columns of a face a reviewer sees (pixels of the oriented original); for a face
    found in a video, ``video_timestamp`` is the time of its frame (seconds from the start),
    None for a photo. All read from the covering index ``ix_faces_review``."""

    id: int
    asset_id: int
    box_x: float
    box_y: float
    box_width: float
    box_height: float
    video_timestamp: float | None = None


@dataclass(slots=True, frozen=True)
class AssetRef:
    id: int
    path: str
    width: int | None
    height: int | None


@dataclass(slots=True, frozen=True)
class ReviewRow:
    """A suggestion with its face box and file, read in one joined query."""

    suggestion: SuggestionRecord
    face: FaceBox
    asset: AssetRef


_SUGGESTION_COLUMNS = [getattr(FaceSuggestion, f) for f in SuggestionRecord.__slots__]
_REVIEW_COLUMNS = [
    *_SUGGESTION_COLUMNS,
    Face.asset_id,
    Face.box_x,
    Face.box_y,
    Face.box_width,
    Face.box_height,
    Face.video_timestamp,
    Asset.path,
    Asset.width,
    Asset.height,
]


@dataclass(slots=True)
class GroupedPage:
    groups: list[GroupRow]
    suggestions: dict[int, list[ReviewRow]]  # person id -> best first
    total_groups: int
    total_suggestions: int


# PostgreSQL: a list of ids as one array parameter (``id = ANY(:ids)``).
_IDS = bindparam("ids", type_=ARRAY(Integer))
# Pairs per statement in SuggestionRepository._best_rows; SQLite allows 500 terms in a
# compound SELECT (SQLITE_MAX_COMPOUND_SELECT).
_UNION_TERMS = 200
_BEST_LATERAL_SQL = text(
    "SELECT best.id, best.suggested_person_id, best.confidence "
    "FROM unnest(CAST(:persons AS integer[]), CAST(:statuses AS varchar[])) "
    "AS pair(person_id, status) "
    "CROSS JOIN LATERAL (SELECT id, suggested_person_id, confidence FROM face_suggestions "
    "WHERE suggested_person_id = pair.person_id AND status = pair.status "
    "ORDER BY confidence DESC, id LIMIT :n) AS best"
)


@lru_cache(maxsize=64)
def _best_union_sql(terms: int) -> str:
    """UNION ALL of ``terms`` "best :n suggestions of person :pI with status :sI" sub-selects
    (SQLite allows no ORDER BY or LIMIT on a bare compound member)."""
    one = (
        "SELECT * FROM (SELECT id, suggested_person_id, confidence FROM face_suggestions "
        "WHERE suggested_person_id = :p{i} AND status = :s{i} "
        "ORDER BY confidence DESC, id LIMIT :n) AS best_{i}"
    )
    return "\nUNION ALL\n".join(one.format(i=i) for i in range(terms))


class SuggestionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, suggestion_id: int) -> FaceSuggestion | None:
        return self.session.get(FaceSuggestion, suggestion_id)

    def review_rows(self, suggestion_ids: Iterable[int]) -> dict[int, ReviewRow]:
        """Suggestions with face box and file by id, as plain rows (one joined query)."""
        ids = list(set(suggestion_ids))
        joined = (
            select(*_REVIEW_COLUMNS)
            .join(Face, Face.id == FaceSuggestion.face_id)
            .join(Asset, Asset.id == Face.asset_id)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            batches = (
                [self.session.execute(joined.where(FaceSuggestion.id == any_(_IDS)), {"ids": ids})]
                if ids
                else []
            )
        else:
            batches = [
                self.session.execute(joined.where(FaceSuggestion.id.in_(ids[start : start + 1000])))
                for start in range(0, len(ids), 1000)
            ]
        found: dict[int, ReviewRow] = {}
        n = len(_SUGGESTION_COLUMNS)
        for batch in batches:
            for row in batch:
                suggestion = SuggestionRecord(*row[:n])
                asset_id, x, y, w, h, timestamp, path, width, height = row[n:]
                found[suggestion.id] = ReviewRow(
                    suggestion,
                    FaceBox(suggestion.face_id, asset_id, x, y, w, h, timestamp),
                    AssetRef(asset_id, path, width, height),
                )
        return found

    def add_all(self, suggestions: Sequence[FaceSuggestion]) -> None:
        self.session.add_all(suggestions)
        self.session.flush()

    def pending_by_pair(self, face_ids: Iterable[int]) -> dict[tuple[int, int], FaceSuggestion]:
        """Pending suggestions of these faces, keyed by (face id, person id)."""
        ids = list(set(face_ids))
        found: dict[tuple[int, int], FaceSuggestion] = {}
        for start in range(0, len(ids), 500):
            for s in self.session.scalars(
                select(FaceSuggestion).where(
                    FaceSuggestion.face_id.in_(ids[start : start + 500]),
                    FaceSuggestion.status == SuggestionStatus.PENDING,
                )
            ):
                found[(s.face_id, s.suggested_person_id)] = s
        return found

    def pending_faces_of_person(self, person_id: int) -> set[int]:
        return set(
            self.session.scalars(
                select(FaceSuggestion.face_id).where(
                    FaceSuggestion.suggested_person_id == person_id,
                    FaceSuggestion.status == SuggestionStatus.PENDING,
                )
            )
        )

    def close_pending_for_faces(self, face_ids: Sequence[int], person_id: int | None) -> None:
        """The faces were assigned to ``person_id`` (or unassigned: None) outside a suggestion:
        a pending suggestion for that person counts as accepted, every other one expires."""
        now = utcnow()
        for start in range(0, len(face_ids), 500):
            chunk = list(face_ids[start : start + 500])
            pending = and_(
                FaceSuggestion.face_id.in_(chunk),
                FaceSuggestion.status == SuggestionStatus.PENDING,
            )
            if person_id is not None:
                self.session.execute(
                    update(FaceSuggestion)
                    .where(pending, FaceSuggestion.suggested_person_id == person_id)
                    .values(status=SuggestionStatus.ACCEPTED, reviewed_at=now)
                )
            self.session.execute(
                update(FaceSuggestion).where(pending).values(status=SuggestionStatus.EXPIRED)
            )

    def move_person(self, source_id: int, target_id: int) -> None:
        """Merge: the source's suggestions become the target's; a pending one the target
        already has for the same face is dropped instead of duplicated."""
        duplicate = select(FaceSuggestion.face_id).where(
            FaceSuggestion.suggested_person_id == target_id,
            FaceSuggestion.status == SuggestionStatus.PENDING,
        )
        self.session.execute(
            delete(FaceSuggestion).where(
                FaceSuggestion.suggested_person_id == source_id,
                FaceSuggestion.status == SuggestionStatus.PENDING,
                FaceSuggestion.face_id.in_(duplicate),
            )
        )
        self.session.execute(
            update(FaceSuggestion)
            .where(FaceSuggestion.suggested_person_id == source_id)
            .values(suggested_person_id=target_id)
        )

    def expire_pending_of_own_faces(self, person_id: int) -> int:
        """The person's pending suggestions for faces it already owns expire."""
        own = select(Face.id).where(Face.person_id == person_id)
        return self._close_pending(person_id, own, {"status": SuggestionStatus.EXPIRED})

    def reject_pending_of_rejected_pairs(self, person_id: int) -> int:
        """The person's pending suggestions for faces marked "not this person" are rejected."""
        rejected = select(FaceRejection.face_id).where(FaceRejection.person_id == person_id)
        values = {"status": SuggestionStatus.REJECTED, "reviewed_at": utcnow()}
        return self._close_pending(person_id, rejected, values)

    def _close_pending(self, person_id: int, faces: Select[Any], values: dict[str, Any]) -> int:
        result = self.session.execute(
            update(FaceSuggestion)
            .where(
                FaceSuggestion.suggested_person_id == person_id,
                FaceSuggestion.status == SuggestionStatus.PENDING,
                FaceSuggestion.face_id.in_(faces),
            )
            .values(**values)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # reading -----------------------------------------------------------------------------
    def grouped_page(
        self,
        offset: int,
        groups_per_page: int,
        per_group: int,
        status: str | None,
        person_id: int | None,
    ) -> GroupedPage:
        """One page of suggestion groups (persons by their best confidence, highest first, then
        by id) with each group's best ``per_group`` suggestions (by confidence, highest first,
        then by id).

        Groups and totals come from ``suggestion_groups`` or, for every status,
        ``suggestion_person_totals`` (both kept by triggers) through a covering index; each
        group's best suggestions are an index range scan stopped after ``per_group`` rows, per
        person and status. The cost grows with the page, never with the table or with the
        size of a group.
        """
        groups, total_groups, total_suggestions = self._group_rows(
            offset, groups_per_page, status, person_id
        )
        suggestions = self._best_per_person([g.person_id for g in groups], per_group, status)
        return GroupedPage(groups, suggestions, total_groups, total_suggestions)

    def _group_rows(
        self, offset: int, limit: int, status: str | None, person_id: int | None
    ) -> tuple[list[GroupRow], int, int]:
        """The page's groups, the number of groups and the number of suggestions in them.

        One status reads ``suggestion_groups`` (one row per person and status), every status
        ``suggestion_person_totals`` (one row per person); either way both statements are one
        range of a covering index and count() counts persons.
        """
        table = SuggestionGroup if status is not None else SuggestionPersonTotal
        filters = [] if status is None else [SuggestionGroup.status == status]
        if person_id is not None:
            filters.append(table.person_id == person_id)
        total_groups, total_suggestions = self.session.execute(
            select(func.count(), func.coalesce(func.sum(table.suggestion_count), 0)).where(*filters)
        ).one()
        page = (
            select(table.person_id, table.suggestion_count, table.max_confidence)
            .where(*filters)
            .order_by(table.max_confidence.desc(), table.person_id)
            .offset(offset)
            .limit(limit)
        )
        groups = [
            GroupRow(int(p), int(n), float(m or 0.0)) for p, n, m in self.session.execute(page)
        ]
        return groups, int(total_groups), int(total_suggestions)

    def _best_per_person(
        self, person_ids: list[int], per_group: int, status: str | None
    ) -> dict[int, list[ReviewRow]]:
        """Each person's best ``per_group`` suggestions of ``status`` (None: any), best first.

        One ``ORDER BY confidence DESC, id LIMIT per_group`` per person and status: each reads
        ix_face_suggestions_person_status_confidence from the high end and stops after
        ``per_group`` rows. (A window function over the page's persons instead reads and sorts
        every suggestion they have: tens of thousands for a large person.) With every status,
        each status's best rows are the candidates and the best ``per_group`` of them are kept
        here, in the same order as one ordered query over all statuses.
        """
        statuses = [status] if status is not None else [str(s) for s in SuggestionStatus]
        pairs = [(p, s) for p in person_ids for s in statuses]
        candidates: dict[int, list[tuple[float, int]]] = {p: [] for p in person_ids}
        for start in range(0, len(pairs), _UNION_TERMS):
            for suggestion_id, person, confidence in self._best_rows(
                pairs[start : start + _UNION_TERMS], per_group
            ):
                candidates[person].append((-float(confidence), int(suggestion_id)))
        best = {p: [i for _, i in sorted(found)[:per_group]] for p, found in candidates.items()}
        loaded = self.review_rows(i for ids in best.values() for i in ids)
        return {p: [loaded[i] for i in ids if i in loaded] for p, ids in best.items()}

    def _best_rows(self, pairs: list[tuple[int, str]], per_group: int) -> Sequence[Any]:
        """(id, person id, confidence) of the best ``per_group`` suggestions of each
        (person id, status) pair: PostgreSQL runs one LATERAL join (planned once), SQLite,
        which has no LATERAL, a UNION ALL of one ordered, limited sub-select per pair."""
        if not pairs:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            return self.session.execute(
                _BEST_LATERAL_SQL,
                {
                    "persons": [p for p, _ in pairs],
                    "statuses": [s for _, s in pairs],
                    "n": per_group,
                },
            ).all()
        params: dict[str, object] = {"n": per_group}
        for i, (p, s) in enumerate(pairs):
            params[f"p{i}"] = p
            params[f"s{i}"] = s
        return self.session.execute(text(_best_union_sql(len(pairs))), params).all()

    def flat_page(
        self,
        offset: int,
        limit: int,
        status: str | None,
        person_id: int | None,
        face_id: int | None = None,
    ) -> tuple[int, Sequence[FaceSuggestion]]:
        filters = []
        if status is not None:
            filters.append(FaceSuggestion.status == status)
        if person_id is not None:
            filters.append(FaceSuggestion.suggested_person_id == person_id)
        if face_id is not None:
            filters.append(FaceSuggestion.face_id == face_id)
        total = self.session.scalar(select(func.count(FaceSuggestion.id)).where(*filters)) or 0
        rows = self.session.scalars(
            select(FaceSuggestion)
            .where(*filters)
            .order_by(FaceSuggestion.confidence.desc(), FaceSuggestion.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return int(total), rows

    def reopen(self, suggestion: FaceSuggestion) -> None:
        suggestion.status = SuggestionStatus.PENDING
        suggestion.reviewed_at = None
        self.session.flush()

    def reopen_expired_of_face(self, face_id: int) -> int:
        """The face's expired suggestions are pending again (the newest one per person), except
        for persons the face was marked "not this person" for and persons that already have a
        pending suggestion for the face (one pending per face and person). Returns how many
        were reopened."""
        rejected = select(FaceRejection.person_id).where(FaceRejection.face_id == face_id)
        pending = select(FaceSuggestion.suggested_person_id).where(
            FaceSuggestion.face_id == face_id, FaceSuggestion.status == SuggestionStatus.PENDING
        )
        expired = self.session.scalars(
            select(FaceSuggestion)
            .where(
                FaceSuggestion.face_id == face_id,
                FaceSuggestion.status == SuggestionStatus.EXPIRED,
                FaceSuggestion.suggested_person_id.not_in(rejected),
                FaceSuggestion.suggested_person_id.not_in(pending),
            )
            .order_by(FaceSuggestion.id.desc())
        ).all()
        persons: set[int] = set()
        for suggestion in expired:
            if suggestion.suggested_person_id not in persons:
                persons.add(suggestion.suggested_person_id)
                suggestion.status = SuggestionStatus.PENDING
                suggestion.reviewed_at = None
        self.session.flush()
        return len(persons)
