"""API shapes of assets and images."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from image_search.api.schemas import CamelModel, Page
from image_search.faces.schemas import FaceSchema
from image_search.library.catalog import AssetDetail
from image_search.library.models import Asset


class AssetSchema(CamelModel):
    id: int
    path: str
    kind: str
    mime_type: str | None
    size: int  # bytes
    status: str
    stage: str
    error: str | None
    width: int | None  # after EXIF orientation
    height: int | None
    taken_at: datetime | None
    camera_make: str | None
    camera_model: str | None
    lens: str | None
    gps_latitude: float | None
    gps_longitude: float | None
    duration: float | None  # seconds, videos
    # Videos: FFmpeg codec names (audio None = silent), average frames per second, and the
    # display rotation (degrees counterclockwise) applied to width/height.
    video_codec: str | None = None
    audio_codec: str | None = None
    frame_rate: float | None = None
    rotation: int | None = None
    face_count: int
    thumbnail_url: str
    full_image_url: str

    @classmethod
    def build(cls, asset: Asset, face_count: int) -> AssetSchema:
        return cls(
            id=asset.id,
            path=asset.path,
            kind=asset.kind,
            mime_type=asset.mime_type,
            size=asset.size,
            status=asset.status,
            stage=asset.stage,
            error=asset.error,
            width=asset.width,
            height=asset.height,
            taken_at=asset.taken_at,
            camera_make=asset.camera_make,
            camera_model=asset.camera_model,
            lens=asset.lens,
            gps_latitude=asset.gps_latitude,
            gps_longitude=asset.gps_longitude,
            duration=asset.duration,
            video_codec=asset.video_codec,
            audio_codec=asset.audio_codec,
            frame_rate=asset.frame_rate,
            rotation=asset.rotation,
            face_count=face_count,
            thumbnail_url=f"/api/v1/images/{asset.id}/thumbnail",
            full_image_url=f"/api/v1/images/{asset.id}/full",
        )


class AssetDetailSchema(AssetSchema):
    faces: list[FaceSchema]

    @classmethod
    def from_detail(cls, detail: AssetDetail) -> AssetDetailSchema:
        base = AssetSchema.build(detail.asset, len(detail.faces))
        return cls(**base.model_dump(), faces=[FaceSchema.build(f) for f in detail.faces])


class AssetListResponse(Page[AssetSchema]):
    pass


class ThumbnailBatchRequest(CamelModel):
    asset_ids: list[int] = Field(min_length=1, max_length=200)


class ThumbnailBatchResponse(CamelModel):
    """``thumbnails`` maps each asked asset id to a data URI, or null when it has none."""

    thumbnails: dict[int, str | None]
    found: int
    not_found: int


class FolderSchema(CamelModel):
    """A folder holding assets: ``assetCount`` anywhere below it, ``directAssetCount``
    directly in it, ``hasChildren`` when one of its subfolders holds assets."""

    path: str  # absolute, no trailing separator
    name: str
    asset_count: int
    direct_asset_count: int
    has_children: bool


class FolderListResponse(CamelModel):
    """The subfolders of ``parent`` by name; ``parent`` null: the indexed roots."""

    parent: str | None
    folders: list[FolderSchema]
