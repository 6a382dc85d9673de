"""The ``clip_embeddings`` table: CLIP image embeddings, one row per asset (images) or per
sampled frame (videos) and CLIP model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from image_search.db.base import Base, utcnow


class ClipEmbedding(Base):
    """An L2-normalised float32 CLIP image embedding (little-endian bytes of ``embedding_dim``
    values). ``frame_index`` is 0 for images; video frames count up, with ``frame_time`` in
    seconds from the start."""

    __tablename__ = "clip_embeddings"
    __table_args__ = (
        Index("ix_clip_embeddings_model_asset", "model", "asset_id", "frame_index", unique=True),
        Index("ix_clip_embeddings_asset", "asset_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(64))
    frame_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    frame_time: Mapped[float | None] = mapped_column(Float)
    embedding_dim: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
