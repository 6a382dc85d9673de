"""All SQL of face suggestions, including the grouped page of the review screen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.faces.models import Face
from image_search.people.models import FaceSuggestion, SuggestionGroup, SuggestionStatus


@dataclass(slots=True)
class GroupRow:
    person_id: int
    suggestion_count: int
    max_confidence: float


@dataclass(slots=True)
class GroupedPage:
    groups: list[GroupRow]
    suggestions: dict[int, list[FaceSuggestion]]  # person id -> best first
    total_groups: int
    total_suggestions: int


class SuggestionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, suggestion_id: int) -> FaceSuggestion | None:
        return self.session.get(FaceSuggestion, suggestion_id)

    def get_many(self, suggestion_ids: Iterable[int]) -> dict[int, FaceSuggestion]:
        ids = list(set(suggestion_ids))
        if not ids:
            return {}
        return {
            s.id: s
            for s in self.session.scalars(select(FaceSuggestion).where(FaceSuggestion.id.in_(ids)))
        }

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

    def reject_pending(self, face_ids: Sequence[int], person_id: int) -> None:
        for start in range(0, len(face_ids), 500):
            self.session.execute(
                update(FaceSuggestion)
                .where(
                    FaceSuggestion.face_id.in_(list(face_ids[start : start + 500])),
                    FaceSuggestion.suggested_person_id == person_id,
                    FaceSuggestion.status == SuggestionStatus.PENDING,
                )
                .values(status=SuggestionStatus.REJECTED, reviewed_at=utcnow())
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

    def expire_pending_of_assigned_faces(self) -> int:
        """Pending suggestions whose face already belongs to a person expire."""
        assigned = select(Face.id).where(Face.person_id.is_not(None))
        result = self.session.execute(
            update(FaceSuggestion)
            .where(
                FaceSuggestion.status == SuggestionStatus.PENDING,
                FaceSuggestion.face_id.in_(assigned),
            )
            .values(status=SuggestionStatus.EXPIRED)
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
        """One page of suggestion groups (persons by their best confidence, highest first) with
        each group's best ``per_group`` suggestions.

        Reads ``suggestion_groups`` (kept by triggers) for the groups and totals, then one
        windowed query over the page's persons: cost grows with the page, not the table.
        """
        filters = []
        if status is not None:
            filters.append(SuggestionGroup.status == status)
        if person_id is not None:
            filters.append(SuggestionGroup.person_id == person_id)
        count = func.sum(SuggestionGroup.suggestion_count)
        best = func.max(SuggestionGroup.max_confidence)
        if status is not None:
            # one row per person: no aggregation, the (status, max_confidence) index orders it
            groups_query = (
                select(
                    SuggestionGroup.person_id,
                    SuggestionGroup.suggestion_count,
                    SuggestionGroup.max_confidence,
                )
                .where(*filters)
                .order_by(SuggestionGroup.max_confidence.desc(), SuggestionGroup.person_id)
            )
        else:
            groups_query = (
                select(SuggestionGroup.person_id, count, best)
                .where(*filters)
                .group_by(SuggestionGroup.person_id)
                .order_by(best.desc(), SuggestionGroup.person_id)
            )
        totals = self.session.execute(
            select(
                func.count(func.distinct(SuggestionGroup.person_id)),
                func.coalesce(func.sum(SuggestionGroup.suggestion_count), 0),
            ).where(*filters)
        ).one()
        groups = [
            GroupRow(int(p), int(n), float(m or 0.0))
            for p, n, m in self.session.execute(groups_query.offset(offset).limit(groups_per_page))
        ]
        suggestions: dict[int, list[FaceSuggestion]] = {g.person_id: [] for g in groups}
        if groups:
            rank = (
                func.row_number()
                .over(
                    partition_by=FaceSuggestion.suggested_person_id,
                    order_by=(FaceSuggestion.confidence.desc(), FaceSuggestion.id),
                )
                .label("rank")
            )
            inner = select(FaceSuggestion.id, rank).where(
                FaceSuggestion.suggested_person_id.in_(list(suggestions))
            )
            if status is not None:
                inner = inner.where(FaceSuggestion.status == status)
            ranked = inner.subquery()
            rows = self.session.scalars(
                select(FaceSuggestion)
                .join(ranked, ranked.c.id == FaceSuggestion.id)
                .where(ranked.c.rank <= per_group)
                .order_by(FaceSuggestion.suggested_person_id, ranked.c.rank)
            )
            for s in rows:
                suggestions[s.suggested_person_id].append(s)
        return GroupedPage(groups, suggestions, int(totals[0]), int(totals[1]))

    def flat_page(
        self, offset: int, limit: int, status: str | None, person_id: int | None
    ) -> tuple[int, Sequence[FaceSuggestion]]:
        filters = []
        if status is not None:
            filters.append(FaceSuggestion.status == status)
        if person_id is not None:
            filters.append(FaceSuggestion.suggested_person_id == person_id)
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
