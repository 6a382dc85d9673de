"""Tables of the faces domain: faces, clusters and per-model-pack settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from image_search.db.base import Base, TimestampMixin


class Face(Base, TimestampMixin):
    """One detected face. Coordinates are pixels of the original image after EXIF orientation."""

    __tablename__ = "faces"
    __table_args__ = (
        Index("ix_faces_asset_id", "asset_id"),
        Index("ix_faces_cluster_id", "cluster_id"),
        # (person_id, asset_id): person filters of search read the index alone.
        Index("ix_faces_person_asset", "person_id", "asset_id"),
        Index("ix_faces_model_pack", "model_pack"),
        # Covers the review pages' face lookups (box, asset and video time by face id) so they
        # read this small index instead of wide face rows (embeddings): docs/benchmarks.md.
        Index(
            "ix_faces_review",
            "id",
            "asset_id",
            "box_x",
            "box_y",
            "box_width",
            "box_height",
            "video_timestamp",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    model_pack: Mapped[str] = mapped_column(String(32))
    box_x: Mapped[float] = mapped_column(Float)
    box_y: Mapped[float] = mapped_column(Float)
    box_width: Mapped[float] = mapped_column(Float)
    box_height: Mapped[float] = mapped_column(Float)
    # [[x, y] x 5]: right eye, left eye, nose tip, right mouth corner, left mouth corner
    # (YuNet order, from the subject's point of view).
    landmarks: Mapped[list[list[float]]] = mapped_column(JSON)
    detector_score: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian, L2-normalised
    embedding_dim: Mapped[int] = mapped_column(Integer)
    # Video faces only (each is the best face of one face track, faces/tracks.py): the time of
    # the kept frame and the span of the video the track covers, in seconds from the start;
    # video_track_size = sampled frames in which the track's face was detected.
    video_timestamp: Mapped[float | None] = mapped_column(Float)
    video_span_start: Mapped[float | None] = mapped_column(Float)
    video_span_end: Mapped[float | None] = mapped_column(Float)
    video_track_size: Mapped[int | None] = mapped_column(Integer)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    crop_path: Mapped[str | None] = mapped_column(String(255))  # relative to the data dir
    # Who set person_id: "user", "cluster" (a named cluster), "suggestion" (an accepted one) or
    # "auto" (auto-assigned above the threshold); lets reviewers find and undo automatic work.
    assigned_by: Mapped[str | None] = mapped_column(String(16))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Cluster(Base, TimestampMixin):
    """An unnamed group of faces found by clustering."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_pack: Mapped[str] = mapped_column(String(32), index=True)


class ModelPackSettings(Base, TimestampMixin):
    """Calibrated, user-changeable settings of one model pack."""

    __tablename__ = "model_pack_settings"

    model_pack: Mapped[str] = mapped_column(String(32), primary_key=True)
    embedding_dim: Mapped[int] = mapped_column(Integer)
    cluster_algorithm: Mapped[str] = mapped_column(String(32))
    cluster_max_distance: Mapped[float] = mapped_column(Float)  # cosine distance
    cluster_min_size: Mapped[int] = mapped_column(Integer)
    auto_assign_threshold: Mapped[float | None] = mapped_column(Float)  # cosine similarity
    suggestion_threshold: Mapped[float | None] = mapped_column(Float)
    suggestion_groups_per_page: Mapped[int] = mapped_column(Integer, default=20)
    suggestion_items_per_group: Mapped[int] = mapped_column(Integer, default=20)
