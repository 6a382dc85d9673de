"""HTTP: assets (list with filters, detail with faces), the folder tree, and images
(thumbnail, full, batch)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from image_search.api.deps import SessionDep, SettingsDep
from image_search.api.schemas import ERROR_RESPONSES
from image_search.library.catalog import AssetFilters, CatalogService
from image_search.library.folders import FolderService
from image_search.library.schemas import (
    AssetDetailSchema,
    AssetListResponse,
    AssetSchema,
    FolderListResponse,
    FolderSchema,
    ThumbnailBatchRequest,
    ThumbnailBatchResponse,
)

router = APIRouter(prefix="/api/v1", tags=["assets"], responses=ERROR_RESPONSES)


@router.get("/assets", response_model=AssetListResponse)
def list_assets(
    session: SessionDep,
    settings: SettingsDep,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, alias="pageSize", ge=1, le=500),
    kind: Literal["image", "video"] | None = None,
    status: Literal["pending", "done", "failed", "missing"] | None = None,
    person_id: int | None = Query(default=None, alias="personId"),
    folder: str | None = Query(
        default=None, description="Absolute folder: only assets in it (see `recursive`)."
    ),
    recursive: bool = Query(
        default=True,
        description="With `folder`: true (default) includes every subfolder, false only the "
        "assets directly in the folder.",
    ),
    taken_after: datetime | None = Query(default=None, alias="takenAfter"),
    taken_before: datetime | None = Query(default=None, alias="takenBefore"),
    camera: str | None = Query(default=None, description="Part of camera make or model."),
    has_faces: bool | None = Query(default=None, alias="hasFaces"),
) -> AssetListResponse:
    """Assets newest first (capture time, then id), with filters and pagination. `folder`
    lists a folder with its subfolders, or only its own files with `recursive=false`."""
    filters = AssetFilters(
        kind, status, person_id, folder, taken_after, taken_before, camera, has_faces, recursive
    )
    total, rows = CatalogService(session, settings.data_dir).list_assets(filters, page, page_size)
    return AssetListResponse(
        items=[AssetSchema.build(a, n) for a, n in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/folders", response_model=FolderListResponse)
def list_folders(
    session: SessionDep,
    parent: str | None = Query(
        default=None, description="Absolute folder path; left out: the indexed root folders."
    ),
) -> FolderListResponse:
    """The folders directly inside `parent` that hold assets (any status), by name, with
    their asset counts (recursive and direct); without `parent` the indexed roots. 404 when
    no indexed asset lies below `parent`, 422 for a relative path."""
    folders = [FolderSchema.model_validate(f) for f in FolderService(session).subfolders(parent)]
    shown = None if parent is None else parent.rstrip("/") or "/"
    return FolderListResponse(parent=shown, folders=folders)


@router.get("/assets/{asset_id}", response_model=AssetDetailSchema)
def get_asset(asset_id: int, session: SessionDep, settings: SettingsDep) -> AssetDetailSchema:
    """An asset with its metadata and faces."""
    return AssetDetailSchema.from_detail(
        CatalogService(session, settings.data_dir).detail(asset_id)
    )


@router.get("/images/{asset_id}/thumbnail", response_class=FileResponse)
def thumbnail(
    asset_id: int,
    session: SessionDep,
    settings: SettingsDep,
    size: Literal["small", "preview"] = "small",
) -> FileResponse:
    """The stored thumbnail: ``small`` 250 px WebP (default) or ``preview`` 1440 px JPEG."""
    found = CatalogService(session, settings.data_dir).thumbnail(asset_id, size)
    return FileResponse(found.path, media_type=found.media_type)


@router.get("/images/{asset_id}/full", response_class=FileResponse)
def full_image(asset_id: int, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """The original file when browsers can display it, else its 1440 px JPEG preview."""
    found = CatalogService(session, settings.data_dir).full_image(asset_id)
    return FileResponse(found.path, media_type=found.media_type)


@router.post("/images/thumbnails/batch", response_model=ThumbnailBatchResponse)
def thumbnails_batch(
    body: ThumbnailBatchRequest, session: SessionDep, settings: SettingsDep
) -> ThumbnailBatchResponse:
    """Up to 200 small thumbnails in one call, as data URIs (null for ids without one)."""
    found = CatalogService(session, settings.data_dir).thumbnails_as_data_uris(body.asset_ids)
    hits = sum(v is not None for v in found.values())
    return ThumbnailBatchResponse(thumbnails=found, found=hits, not_found=len(found) - hits)
