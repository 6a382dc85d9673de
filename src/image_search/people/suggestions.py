"""Reviewing suggestions: the grouped and flat lists, accept, reject, undo, bulk actions with a
result per item, and find-more jobs for the persons a bulk accept touched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.errors import ConflictError, ImageSearchError, InvalidInputError, NotFoundError
from image_search.faces.models import Face
from image_search.jobs.models import Job
from image_search.jobs.repository import JobRepository
from image_search.library.models import Asset
from image_search.paging import check_size, page_offset
from image_search.people.models import FaceSuggestion, SuggestionStatus
from image_search.people.repository import PeopleRepository
from image_search.people.service import ItemResult, PersonService
from image_search.people.suggestion_repository import (
    AssetRef,
    FaceBox,
    SuggestionRecord,
    SuggestionRepository,
)

BULK_ACTIONS = ("accept", "reject", "undo")
MAX_PAGE_SIZE = 200


@dataclass(slots=True)
class SuggestionView:
    """A suggestion with what a reviewer needs to see it: face box and file."""

    suggestion: FaceSuggestion | SuggestionRecord
    face: FaceBox
    asset: AssetRef
    person_name: str | None


@dataclass(slots=True)
class SuggestionGroupView:
    person_id: int
    person_name: str | None
    suggestion_count: int
    max_confidence: float
    labelled_face_count: int
    suggestions: list[SuggestionView] = field(default_factory=list)


@dataclass(slots=True)
class GroupedSuggestions:
    groups: list[SuggestionGroupView]
    total_groups: int
    total_suggestions: int
    page: int
    groups_per_page: int
    suggestions_per_group: int


@dataclass(slots=True)
class BulkResult:
    processed: int
    failed: int
    results: list[ItemResult]
    find_more_jobs: list[Job] = field(default_factory=list)


def check_status(status: str | None) -> None:
    if status is not None and status not in set(SuggestionStatus):
        raise InvalidInputError(
            f"unknown status {status!r}: use one of {', '.join(SuggestionStatus)}"
        )


class SuggestionService:
    def __init__(self, session: Session, model_pack: str) -> None:
        self.session = session
        self.model_pack = model_pack
        self.suggestions = SuggestionRepository(session)
        self.people = PeopleRepository(session)
        self.persons = PersonService(session, model_pack)

    # reading -----------------------------------------------------------------------------
    def grouped(
        self,
        page: int = 1,
        groups_per_page: int = 20,
        suggestions_per_group: int = 20,
        status: str | None = SuggestionStatus.PENDING,
        person_id: int | None = None,
    ) -> GroupedSuggestions:
        """Suggestions grouped by person, groups by their best confidence (highest first),
        each with its best ``suggestions_per_group`` suggestions. A page past the end is
        empty, not an error; ``page`` < 1, sizes outside 1..200 and unknown statuses raise
        ``InvalidInputError``."""
        offset = page_offset(page, groups_per_page, MAX_PAGE_SIZE, "groupsPerPage")
        check_size(suggestions_per_group, MAX_PAGE_SIZE, "suggestionsPerGroup")
        check_status(status)
        found = self.suggestions.grouped_page(
            offset, groups_per_page, suggestions_per_group, status, person_id
        )
        person_ids = [g.person_id for g in found.groups]
        names = self.people.names(person_ids)
        labelled = self._labelled_counts(person_ids)
        groups = [
            SuggestionGroupView(
                g.person_id,
                names.get(g.person_id),
                g.suggestion_count,
                g.max_confidence,
                labelled.get(g.person_id, 0),
                [
                    SuggestionView(r.suggestion, r.face, r.asset, names.get(g.person_id))
                    for r in found.suggestions[g.person_id]
                ],
            )
            for g in found.groups
        ]
        return GroupedSuggestions(
            groups,
            found.total_groups,
            found.total_suggestions,
            page,
            groups_per_page,
            suggestions_per_group,
        )

    def flat(
        self,
        page: int = 1,
        page_size: int = 50,
        status: str | None = None,
        person_id: int | None = None,
        face_id: int | None = None,
    ) -> tuple[int, list[SuggestionView]]:
        """(total, one page of suggestions by confidence), optionally of one status, person
        or face (``face_id``: every person suggested for that face, e.g. the alternatives a
        reviewer sees). Raises ``InvalidInputError`` for a bad page or status."""
        offset = page_offset(page, page_size, MAX_PAGE_SIZE)
        check_status(status)
        total, rows = self.suggestions.flat_page(offset, page_size, status, person_id, face_id)
        views = self._views(rows)
        return total, [views[s.id] for s in rows if s.id in views]

    def view(self, suggestion_id: int) -> SuggestionView:
        suggestion = self._require(suggestion_id)
        return self._views([suggestion])[suggestion.id]

    # actions -----------------------------------------------------------------------------
    def accept(self, suggestion_id: int) -> SuggestionView:
        """Assign the face to the suggested person; the suggestion becomes accepted and the
        face's other pending suggestions expire. Raises ``NotFoundError``, ``ConflictError``
        (not pending)."""
        suggestion = self._require_pending(suggestion_id)
        # accepting says "yes, this person": an earlier "not this person" no longer holds
        self.people.remove_rejections([suggestion.face_id], suggestion.suggested_person_id)
        self.persons.apply_assignment(
            [suggestion.face_id], suggestion.suggested_person_id, "suggestion"
        )
        self.session.refresh(suggestion)
        return self.view(suggestion_id)

    def reject(self, suggestion_id: int) -> SuggestionView:
        """Mark the suggestion rejected and remember "not this person" for the pair. Raises
        ``NotFoundError``, ``ConflictError`` (not pending)."""
        suggestion = self._require_pending(suggestion_id)
        suggestion.status = SuggestionStatus.REJECTED
        suggestion.reviewed_at = utcnow()
        self.people.add_rejections([(suggestion.face_id, suggestion.suggested_person_id)])
        self.session.flush()
        return self.view(suggestion_id)

    def undo(self, suggestion_id: int) -> SuggestionView:
        """Take back an accept (the face is unassigned) or a reject (the pair is forgotten):
        the suggestion is pending again. Undoing an accept also reopens the face's other
        suggestions that the accept expired (see
        ``SuggestionRepository.reopen_expired_of_face``: not for pairs rejected since, nor
        where a pending one exists). Raises ``NotFoundError``, ``ConflictError`` (pending
        or expired, or the face has since moved to another person)."""
        suggestion = self._require(suggestion_id)
        face = self.people.faces([suggestion.face_id])[suggestion.face_id]
        person_id = suggestion.suggested_person_id
        was_accepted = suggestion.status == SuggestionStatus.ACCEPTED
        if was_accepted:
            if face.person_id != person_id:
                raise ConflictError(f"face {face.id} is no longer assigned to person {person_id}")
            self.persons.unassign([face.id])
        elif suggestion.status == SuggestionStatus.REJECTED:
            if face.person_id is not None:
                raise ConflictError(f"face {face.id} has been assigned to a person since")
            self.people.remove_rejections([face.id], person_id)
        else:
            raise ConflictError(
                f"suggestion {suggestion_id} is {suggestion.status}: only accepted or rejected "
                f"suggestions can be undone"
            )
        if (face.id, person_id) in self.suggestions.pending_by_pair([face.id]):
            raise ConflictError(
                f"face {face.id} already has a newer pending suggestion for person {person_id}"
            )
        self.suggestions.reopen(suggestion)
        if was_accepted:  # the face has no person now: its other candidates count again
            self.suggestions.reopen_expired_of_face(face.id)
        self.session.flush()
        return self.view(suggestion_id)

    def bulk(
        self,
        suggestion_ids: Sequence[int],
        action: str,
        auto_find_more: bool = False,
        find_more_prototype_count: int = 50,
    ) -> BulkResult:
        """Apply ``action`` (accept, reject, undo) to each id, one result per id (a failing id
        never stops the others). After accepting, with ``auto_find_more``, a find-more job is
        queued for each person that gained faces."""
        if action not in BULK_ACTIONS:
            raise InvalidInputError(f"unknown action {action!r}: use one of {BULK_ACTIONS}")
        if not suggestion_ids:
            raise InvalidInputError("give at least one suggestion id")
        if not 1 <= find_more_prototype_count <= 1000:
            raise InvalidInputError("findMorePrototypeCount must be between 1 and 1000")
        handler = {"accept": self.accept, "reject": self.reject, "undo": self.undo}[action]
        results: list[ItemResult] = []
        persons: list[int] = []
        with self.persons.batched_refresh():
            self._bulk_items(suggestion_ids, handler, results, persons)
        jobs: list[Job] = []
        if action == "accept" and auto_find_more:
            queue = JobRepository(self.session)
            jobs = [
                queue.enqueue(
                    "find_more",
                    {"personId": p, "prototypeCount": find_more_prototype_count},
                    person_id=p,
                )
                for p in dict.fromkeys(persons)
            ]
        ok = sum(r.ok for r in results)
        return BulkResult(ok, len(results) - ok, results, jobs)

    def _bulk_items(
        self,
        suggestion_ids: Sequence[int],
        handler: Callable[[int], SuggestionView],
        results: list[ItemResult],
        persons: list[int],
    ) -> None:
        """Apply ``handler`` to each id in its own savepoint; one result per id."""
        for suggestion_id in dict.fromkeys(suggestion_ids):
            savepoint = self.session.begin_nested()
            try:
                view = handler(suggestion_id)
            except ImageSearchError as exc:
                savepoint.rollback()
                results.append(ItemResult(suggestion_id, False, exc.code, exc.message))
                continue
            except IntegrityError as exc:  # a concurrent change broke a constraint: this item only
                savepoint.rollback()
                results.append(ItemResult(suggestion_id, False, "conflict", str(exc.orig)))
                continue
            savepoint.commit()
            results.append(ItemResult(suggestion_id, True))
            persons.append(view.suggestion.suggested_person_id)

    # jobs --------------------------------------------------------------------------------
    def start_find_more(self, person_id: int, params: dict[str, object], centroid: bool) -> Job:
        """Queue a find-more job (by sampled prototypes, or by centroid) for a person with
        faces. Raises ``NotFoundError`` (person), ``InvalidInputError`` (no faces yet)."""
        self.persons.require(person_id)
        if self.people.face_count(person_id) == 0:
            raise InvalidInputError(f"person {person_id} has no faces to search with")
        kind = "find_more_centroid" if centroid else "find_more"
        return JobRepository(self.session).enqueue(
            kind, {"personId": person_id, **params}, person_id=person_id
        )

    def start_assignment(self) -> Job:
        """Queue a run of the two-tier assignment over all unassigned faces."""
        return JobRepository(self.session).enqueue("assign", {})

    # helpers -----------------------------------------------------------------------------
    def _require(self, suggestion_id: int) -> FaceSuggestion:
        suggestion = self.suggestions.get(suggestion_id)
        if suggestion is None:
            raise NotFoundError(f"suggestion {suggestion_id} does not exist")
        return suggestion

    def _require_pending(self, suggestion_id: int) -> FaceSuggestion:
        suggestion = self._require(suggestion_id)
        if suggestion.status != SuggestionStatus.PENDING:
            raise ConflictError(f"suggestion {suggestion_id} is {suggestion.status}, not pending")
        return suggestion

    def _views(self, rows: Sequence[FaceSuggestion]) -> dict[int, SuggestionView]:
        """Views of suggestions with three narrow reads (faces, assets, names): the grouped
        page shows up to 10,000 suggestions and must not load embeddings or whole rows."""
        face_ids = list({s.face_id for s in rows})
        faces: dict[int, FaceBox] = {}
        for start in range(0, len(face_ids), 1000):
            for f_id, a_id, x, y, w, h, timestamp in self.session.execute(
                select(
                    Face.id,
                    Face.asset_id,
                    Face.box_x,
                    Face.box_y,
                    Face.box_width,
                    Face.box_height,
                    Face.video_timestamp,
                ).where(Face.id.in_(face_ids[start : start + 1000]))
            ):
                faces[f_id] = FaceBox(f_id, a_id, x, y, w, h, timestamp)
        asset_ids = list({f.asset_id for f in faces.values()})
        assets: dict[int, AssetRef] = {}
        for start in range(0, len(asset_ids), 1000):
            for a_id, path, width, height in self.session.execute(
                select(Asset.id, Asset.path, Asset.width, Asset.height).where(
                    Asset.id.in_(asset_ids[start : start + 1000])
                )
            ):
                assets[a_id] = AssetRef(a_id, path, width, height)
        names = self.people.names(s.suggested_person_id for s in rows)
        views: dict[int, SuggestionView] = {}
        for s in rows:
            face = faces.get(s.face_id)
            if face is not None and face.asset_id in assets:
                views[s.id] = SuggestionView(
                    s, face, assets[face.asset_id], names.get(s.suggested_person_id)
                )
        return views

    def _labelled_counts(self, person_ids: list[int]) -> dict[int, int]:
        return self.people.face_counts(person_ids)
