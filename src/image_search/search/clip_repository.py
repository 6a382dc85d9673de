"""I/O of ``clip_embeddings``: which assets still need a CLIP embedding, storing them, and
reading them back as float32 matrices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.orm import Session

from image_search.library.models import Asset, AssetStatus
from image_search.search.models import ClipEmbedding

IN_CHUNK = 900  # ids per IN (...) list: below SQLite's default host-parameter limits


@dataclass(frozen=True, slots=True)
class EmbeddingRows:
    """``asset_ids`` int64 (n,) and ``vectors`` float32 (n, d), row i belonging to asset_ids[i]
    (an asset has several rows when it has several video frames); ``row_ids`` int64 (n,)."""

    row_ids: np.ndarray
    asset_ids: np.ndarray
    vectors: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> EmbeddingRows:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, dim), np.float32))


def _rows(records: Iterable[Any], dim: int) -> EmbeddingRows:
    row_ids: list[int] = []
    asset_ids: list[int] = []
    blobs: list[bytes] = []
    for row_id, asset_id, blob in records:
        row_ids.append(row_id)
        asset_ids.append(asset_id)
        blobs.append(blob)
    if not blobs:
        return EmbeddingRows.empty(dim)
    vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)
    return EmbeddingRows(
        np.asarray(row_ids, np.int64), np.asarray(asset_ids, np.int64), vectors.astype(np.float32)
    )


class ClipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _needs_embedding(self, model: str) -> tuple[ColumnElement[bool], ...]:
        has = exists().where(ClipEmbedding.asset_id == Asset.id, ClipEmbedding.model == model)
        # Videos are embedded by their poster frame (the preview thumbnail).
        return (
            Asset.status == AssetStatus.DONE,
            Asset.content_hash.is_not(None),
            ~has,
        )

    def count_pending(self, model: str) -> int:
        """Processed assets (images, videos by their poster) without an embedding of ``model``."""
        query = select(func.count(Asset.id)).where(*self._needs_embedding(model))
        return int(self.session.scalar(query) or 0)

    def pending(self, model: str, limit: int, exclude: Sequence[int]) -> Sequence[Asset]:
        """Up to ``limit`` processed assets without an embedding of ``model``, by id."""
        query = select(Asset).where(*self._needs_embedding(model)).order_by(Asset.id).limit(limit)
        if exclude:
            query = query.where(Asset.id.not_in(list(exclude)))
        return self.session.scalars(query).all()

    def replace(
        self, asset_id: int, model: str, vectors: np.ndarray, frame_times: Sequence[float | None]
    ) -> None:
        """Store ``vectors`` float32 (frames, d) as the asset's embeddings of ``model``,
        replacing any it had (so a retried asset never holds duplicates)."""
        self.session.execute(
            delete(ClipEmbedding).where(
                ClipEmbedding.asset_id == asset_id, ClipEmbedding.model == model
            )
        )
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        self.session.add_all(
            ClipEmbedding(
                asset_id=asset_id,
                model=model,
                frame_index=index,
                frame_time=frame_times[index],
                embedding_dim=int(vectors.shape[1]),
                embedding=vectors[index].tobytes(),
            )
            for index in range(len(vectors))
        )

    def assets_by_model(self) -> dict[str, int]:
        """CLIP model -> assets with an embedding of it (progress of the CLIP stage)."""
        rows = self.session.execute(
            select(ClipEmbedding.model, func.count(ClipEmbedding.id))
            .where(ClipEmbedding.frame_index == 0)
            .group_by(ClipEmbedding.model)
        )
        return {str(model): int(n) for model, n in rows}

    def version(self, model: str) -> tuple[int, int]:
        """(row count, largest row id) of ``model``'s embeddings: changes whenever rows are
        added or removed."""
        count, largest = self.session.execute(
            select(func.count(ClipEmbedding.id), func.max(ClipEmbedding.id)).where(
                ClipEmbedding.model == model
            )
        ).one()
        return int(count or 0), int(largest or 0)

    def for_assets(self, asset_ids: Sequence[int], model: str, dim: int) -> EmbeddingRows:
        """Every embedding of ``model`` of the given assets."""
        records: list[Any] = []
        ids = list(asset_ids)
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK]
            records.extend(
                self.session.execute(
                    select(ClipEmbedding.id, ClipEmbedding.asset_id, ClipEmbedding.embedding).where(
                        ClipEmbedding.model == model, ClipEmbedding.asset_id.in_(chunk)
                    )
                ).all()
            )
        return _rows(records, dim)

    def after(self, model: str, after_row_id: int, dim: int) -> EmbeddingRows:
        """Every embedding of ``model`` with a row id above ``after_row_id``, by row id."""
        records = self.session.execute(
            select(ClipEmbedding.id, ClipEmbedding.asset_id, ClipEmbedding.embedding)
            .where(ClipEmbedding.model == model, ClipEmbedding.id > after_row_id)
            .order_by(ClipEmbedding.id)
        ).all()
        return _rows(records, dim)
