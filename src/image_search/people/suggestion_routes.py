"""HTTP: the face-suggestion contract of ../shared/seeds/002_c68180e0afd50046.txt under
``/api/v1/faces/suggestions``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse

from image_search.api.deps import ReadFactoryDep, SessionDep, SettingsDep, wake_job_runner
from image_search.api.schemas import ERROR_RESPONSES, SSE_RESPONSE
from image_search.errors import InvalidInputError, NotFoundError
from image_search.jobs.events import job_event_stream, read_job
from image_search.people.matching_settings import MatchingSettingsService
from image_search.people.schemas import (
    BulkActionRequest,
    BulkActionResponse,
    FindMoreCentroidRequest,
    FindMoreJobSchema,
    FindMoreRequest,
    GroupedSuggestionsResponse,
    SuggestionListResponse,
    SuggestionSchema,
    SuggestionSettingsSchema,
    SuggestionSettingsUpdate,
    job_reference,
)
from image_search.people.suggestions import SuggestionService

router = APIRouter(
    prefix="/api/v1/faces/suggestions", tags=["suggestions"], responses=ERROR_RESPONSES
)
StatusFilter = Literal["pending", "accepted", "rejected", "expired", "all"]
Wake = Annotated[None, Depends(wake_job_runner)]


@router.get("", response_model=GroupedSuggestionsResponse | SuggestionListResponse)
def list_suggestions(
    session: SessionDep,
    settings: SettingsDep,
    grouped: bool = False,
    page: int = Query(default=1, ge=1),
    groups_per_page: int | None = Query(default=None, alias="groupsPerPage", ge=1, le=200),
    suggestions_per_group: int | None = Query(
        default=None, alias="suggestionsPerGroup", ge=1, le=200
    ),
    page_size: int = Query(default=50, alias="pageSize", ge=1, le=200),
    status: StatusFilter | None = None,
    person_id: int | None = Query(default=None, alias="personId"),
    face_id: int | None = Query(default=None, alias="faceId"),
) -> GroupedSuggestionsResponse | SuggestionListResponse:
    """Suggestions, grouped by person (``grouped=true``: groups ordered by their best
    confidence, paginated by group; page sizes default to the stored settings) or as a flat
    list by confidence. ``status`` defaults to ``pending`` when grouped and to all otherwise
    (``all`` also means no status filter). ``faceId`` (flat list only) keeps the suggestions
    of one face: the persons it could be. A page past the end is empty."""
    service = SuggestionService(session, settings.model_pack)
    chosen: str | None
    if grouped:
        chosen = "pending" if status is None else (None if status == "all" else status)
        stored = MatchingSettingsService(session, settings.model_pack).get()
        found = service.grouped(
            page,
            groups_per_page or stored.suggestion_groups_per_page,
            suggestions_per_group or stored.suggestion_items_per_group,
            chosen,
            person_id,
        )
        return GroupedSuggestionsResponse.build(found, chosen)
    chosen = None if status in (None, "all") else status
    total, views = service.flat(page, page_size, chosen, person_id, face_id)
    return SuggestionListResponse(
        items=[SuggestionSchema.from_view(v) for v in views],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/settings", response_model=SuggestionSettingsSchema)
def get_settings(session: SessionDep, settings: SettingsDep) -> SuggestionSettingsSchema:
    """Thresholds of the configured model pack (cosine similarities), their calibrated
    defaults, and the review page sizes. 422 for a pack that is not calibrated."""
    service = MatchingSettingsService(session, settings.model_pack)
    return SuggestionSettingsSchema.build(service.get(), service.calibrated_defaults())


@router.put("/settings", response_model=SuggestionSettingsSchema)
def update_settings(
    body: SuggestionSettingsUpdate, session: SessionDep, settings: SettingsDep
) -> SuggestionSettingsSchema:
    """Change thresholds or page sizes (fields left out keep their value). 422 when the
    suggestion threshold would exceed the auto-assign threshold."""
    service = MatchingSettingsService(session, settings.model_pack)
    updated = service.update(
        body.auto_assign_threshold,
        body.suggestion_threshold,
        body.groups_per_page,
        body.items_per_group,
    )
    return SuggestionSettingsSchema.build(updated, service.calibrated_defaults())


@router.post("/bulk-action", response_model=BulkActionResponse)
def bulk_action(
    body: BulkActionRequest, session: SessionDep, settings: SettingsDep, _: Wake
) -> BulkActionResponse:
    """Accept, reject or undo many suggestions; one result per id (failures do not stop the
    others). With ``autoFindMore`` after accepting, a find-more job per person touched."""
    result = SuggestionService(session, settings.model_pack).bulk(
        body.suggestion_ids, body.action, body.auto_find_more, body.find_more_prototype_count
    )
    return BulkActionResponse.build(result)


@router.post("/assign", response_model=FindMoreJobSchema, status_code=202)
def start_assignment(session: SessionDep, settings: SettingsDep, _: Wake) -> FindMoreJobSchema:
    """Queue a run of the two-tier assignment over every unassigned face (it also runs after
    each index run)."""
    job = SuggestionService(session, settings.model_pack).start_assignment()
    return job_reference(job.id, None, job.status)


@router.get("/{suggestion_id}", response_model=SuggestionSchema)
def get_suggestion(
    suggestion_id: int, session: SessionDep, settings: SettingsDep
) -> SuggestionSchema:
    """One suggestion with its face box and file."""
    return SuggestionSchema.from_view(
        SuggestionService(session, settings.model_pack).view(suggestion_id)
    )


@router.post("/{suggestion_id}/accept", response_model=SuggestionSchema)
def accept(suggestion_id: int, session: SessionDep, settings: SettingsDep) -> SuggestionSchema:
    """Assign the face to the suggested person. 404 unknown id, 409 not pending."""
    return SuggestionSchema.from_view(
        SuggestionService(session, settings.model_pack).accept(suggestion_id)
    )


@router.post("/{suggestion_id}/reject", response_model=SuggestionSchema)
def reject(suggestion_id: int, session: SessionDep, settings: SettingsDep) -> SuggestionSchema:
    """Reject: the face is never suggested for or auto-assigned to this person again. 404
    unknown id, 409 not pending."""
    return SuggestionSchema.from_view(
        SuggestionService(session, settings.model_pack).reject(suggestion_id)
    )


@router.post("/{suggestion_id}/undo", response_model=SuggestionSchema)
def undo(suggestion_id: int, session: SessionDep, settings: SettingsDep) -> SuggestionSchema:
    """Take back an accept or a reject; the suggestion is pending again. 409 otherwise."""
    return SuggestionSchema.from_view(
        SuggestionService(session, settings.model_pack).undo(suggestion_id)
    )


@router.post("/persons/{person_id}/find-more", response_model=FindMoreJobSchema, status_code=202)
def find_more(
    person_id: int,
    session: SessionDep,
    settings: SettingsDep,
    _: Wake,
    body: FindMoreRequest | None = None,
) -> FindMoreJobSchema:
    """Queue find-more: sample ``prototypeCount`` labelled faces weighted by quality, search
    the unassigned faces, create up to ``maxSuggestions`` suggestions at or above
    ``minConfidence`` (default: the suggestion threshold). Progress: the events URL."""
    body = body or FindMoreRequest()
    job = SuggestionService(session, settings.model_pack).start_find_more(
        person_id, body.model_dump(by_alias=True, exclude_none=True), centroid=False
    )
    return job_reference(job.id, person_id, job.status)


@router.post(
    "/persons/{person_id}/find-more-centroid", response_model=FindMoreJobSchema, status_code=202
)
def find_more_centroid(
    person_id: int,
    session: SessionDep,
    settings: SettingsDep,
    _: Wake,
    body: FindMoreCentroidRequest | None = None,
) -> FindMoreJobSchema:
    """Queue find-more by centroid: one search with the mean of the person's embeddings."""
    body = body or FindMoreCentroidRequest()
    job = SuggestionService(session, settings.model_pack).start_find_more(
        person_id, body.model_dump(by_alias=True, exclude_none=True), centroid=True
    )
    return job_reference(job.id, person_id, job.status)


@router.get("/persons/{person_id}/find-more-events", responses=SSE_RESPONSE)
async def find_more_events(
    person_id: int,
    factory: ReadFactoryDep,
    job_id: str | None = Query(default=None, alias="jobId"),
    progress_key: str | None = Query(default=None, alias="progressKey"),
) -> EventSourceResponse:
    """Server-sent progress of a find-more job of this person, named by ``jobId`` or by the
    contract's ``progressKey`` (find_more:progress:<personId>:<jobId>). Phases: queued,
    sampling_prototypes, searching, creating_suggestions, complete (or failed)."""
    if job_id is None and progress_key is not None:
        job_id = progress_key.rsplit(":", 1)[-1]
    if not job_id:
        raise InvalidInputError("give jobId or progressKey")
    with_person = await _job_person(factory, job_id)
    if with_person != person_id:
        raise NotFoundError(f"person {person_id} has no job {job_id}")
    return await job_event_stream(factory, job_id)


async def _job_person(factory: ReadFactoryDep, job_id: str) -> int | None:
    job = await asyncio.to_thread(read_job, factory, job_id)
    return job.person_id if job is not None else None
