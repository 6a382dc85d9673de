"""Browsing the library: asset lists with filters, asset detail with faces, and the files
behind thumbnails, full images and face crops."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError, NotFoundError
from image_search.faces.browse import FaceWithPerson, with_names_and_paths
from image_search.faces.models import Face
from image_search.library.media import THUMBNAIL_SIZES, sharded_path
from image_search.library.models import Asset, AssetKind, AssetStatus
from image_search.library.repository import folder_prefix, path_below, path_directly_in
from image_search.paging import page_offset

# Formats every current browser displays; other originals (HEIC, TIFF, ...) are served as their
# 1440 px JPEG preview instead.
BROWSER_IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/bmp"}
)
MAX_PAGE_SIZE = 500
MAX_BATCH_THUMBNAILS = 200


@dataclass(slots=True)
class AssetFilters:
    kind: str | None = None
    status: str | None = None
    person_id: int | None = None
    folder: str | None = None  # absolute folder: assets below it (see recursive)
    taken_after: datetime | None = None
    taken_before: datetime | None = None
    camera: str | None = None  # substring of make or model, case-insensitive
    has_faces: bool | None = None
    recursive: bool = True  # with folder: every subfolder too; False: only files directly in it


@dataclass(slots=True)
class AssetDetail:
    asset: Asset
    faces: list[FaceWithPerson]


@dataclass(slots=True)
class FileToSend:
    path: Path
    media_type: str


def face_counts(session: Session, asset_ids: list[int]) -> dict[int, int]:
    """Faces per asset for one page of assets (ix_faces_asset_id), absent = 0."""
    if not asset_ids:
        return {}
    rows = session.execute(
        select(Face.asset_id, func.count(Face.id))
        .where(Face.asset_id.in_(asset_ids))
        .group_by(Face.asset_id)
    )
    return {int(asset_id): int(n) for asset_id, n in rows}


def timeline_order(dialect: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The library's order, newest capture first, then id (ix_assets_timeline, migration 0003).
    SQLite already puts NULLs last in DESC order and cannot use the index when the query spells
    NULLS LAST."""
    taken = Asset.taken_at.desc()
    if dialect != "sqlite":
        taken = taken.nulls_last()
    return taken, Asset.id.desc()


