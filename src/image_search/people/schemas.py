"""API shapes of persons, suggestions, find-more jobs and matching settings (camelCase JSON,
field names of the suggestion contract in ../shared/seeds/002_c68180e0afd50046.txt)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from image_search.api.schemas import CamelModel, ItemResultSchema, Page
from image_search.faces.models import ModelPackSettings
from image_search.people.models import Person
from image_search.people.service import PersonDetail
from image_search.people.suggestions import (
    BulkResult,
    GroupedSuggestions,
    SuggestionView,
)
from image_search.search.names import shown_name

SuggestionStatusName = Literal["pending", "accepted", "rejected", "expired"]


def face_crop_url(face_id: int) -> str:
    return f"/api/v1/faces/{face_id}/crop"


def thumbnail_url(asset_id: int) -> str:
    return f"/api/v1/images/{asset_id}/thumbnail"


def full_image_url(asset_id: int) -> str:
    return f"/api/v1/images/{asset_id}/full"


# persons ---------------------------------------------------------------------------------------
class PersonSchema(CamelModel):
    id: int
    name: str = Field(
        description="Full name; hierarchical with '/' (for example Family/Smith/Anna)."
    )
    display_name: str | None = Field(description="Display name set by a user, if any.")
    shown_name: str = Field(
        description="What to show: the display name, else the last part of the name."
    )
    hidden: bool
    birth_date: date | None
    cover_face_id: int | None
    cover_face_url: str | None
    face_count: int
    created_at: datetime

    @classmethod
    def build(cls, person: Person, face_count: int) -> PersonSchema:
        return cls(
            id=person.id,
            name=person.name,
            display_name=person.display_name,
            shown_name=shown_name(person.name, person.display_name),
            hidden=person.hidden,
            birth_date=person.birth_date,
            cover_face_id=person.cover_face_id,
            cover_face_url=face_crop_url(person.cover_face_id) if person.cover_face_id else None,
            face_count=face_count,
            created_at=person.created_at,
        )


class PrototypeSchema(CamelModel):
    face_id: int
    role: Literal["auto", "pinned"]
    model_pack: str
    face_crop_url: str


class PersonDetailSchema(PersonSchema):
    prototypes: list[PrototypeSchema]
    centroid_face_count: int  # faces the stored centroid was computed from

    @classmethod
    def from_detail(cls, detail: PersonDetail) -> PersonDetailSchema:
        base = PersonSchema.build(detail.person, detail.face_count)
        return cls(
            **base.model_dump(),
            prototypes=[
                PrototypeSchema(
                    face_id=p.face_id,
                    role=p.role,  # type: ignore[arg-type]
                    model_pack=p.model_pack,
                    face_crop_url=face_crop_url(p.face_id),
                )
                for p in detail.prototypes
            ],
            centroid_face_count=detail.centroid_face_count,
        )


class PersonListResponse(Page[PersonSchema]):
    pass


class PersonCreate(CamelModel):
    name: str = Field(min_length=1, max_length=255)
    birth_date: date | None = None


class PersonUpdate(CamelModel):
    """Only the fields present are changed; ``null`` clears birthDate / coverFaceId."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    hidden: bool | None = None
    birth_date: date | None = None
    cover_face_id: int | None = None


class MergeRequest(CamelModel):
    source_person_ids: list[int] = Field(min_length=1, max_length=1000)


class PinRequest(CamelModel):
    pinned: bool = True


class DeletedResponse(CamelModel):
    id: int
    faces_released: int


# suggestions -----------------------------------------------------------------------------------
class SuggestionSchema(CamelModel):
    id: int
    face_instance_id: int
    suggested_person_id: int
    person_name: str | None
    confidence: float
    source_face_id: int | None
    status: SuggestionStatusName
    source: str
    created_at: datetime
    reviewed_at: datetime | None
    face_thumbnail_url: str
    face_crop_url: str
    full_image_url: str
    asset_id: int
    path: str
    bbox_x: float
    bbox_y: float
    bbox_w: float
    bbox_h: float
    video_timestamp: float | None = Field(
        description="A face found in a video: the time of its frame (seconds from the start; "
        "GET /api/v1/faces/{faceInstanceId}/snippet plays the clip around it). Null for photos."
    )
    image_width: int | None
    image_height: int | None
    matching_prototype_ids: list[int] | None
    prototype_scores: dict[str, float] | None
    aggregate_confidence: float | None
    prototype_match_count: int | None
    is_multi_prototype_match: bool

    @classmethod
    def from_view(cls, view: SuggestionView) -> SuggestionSchema:
        s, face, asset = view.suggestion, view.face, view.asset
        return cls(
            id=s.id,
            face_instance_id=s.face_id,
            suggested_person_id=s.suggested_person_id,
            person_name=view.person_name,
            confidence=s.confidence,
            source_face_id=s.source_face_id,
            status=s.status,  # type: ignore[arg-type]
            source=s.source,
            created_at=s.created_at,
            reviewed_at=s.reviewed_at,
            face_thumbnail_url=thumbnail_url(asset.id),
            face_crop_url=face_crop_url(face.id),
            full_image_url=full_image_url(asset.id),
            asset_id=asset.id,
            path=asset.path,
            bbox_x=face.box_x,
            bbox_y=face.box_y,
            bbox_w=face.box_width,
            bbox_h=face.box_height,
            video_timestamp=face.video_timestamp,
            image_width=asset.width,
            image_height=asset.height,
            matching_prototype_ids=s.matching_prototype_ids,
            prototype_scores=s.prototype_scores,
            aggregate_confidence=s.aggregate_confidence,
            prototype_match_count=s.prototype_match_count,
            is_multi_prototype_match=(s.prototype_match_count or 0) > 1,
        )


