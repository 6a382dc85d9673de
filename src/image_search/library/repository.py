"""All SQL of the library domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.faces.models import Face
from image_search.library.models import Asset, AssetKind, AssetStatus, Stage


class AssetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_paths_under(self, root: str) -> dict[str, Asset]:
        """Assets whose path lies under ``root`` (a folder path without trailing separator)."""
        prefix = root.rstrip("/") + "/"
        rows = self.session.scalars(
            select(Asset).where(
                or_(Asset.path.startswith(prefix, autoescape=True), Asset.root == root)
            )
        )
        # SQLite's LIKE ignores case: /x/Photos must not claim /x/photos, so check again exactly.
        return {
            asset.path: asset
            for asset in rows
            if asset.path.startswith(prefix) or asset.root == root
        }

    def add(self, asset: Asset) -> Asset:
        self.session.add(asset)
        return asset

    def get(self, asset_id: int) -> Asset | None:
        return self.session.get(Asset, asset_id)

    def needing_hash(self, limit: int) -> Sequence[Asset]:
        return self.session.scalars(
            select(Asset)
            .where(Asset.stage == Stage.DISCOVERED, Asset.status == AssetStatus.PENDING)
            .order_by(Asset.id)
            .limit(limit)
        ).all()

    def missing_with_hash(self, content_hash: str, size: int) -> Asset | None:
        """A missing asset with these bytes: the old place of a moved or renamed file."""
        return self.session.scalars(
            select(Asset)
            .where(
                Asset.content_hash == content_hash,
                Asset.size == size,
                Asset.status == AssetStatus.MISSING,
            )
            .order_by(Asset.id)
            .limit(1)
        ).first()

    def claim_for_faces(self, limit: int, exclude: Iterable[int]) -> Sequence[Asset]:
        """Image assets whose pipeline work is not done, oldest first.

        SQLite has one writer, so claiming is this select; a PostgreSQL worker pool will add
        ``FOR UPDATE SKIP LOCKED`` here.
        """
        excluded = list(exclude)
        query = (
            select(Asset)
            .where(
                Asset.kind == AssetKind.IMAGE,
                Asset.status == AssetStatus.PENDING,
                Asset.stage != Stage.DISCOVERED,
                Asset.stage != Stage.DONE,
            )
            .order_by(Asset.id)
            .limit(limit)
        )
        if excluded:
            query = query.where(Asset.id.not_in(excluded))
        return self.session.scalars(query).all()

    def count_pending_images(self) -> int:
        return (
            self.session.scalar(
                select(func.count(Asset.id)).where(
                    Asset.kind == AssetKind.IMAGE,
                    Asset.status == AssetStatus.PENDING,
                    Asset.stage != Stage.DONE,
                )
            )
            or 0
        )

    def delete_faces(self, asset_id: int) -> None:
        self.session.execute(delete(Face).where(Face.asset_id == asset_id))

    def mark_missing(self, asset_ids: Sequence[int]) -> None:
        if asset_ids:
            self.session.execute(
                update(Asset)
                .where(Asset.id.in_(asset_ids))
                .values(status=AssetStatus.MISSING, updated_at=utcnow())
            )

    def failed(self) -> Sequence[Asset]:
        return self.session.scalars(
            select(Asset).where(Asset.status == AssetStatus.FAILED).order_by(Asset.path)
        ).all()

    def reset_failed(self) -> int:
        """Put every failed asset back at the start of the work list (attempts are kept)."""
        result = self.session.execute(
            update(Asset)
            .where(Asset.status == AssetStatus.FAILED)
            .values(
                status=AssetStatus.PENDING,
                stage=Stage.DISCOVERED,  # classified and hashed again: the file may have changed
                error=None,
                error_stage=None,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def counts_by_status(self) -> dict[tuple[str, str], int]:
        rows = self.session.execute(
            select(Asset.kind, Asset.status, func.count(Asset.id)).group_by(
                Asset.kind, Asset.status
            )
        ).all()
        return {(kind, status): count for kind, status, count in rows}

    def counts_by_stage(self) -> dict[str, int]:
        rows = self.session.execute(
            select(Asset.stage, func.count(Asset.id)).group_by(Asset.stage)
        ).all()
        return dict(rows)
