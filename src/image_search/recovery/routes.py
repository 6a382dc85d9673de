"""HTTP: the recovery center (failed assets by cause; retry, ignore, un-ignore)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from image_search.api.deps import SessionDep
from image_search.api.schemas import ERROR_RESPONSES
from image_search.recovery.schemas import (
    RecoveryActionResponse,
    RecoveryAssetPage,
    RecoveryAssetSchema,
    RecoveryOverviewSchema,
    RecoverySelection,
)
from image_search.recovery.service import RecoveryService, Selection

router = APIRouter(prefix="/api/v1/recovery", tags=["recovery"], responses=ERROR_RESPONSES)


def _selection(body: RecoverySelection) -> Selection:
    return Selection(body.asset_ids, body.cause, body.all)


@router.get("", response_model=RecoveryOverviewSchema)
def overview(
    session: SessionDep, per_cause: int = Query(default=10, alias="perCause", ge=0, le=500)
) -> RecoveryOverviewSchema:
    """Failed assets grouped by cause, largest group first, each with its guidance and its
    first ``perCause`` assets (path order); ignored assets counted by cause."""
    return RecoveryOverviewSchema.build(RecoveryService(session).overview(per_cause))


@router.get("/assets", response_model=RecoveryAssetPage)
def list_assets(
    session: SessionDep,
    cause: str | None = None,
    status: Literal["failed", "ignored"] = "failed",
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=50, alias="pageSize", ge=1, le=500),
) -> RecoveryAssetPage:
    """One page of the failed (or ignored) assets of ``cause`` (all causes when omitted), in
    path order. 422 for an unknown cause."""
    total, assets = RecoveryService(session).assets(status, cause, page, page_size)
    return RecoveryAssetPage(
        items=[RecoveryAssetSchema.build(a) for a in assets],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post("/retry", response_model=RecoveryActionResponse)
def retry(body: RecoverySelection, session: SessionDep, request: Request) -> RecoveryActionResponse:
    """Retry failed assets (``assetIds``, a ``cause`` or ``all``): they go back to pending
    (attempts kept) and an index run is queued; follow it at ``job.eventsUrl``."""
    outcome = RecoveryService(session).retry(_selection(body))
    if outcome.job is not None:
        session.commit()  # the runner must see the job it is woken for
        runner = getattr(request.app.state, "index_runner", None)
        if runner is not None:
            runner.wake()
    return RecoveryActionResponse.build(outcome)


@router.post("/ignore", response_model=RecoveryActionResponse)
def ignore(body: RecoverySelection, session: SessionDep) -> RecoveryActionResponse:
    """Mark failed assets ignored (kept with their error, never retried in bulk)."""
    return RecoveryActionResponse.build(RecoveryService(session).ignore(_selection(body)))


@router.post("/unignore", response_model=RecoveryActionResponse)
def unignore(body: RecoverySelection, session: SessionDep) -> RecoveryActionResponse:
    """Put ignored assets back among the failed ones."""
    return RecoveryActionResponse.build(RecoveryService(session).unignore(_selection(body)))