class SuggestionGroupSchema(CamelModel):
    person_id: int
    person_name: str | None
    suggestion_count: int
    pending_count: int | None  # same as suggestionCount when listing pending suggestions
    labeled_face_count: int
    max_confidence: float
    suggestions: list[SuggestionSchema]


class GroupedSuggestionsResponse(CamelModel):
    groups: list[SuggestionGroupSchema]
    total_groups: int
    total_suggestions: int
    page: int
    groups_per_page: int
    suggestions_per_group: int

    @classmethod
    def build(cls, found: GroupedSuggestions, status: str | None) -> GroupedSuggestionsResponse:
        return cls(
            groups=[
                SuggestionGroupSchema(
                    person_id=g.person_id,
                    person_name=g.person_name,
                    suggestion_count=g.suggestion_count,
                    pending_count=g.suggestion_count if status == "pending" else None,
                    labeled_face_count=g.labelled_face_count,
                    max_confidence=g.max_confidence,
                    suggestions=[SuggestionSchema.from_view(v) for v in g.suggestions],
                )
                for g in found.groups
            ],
            total_groups=found.total_groups,
            total_suggestions=found.total_suggestions,
            page=found.page,
            groups_per_page=found.groups_per_page,
            suggestions_per_group=found.suggestions_per_group,
        )


class SuggestionListResponse(Page[SuggestionSchema]):
    pass


class BulkActionRequest(CamelModel):
    suggestion_ids: list[int] = Field(min_length=1, max_length=1000)
    action: Literal["accept", "reject", "undo"]
    auto_find_more: bool = False
    find_more_prototype_count: int = Field(default=50, ge=1, le=1000)


class FindMoreJobSchema(CamelModel):
    person_id: int | None
    job_id: str
    progress_key: str  # find_more:progress:<person id>:<job id>, as in the contract
    status: str
    events_url: str


def job_reference(job_id: str, person_id: int | None, status: str) -> FindMoreJobSchema:
    return FindMoreJobSchema(
        person_id=person_id,
        job_id=job_id,
        progress_key=f"find_more:progress:{person_id}:{job_id}",
        status=status,
        events_url=f"/api/v1/jobs/{job_id}/events",
    )


class BulkActionResponse(CamelModel):
    processed: int
    failed: int
    errors: list[ItemResultSchema]  # the failed items, as in the contract
    results: list[ItemResultSchema]  # every item, in request order
    find_more_jobs: list[FindMoreJobSchema]

    @classmethod
    def build(cls, result: BulkResult) -> BulkActionResponse:
        items = [ItemResultSchema.model_validate(r) for r in result.results]
        return cls(
            processed=result.processed,
            failed=result.failed,
            errors=[i for i in items if not i.ok],
            results=items,
            find_more_jobs=[
                job_reference(j.id, j.person_id, j.status) for j in result.find_more_jobs
            ],
        )


class FindMoreRequest(CamelModel):
    prototype_count: int = Field(default=50, ge=1, le=1000)
    max_suggestions: int = Field(default=100, ge=1, le=10000)
    min_confidence: float | None = Field(default=None, ge=-1.0, le=1.0)


class FindMoreCentroidRequest(CamelModel):
    min_similarity: float | None = Field(default=None, ge=-1.0, le=1.0)
    max_results: int = Field(default=200, ge=1, le=10000)
    unassigned_only: bool = True


# settings --------------------------------------------------------------------------------------
class SuggestionSettingsSchema(CamelModel):
    model_pack: str
    auto_assign_threshold: float | None
    suggestion_threshold: float | None
    calibrated_auto_assign_threshold: float | None
    calibrated_suggestion_threshold: float | None
    groups_per_page: int
    items_per_group: int

    @classmethod
    def build(
        cls, settings: ModelPackSettings, calibrated: tuple[float | None, float | None]
    ) -> SuggestionSettingsSchema:
        return cls(
            model_pack=settings.model_pack,
            auto_assign_threshold=settings.auto_assign_threshold,
            suggestion_threshold=settings.suggestion_threshold,
            calibrated_auto_assign_threshold=calibrated[0],
            calibrated_suggestion_threshold=calibrated[1],
            groups_per_page=settings.suggestion_groups_per_page,
            items_per_group=settings.suggestion_items_per_group,
        )


class SuggestionSettingsUpdate(CamelModel):
    auto_assign_threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    suggestion_threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    groups_per_page: int | None = Field(default=None, ge=1, le=200)
    items_per_group: int | None = Field(default=None, ge=1, le=200)
