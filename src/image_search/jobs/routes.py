"""HTTP: background jobs, their progress stream, and the library status."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.sse import EventSourceResponse

from image_search.api.deps import ReadFactoryDep, SessionDep
from image_search.api.schemas import ERROR_RESPONSES, SSE_RESPONSE
from image_search.errors import NotFoundError
from image_search.jobs.events import job_event_stream, status_event_stream
from image_search.jobs.repository import JobRepository
from image_search.jobs.schemas import JobSchema, LibraryStatusSchema
from image_search.jobs.service import library_status

router = APIRouter(prefix="/api/v1", tags=["jobs"], responses=ERROR_RESPONSES)

STATUS_SSE_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Server-sent events (text/event-stream): `status` events carrying the "
        "library status as JSON (LibraryStatusSchema)",
        "content": {"text/event-stream": {}},
    }
}


@router.get("/status", response_model=LibraryStatusSchema)
def get_status(session: SessionDep) -> LibraryStatusSchema:
    """Index status: assets by kind and status, by pipeline stage, faces, clusters, failures,
    and the indexing progress (`pending` images, `rate` in assets per second over the last
    60 s, `indexing`)."""
    return LibraryStatusSchema.build(library_status(session))


@router.get("/status/events", responses=STATUS_SSE_RESPONSE)
async def status_stream(factory: ReadFactoryDep) -> EventSourceResponse:
    """Server-sent events: `status` (the status as JSON, as GET /api/v1/status) at once, then
    on every change (the database is read once per second)."""
    return status_event_stream(factory)


@router.get("/jobs", response_model=list[JobSchema])
def list_jobs(
    session: SessionDep,
    kind: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[JobSchema]:
    """The most recent jobs, newest first."""
    return [JobSchema.build(j) for j in JobRepository(session).recent(limit, kind)]


@router.get("/jobs/{job_id}", response_model=JobSchema)
def get_job(job_id: str, session: SessionDep) -> JobSchema:
    """One job with its phase, progress, result or error. 404 for an unknown id."""
    job = JobRepository(session).get(job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    return JobSchema.build(job)


@router.get("/jobs/{job_id}/events", responses=SSE_RESPONSE)
async def job_progress_events(job_id: str, factory: ReadFactoryDep) -> EventSourceResponse:
    """Server-sent events: ``progress`` (the job as JSON) on every change, then ``complete``
    or ``failed``. 404 for an unknown id."""
    return await job_event_stream(factory, job_id)
