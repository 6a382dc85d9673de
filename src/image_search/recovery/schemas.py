"""API shapes of the recovery center (camelCase JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from image_search.api.schemas import CamelModel, ItemResultSchema, Page
from image_search.recovery.service import ActionOutcome, CauseGroup, FailedAsset, RecoveryOverview


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` marked as UTC: SQLite returns the stored UTC times without a zone, and a
    browser would read a zone-less time as local time."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class CauseSchema(CamelModel):
    """A cause of failure: stable ``id`` (recovery/causes.py), ``title``, ``guidance``."""

    id: str
    title: str
    guidance: str


class RecoveryAssetSchema(CamelModel):
    """A failed or ignored asset: ``stage`` is the pipeline stage that failed, ``cause`` the
    cause id, ``fixCommand`` a shell command that may fix it (or null)."""

    id: int
    path: str
    kind: str
    status: str  # failed or ignored
    stage: str | None
    error: str | None
    attempts: int
    last_attempt_at: datetime | None  # UTC
    cause: str
    cause_title: str
    fix_command: str | None

    @classmethod
    def build(cls, asset: FailedAsset) -> RecoveryAssetSchema:
        return cls(
            id=asset.id,
            path=asset.path,
            kind=asset.kind,
            status=asset.status,
            stage=asset.stage,
            error=asset.error,
            attempts=asset.attempts,
            last_attempt_at=as_utc(asset.last_attempt_at),
            cause=asset.cause.id,
            cause_title=asset.cause.title,
            fix_command=asset.fix_command,
        )


class CauseGroupSchema(CamelModel):
    """``count`` assets of this cause; ``assets`` the first of them (path order)."""

    cause: CauseSchema
    count: int
    assets: list[RecoveryAssetSchema]

    @classmethod
    def build(cls, group: CauseGroup) -> CauseGroupSchema:
        return cls(
            cause=CauseSchema.model_validate(group.cause),
            count=group.count,
            assets=[RecoveryAssetSchema.build(a) for a in group.assets],
        )


class RecoveryOverviewSchema(CamelModel):
    """Failed assets by cause (largest group first) and the ignored ones counted by cause."""

    failed: int
    ignored: int
    groups: list[CauseGroupSchema]
    ignored_groups: list[CauseGroupSchema]

    @classmethod
    def build(cls, overview: RecoveryOverview) -> RecoveryOverviewSchema:
        return cls(
            failed=overview.failed,
            ignored=overview.ignored,
            groups=[CauseGroupSchema.build(g) for g in overview.groups],
            ignored_groups=[CauseGroupSchema.build(g) for g in overview.ignored_groups],
        )


class RecoveryAssetPage(Page[RecoveryAssetSchema]):
    pass


class RecoverySelection(CamelModel):
    """Exactly one of: ``assetIds`` (one result per id), ``cause`` (a cause id), ``all``."""

    asset_ids: list[int] | None = Field(default=None, min_length=1, max_length=10000)
    cause: str | None = None
    all: bool = False


class RecoveryJobSchema(CamelModel):
    """The index run a retry queued: follow it at ``eventsUrl`` (server-sent events)."""

    job_id: str
    status: str
    events_url: str


class RecoveryActionResponse(CamelModel):
    """``processed`` assets changed; ``failed`` ids refused (unknown, or not in the status the
    action needs); ``results`` one per requested id (empty for a cause or all); ``job`` the
    queued index run (retry only; null when nothing was queued)."""

    processed: int
    failed: int
    results: list[ItemResultSchema]
    job: RecoveryJobSchema | None = None

    @classmethod
    def build(cls, outcome: ActionOutcome) -> RecoveryActionResponse:
        results = [ItemResultSchema.model_validate(r) for r in outcome.results]
        job = outcome.job
        return cls(
            processed=outcome.changed,
            failed=sum(not r.ok for r in results),
            results=results,
            job=None
            if job is None
            else RecoveryJobSchema(
                job_id=job.id, status=job.status, events_url=f"/api/v1/jobs/{job.id}/events"
            ),
        )
