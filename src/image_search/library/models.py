"""The ``assets`` table: one row per image or video file, also the pipeline's work list."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from image_search.db.base import Base, TimestampMixin


class AssetKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class Stage(enum.StrEnum):
    """Pipeline stages in order (DESIGN.md section 6)."""

    DISCOVERED = "discovered"
    HASHED = "hashed"
    METADATA = "metadata"
    THUMBNAILS = "thumbnails"
    FACES = "faces"
    EMBEDDED = "embedded"
    DONE = "done"


class AssetStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for (more) pipeline work
    DONE = "done"
    FAILED = "failed"
    MISSING = "missing"  # the file was not found on the last scan of its root
    IGNORED = "ignored"  # failed, and the user chose not to retry it (recovery center)


class Asset(Base, TimestampMixin):
    __tablename__ = "assets"
    __table_args__ = (
        Index("ix_assets_status_stage", "status", "stage"),
        Index("ix_assets_content_hash", "content_hash"),
        Index("ix_assets_gps", "gps_latitude", "gps_longitude"),
        Index("ix_assets_camera", "camera_make", "camera_model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    root: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str | None] = mapped_column(String(64))

    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    camera_make: Mapped[str | None] = mapped_column(String(128))
    camera_model: Mapped[str | None] = mapped_column(String(128))
    lens: Mapped[str | None] = mapped_column(String(128))
    gps_latitude: Mapped[float | None] = mapped_column(Float)
    gps_longitude: Mapped[float | None] = mapped_column(Float)
    gps_altitude: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)  # after EXIF orientation
    height: Mapped[int | None] = mapped_column(Integer)
    orientation: Mapped[int | None] = mapped_column(Integer)  # EXIF 1..8
    # Videos only, read from the container (library/video.py).
    duration: Mapped[float | None] = mapped_column(Float)  # seconds
    video_codec: Mapped[str | None] = mapped_column(String(32))  # FFmpeg codec name: h264
    audio_codec: Mapped[str | None] = mapped_column(String(32))  # aac, opus, None = silent
    container: Mapped[str | None] = mapped_column(String(64))  # FFmpeg format: mov,mp4,...
    frame_rate: Mapped[float | None] = mapped_column(Float)  # average frames per second
    rotation: Mapped[int | None] = mapped_column(Integer)  # display rotation, degrees 0-359

    stage: Mapped[str] = mapped_column(String(16), default=Stage.DISCOVERED)
    status: Mapped[str] = mapped_column(String(16), default=AssetStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    error_stage: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    model_pack: Mapped[str | None] = mapped_column(String(32))  # pack that made its faces


class LibraryRoot(Base, TimestampMixin):
    """A folder the user added to the library: scanned by ``index`` and watched by ``serve``
    and ``watch`` (library/watcher.py)."""

    __tablename__ = "library_roots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
