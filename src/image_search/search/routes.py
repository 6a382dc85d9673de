"""HTTP: search (filters, free text, more like this) and the cameras of the library."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from image_search.api.deps import SessionDep, SettingsDep
from image_search.api.schemas import ERROR_RESPONSES
from image_search.library.repository import AssetRepository
from image_search.library.schemas import AssetSchema
from image_search.search.filters import SearchFilters, parse_date_bound, place_filters
from image_search.search.schemas import (
    CameraListResponse,
    CameraSchema,
    SearchHitSchema,
    SearchResponse,
)
from image_search.search.service import SearchRequest, SearchService

router = APIRouter(prefix="/api/v1/search", tags=["search"], responses=ERROR_RESPONSES)


@router.get("", response_model=SearchResponse)
def search(
    session: SessionDep,
    settings: SettingsDep,
    q: str | None = Query(
        default=None, max_length=1000, description="Free text, ranked by CLIP similarity."
    ),
    similar_to: int | None = Query(
        default=None, alias="similarTo", description="Asset id: the images most like it."
    ),
    person_id: list[int] = Query(
        default_factory=list, alias="personId", description="Repeat for several people."
    ),
    person_mode: Literal["all", "any"] = Query(
        default="all",
        alias="personMode",
        description="all: every given person is in the photo; any: at least one is.",
    ),
    taken_from: str | None = Query(
        default=None, alias="from", description="YYYY-MM-DD or ISO date-time, inclusive."
    ),
    taken_to: str | None = Query(
        default=None, alias="to", description="YYYY-MM-DD (the whole day) or ISO date-time."
    ),
    camera_make: str | None = Query(default=None, alias="cameraMake", max_length=128),
    camera_model: str | None = Query(default=None, alias="cameraModel", max_length=128),
    south: float | None = Query(default=None, description="Place box: degrees latitude."),
    west: float | None = Query(default=None, description="Place box: degrees longitude."),
    north: float | None = None,
    east: float | None = None,
    latitude: float | None = Query(default=None, description="Place radius: centre."),
    longitude: float | None = None,
    radius_km: float | None = Query(default=None, alias="radiusKm"),
    folder: str | None = Query(default=None, description="Absolute folder."),
    recursive: bool = Query(default=True, description="With folder: include subfolders."),
    kind: Literal["image", "video"] | None = None,
    has_unnamed_faces: bool | None = Query(default=None, alias="hasUnnamedFaces"),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, alias="pageSize", ge=1, le=500),
) -> SearchResponse:
    """Assets matching every given filter. With `q`, ranked by CLIP similarity to the text;
    with `similarTo`, by similarity to that image (itself left out); otherwise newest first.
    `personId` (repeated) with `personMode` all/any; `from`/`to` capture dates; camera make
    and model (exact, ignoring case); a place box (`south`, `west`, `north`, `east`; west >
    east crosses the antimeridian) or radius (`latitude`, `longitude`, `radiusKm`,
    great-circle); `folder` (+ `recursive`); `kind`; `hasUnnamedFaces`.

    404: unknown person or similarTo asset. 422: blank text, text with similarTo, inverted
    dates, a partial or out-of-range place, a bad date. 503: CLIP off or its model files
    missing (text / similar search only)."""
    box, circle = place_filters((south, west, north, east), (latitude, longitude, radius_km))
    filters = SearchFilters(
        person_ids=person_id,
        person_mode=person_mode,
        taken_from=parse_date_bound(taken_from, end=False, name="from"),
        taken_to=parse_date_bound(taken_to, end=True, name="to"),
        camera_make=camera_make or None,
        camera_model=camera_model or None,
        box=box,
        circle=circle,
        folder=folder or None,
        recursive=recursive,
        kind=kind,
        has_unnamed_faces=has_unnamed_faces,
    )
    request = SearchRequest(filters, q, similar_to, page, page_size)
    result = SearchService(session, settings).search(request)
    return SearchResponse(
        mode=result.mode,
        items=[
            SearchHitSchema(**AssetSchema.build(h.asset, h.face_count).model_dump(), score=h.score)
            for h in result.hits
        ],
        total=result.total,
        page=page,
        page_size=page_size,
    )


@router.get("/cameras", response_model=CameraListResponse)
def cameras(session: SessionDep) -> CameraListResponse:
    """Camera make/model pairs of the library with their asset counts, most used first."""
    return CameraListResponse(
        items=[
            CameraSchema(make=make, model=model, count=count)
            for make, model, count in AssetRepository(session).camera_counts()
        ]
    )