class CatalogService:
    def __init__(self, session: Session, data_dir: Path) -> None:
        self.session = session
        self.data_dir = data_dir

    def list_assets(
        self, filters: AssetFilters, page: int = 1, page_size: int = 100
    ) -> tuple[int, list[tuple[Asset, int]]]:
        """(total, [(asset, face count)]) newest first (by capture time, then id).

        Raises ``InvalidInputError`` for page < 1, a page size outside 1..500 or an unknown
        kind or status.
        """
        offset = page_offset(page, page_size, MAX_PAGE_SIZE)
        conditions = self._conditions(filters, self.session.get_bind().dialect.name)
        total = self.session.scalar(select(func.count(Asset.id)).where(*conditions)) or 0
        assets = list(
            self.session.scalars(
                select(Asset)
                .where(*conditions)
                .order_by(*timeline_order(self.session.get_bind().dialect.name))
                .offset(offset)
                .limit(page_size)
            )
        )
        counts = face_counts(self.session, [a.id for a in assets])
        return int(total), [(a, counts.get(a.id, 0)) for a in assets]

    def detail(self, asset_id: int) -> AssetDetail:
        asset = self._require(asset_id)
        faces = list(
            self.session.scalars(select(Face).where(Face.asset_id == asset_id).order_by(Face.id))
        )
        return AssetDetail(asset, with_names_and_paths(self.session, faces))

    def thumbnail(self, asset_id: int, size: str = "small") -> FileToSend:
        """The stored thumbnail (``small``: 250 px WebP, ``preview``: 1440 px JPEG).

        Raises ``InvalidInputError`` (unknown size), ``NotFoundError`` (no asset, or no
        thumbnail yet: videos and unprocessed or failed files).
        """
        if size not in THUMBNAIL_SIZES:
            raise InvalidInputError(f"unknown size {size!r}: use one of {sorted(THUMBNAIL_SIZES)}")
        asset = self._require(asset_id)
        fmt = THUMBNAIL_SIZES[size][1].lower()
        if asset.content_hash is None:
            raise NotFoundError(f"asset {asset_id} has no thumbnail yet")
        path = sharded_path(self.data_dir / "thumbnails", asset.content_hash, f"-{size}.{fmt}")
        if not path.is_file():
            raise NotFoundError(f"asset {asset_id} has no thumbnail yet")
        return FileToSend(path, f"image/{fmt}")

    def full_image(self, asset_id: int) -> FileToSend:
        """The original file when browsers can show it, else the 1440 px preview.

        Raises ``NotFoundError`` when the file is gone (asset missing) and no preview exists.
        """
        asset = self._require(asset_id)
        original = Path(asset.path)
        if (
            asset.kind == AssetKind.IMAGE
            and asset.mime_type in BROWSER_IMAGE_TYPES
            and asset.status != AssetStatus.MISSING
            and original.is_file()
        ):
            return FileToSend(original, asset.mime_type or "application/octet-stream")
        return self.thumbnail(asset_id, "preview")

    def face_crop(self, face_id: int) -> FileToSend:
        face = self.session.get(Face, face_id)
        if face is None:
            raise NotFoundError(f"face {face_id} does not exist")
        if not face.crop_path or not (self.data_dir / face.crop_path).is_file():
            raise NotFoundError(f"face {face_id} has no crop")
        return FileToSend(self.data_dir / face.crop_path, "image/jpeg")

    def thumbnails_as_data_uris(self, asset_ids: list[int]) -> dict[int, str | None]:
        """Small thumbnails as ``data:image/webp;base64,...`` URIs; None for assets without a
        thumbnail or unknown ids. At most 200 ids per call (``InvalidInputError``)."""
        if not asset_ids:
            raise InvalidInputError("give at least one asset id")
        if len(asset_ids) > MAX_BATCH_THUMBNAILS:
            raise InvalidInputError(f"at most {MAX_BATCH_THUMBNAILS} asset ids per request")
        found: dict[int, str | None] = {}
        for asset_id in dict.fromkeys(asset_ids):
            try:
                thumb = self.thumbnail(asset_id)
            except NotFoundError:
                found[asset_id] = None
                continue
            encoded = base64.b64encode(thumb.path.read_bytes()).decode("ascii")
            found[asset_id] = f"data:{thumb.media_type};base64,{encoded}"
        return found

    def _require(self, asset_id: int) -> Asset:
        asset = self.session.get(Asset, asset_id)
        if asset is None:
            raise NotFoundError(f"asset {asset_id} does not exist")
        return asset

    @staticmethod
    def _conditions(filters: AssetFilters, dialect: str) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.kind is not None:
            if filters.kind not in set(AssetKind):
                raise InvalidInputError(f"unknown kind {filters.kind!r}")
            conditions.append(Asset.kind == filters.kind)
        if filters.status is not None:
            if filters.status not in set(AssetStatus):
                raise InvalidInputError(f"unknown status {filters.status!r}")
            conditions.append(Asset.status == filters.status)
        if filters.person_id is not None:
            conditions.append(
                Asset.id.in_(select(Face.asset_id).where(Face.person_id == filters.person_id))
            )
        if filters.folder:
            prefix = folder_prefix(filters.folder)
            below = path_below if filters.recursive else path_directly_in
            conditions.append(below(prefix, dialect))
        if filters.taken_after is not None:
            conditions.append(Asset.taken_at >= filters.taken_after)
        if filters.taken_before is not None:
            conditions.append(Asset.taken_at <= filters.taken_before)
        if filters.camera:
            needle = f"%{filters.camera.lower()}%"
            conditions.append(
                func.lower(
                    func.coalesce(Asset.camera_make, "")
                    + " "
                    + func.coalesce(Asset.camera_model, "")
                ).like(needle)
            )
        if filters.has_faces is not None:
            with_faces = Asset.id.in_(select(Face.asset_id))
            conditions.append(with_faces if filters.has_faces else ~with_faces)
        return conditions
