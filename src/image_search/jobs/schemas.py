"""API shapes of background jobs and the library status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from image_search.api.schemas import CamelModel
from image_search.jobs.models import Job
from image_search.jobs.service import LibraryStatus


def camel_keys(value: Any) -> Any:
    """Job results are stored with snake_case keys; the API speaks camelCase."""
    if isinstance(value, dict):
        return {_camel(str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


class JobSchema(CamelModel):
    id: str
    kind: str
    status: str  # queued, running, complete, failed
    phase: str  # queued, sampling_prototypes, searching, creating_suggestions, complete, failed
    progress: float  # 0..1 within the phase
    current: int
    total: int
    message: str | None
    person_id: int | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def build(cls, job: Job) -> JobSchema:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            phase=job.phase,
            progress=job.progress,
            current=job.current,
            total=job.total,
            message=job.message,
            person_id=job.person_id,
            params=job.params or {},
            result=camel_keys(job.result) if job.result is not None else None,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class FailureSchema(CamelModel):
    path: str
    stage: str | None
    error: str | None
    attempts: int


class LibraryStatusSchema(CamelModel):
    """``pending``: images waiting for pipeline work; ``rate``: assets finished (done or
    failed) per second over the last 60 s; ``indexing``: true while any image is pending."""

    assets_by_status: dict[str, dict[str, int]]
    assets_by_stage: dict[str, int]
    faces: int
    clusters: int
    clustered_faces: int
    failures: list[FailureSchema]
    pending: int
    rate: float  # assets per second
    indexing: bool
    clip_embedded: dict[str, int] = Field(
        description="CLIP model -> assets with an image embedding of it (text search progress)."
    )

    @classmethod
    def build(cls, status: LibraryStatus) -> LibraryStatusSchema:
        return cls(
            assets_by_status=status.assets_by_status,
            assets_by_stage=status.assets_by_stage,
            faces=status.faces,
            clusters=status.clusters,
            clustered_faces=status.clustered_faces,
            failures=[FailureSchema.model_validate(f) for f in status.failures],
            pending=status.pending,
            rate=status.rate,
            indexing=status.indexing,
            clip_embedded=status.clip_embedded,
        )
