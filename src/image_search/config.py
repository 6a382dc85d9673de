"""Settings: one class, read from the environment (prefix ``IMAGE_SEARCH_``, nested with ``__``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "image-search"


def _default_web_dir() -> Path:
    return Path(__file__).parent / "web"


class Settings(BaseSettings):
    """All runtime settings of image-search.

    Every field can be set as an environment variable named ``IMAGE_SEARCH_<FIELD>``
    (for example ``IMAGE_SEARCH_DATA_DIR=/srv/photos-index``).
    """

    model_config = SettingsConfigDict(
        env_prefix="IMAGE_SEARCH_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Folder for the database, thumbnails, face crops and the model cache.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file image-search.db in the data dir.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Folder searched for model weights before any download (offline installs).",
    )
    model_pack: str = Field(
        default="yunet-dlib",
        description="Face model pack: yunet-dlib, yunet-sface, buffalo_l or mobilefacenet.",
    )
    clip_model: str = Field(
        default="ViT-B-32__openai",
        description="CLIP model for text and similar-image search (its embedding size follows "
        "it), or 'none' to skip CLIP embeddings.",
    )
    workers: int = Field(
        default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)),
        description="Worker processes for face detection and embedding (one per core).",
    )
    batch_size: int = Field(
        default=8, ge=1, description="Assets claimed and committed together by the pipeline."
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Attempts before a failing asset is left failed."
    )
    working_size: int = Field(
        default=2048,
        ge=320,
        description="Longest side (px) images are decoded at for face detection and embedding.",
    )
    video_frame_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between the video frames sampled for faces (stretched so a video "
        "yields at most video_max_frames of them; scene changes add up to a quarter more).",
    )
    video_max_frames: int = Field(
        default=120, ge=1, description="Time-based frames sampled per video at most."
    )
    video_frame_size: int = Field(
        default=1280,
        ge=320,
        description="Longest side (px) sampled video frames are decoded at for faces.",
    )
    watch: bool = Field(
        default=True,
        description="`image-search serve` watches the library roots and indexes new, changed, "
        "moved and deleted files by itself (library/watcher.py).",
    )
    watch_debounce_seconds: float = Field(
        default=2.0,
        ge=0.0,
        description="A changed file is registered once no event arrived for this long and its "
        "size and mtime stayed the same (still being copied: wait).",
    )
    watch_reconcile_seconds: float = Field(
        default=900.0,
        gt=0.0,
        description="Every this many seconds the watcher rescans the roots (incrementally) "
        "for what notifications missed, e.g. on network shares; also once at start.",
    )
    web_dir: Path = Field(
        default_factory=_default_web_dir,
        description="Built web UI served at / (default: the package's web folder, filled by "
        "`npm run build` in ui/).",
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'image-search.db'}"

    @property
    def thumbnails_dir(self) -> Path:
        return self.data_dir / "thumbnails"

    @property
    def face_crops_dir(self) -> Path:
        return self.data_dir / "faces"

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
