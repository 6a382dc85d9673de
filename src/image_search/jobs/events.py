"""Server-sent events. For a job: its row is read every ``POLL_SECONDS`` and an event is sent
whenever phase, progress or status changed; the stream ends with the job. For the library
status: read every ``STATUS_POLL_SECONDS``, an event whenever it changed."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator

from fastapi.sse import EventSourceResponse, format_sse_event
from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import session_scope
from image_search.errors import NotFoundError
from image_search.jobs.models import TERMINAL_STATUSES
from image_search.jobs.repository import JobRepository
from image_search.jobs.schemas import JobSchema, LibraryStatusSchema
from image_search.jobs.service import library_status

POLL_SECONDS = 0.25
# A stream is closed after this long even if the job never ends (the client reconnects).
MAX_STREAM_SECONDS = 3600.0
STATUS_POLL_SECONDS = 1.0
# An idle status stream sends a comment this often, so proxies keep the connection open.
KEEPALIVE_SECONDS = 15.0

# Read-session factories of apps whose server is shutting down: their streams end.
_closing: weakref.WeakSet[sessionmaker[Session]] = weakref.WeakSet()


def close_streams(factory: sessionmaker[Session]) -> None:
    """End the event streams that poll through ``factory`` (an app's read-session factory) at
    their next poll, without a final event: the server calls this when it shuts down, so an
    open stream does not hold it up (clients reconnect by themselves)."""
    _closing.add(factory)


def _open(factory: sessionmaker[Session], waited: float, max_seconds: float) -> bool:
    return waited < max_seconds and factory not in _closing


def read_job(factory: sessionmaker[Session], job_id: str) -> JobSchema | None:
    with session_scope(factory) as session:
        job = JobRepository(session).get(job_id)
        return JobSchema.build(job) if job is not None else None


async def job_events(
    factory: sessionmaker[Session], job_id: str, poll_seconds: float = POLL_SECONDS
) -> AsyncIterator[bytes]:
    """``event: progress`` with the job as JSON on every change, then one final event named
    after the end status (``complete`` or ``failed``). Ends without it after
    ``MAX_STREAM_SECONDS`` or when the server shuts down (``close_streams``)."""
    last: tuple[object, ...] | None = None
    waited = 0.0
    while _open(factory, waited, MAX_STREAM_SECONDS):
        job = await asyncio.to_thread(read_job, factory, job_id)
        if job is None:
            gone = json.dumps({"error": f"job {job_id} is gone"})
            yield format_sse_event(event="failed", data_str=gone)
            return
        state = (job.status, job.phase, job.current, job.total, job.message)
        if state != last:
            last = state
            data = job.model_dump_json(by_alias=True)
            if job.status in TERMINAL_STATUSES:
                yield format_sse_event(event=job.status, data_str=data)
                return
            yield format_sse_event(event="progress", data_str=data)
        await asyncio.sleep(poll_seconds)
        waited += poll_seconds


async def job_event_stream(factory: sessionmaker[Session], job_id: str) -> EventSourceResponse:
    """Validate the job id, then stream its events. Raises ``NotFoundError`` (before any byte
    is sent, so the client gets a plain 404)."""
    if await asyncio.to_thread(read_job, factory, job_id) is None:
        raise NotFoundError(f"job {job_id} does not exist")
    return EventSourceResponse(job_events(factory, job_id), headers={"Cache-Control": "no-cache"})


def read_status(factory: sessionmaker[Session]) -> LibraryStatusSchema:
    with session_scope(factory) as session:
        return LibraryStatusSchema.build(library_status(session))


async def status_events(
    factory: sessionmaker[Session],
    poll_seconds: float = STATUS_POLL_SECONDS,
    max_seconds: float = MAX_STREAM_SECONDS,
) -> AsyncIterator[bytes]:
    """``event: status`` with the library status as JSON (``GET /api/v1/status``) at once,
    then again whenever it changed (the database is read every ``poll_seconds``); a
    ``: ping`` comment after ``KEEPALIVE_SECONDS`` without a change. Ends after
    ``max_seconds`` or when the server shuts down (``close_streams``); EventSource clients
    reconnect by themselves."""
    last: str | None = None
    quiet = waited = 0.0
    while _open(factory, waited, max_seconds):
        data = (await asyncio.to_thread(read_status, factory)).model_dump_json(by_alias=True)
        if data != last:
            last, quiet = data, 0.0
            yield format_sse_event(event="status", data_str=data)
        elif quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield format_sse_event(comment="ping")
        await asyncio.sleep(poll_seconds)
        waited += poll_seconds
        quiet += poll_seconds


def status_event_stream(factory: sessionmaker[Session]) -> EventSourceResponse:
    """The status events as a streaming response (no caching, no proxy buffering)."""
    return EventSourceResponse(
        status_events(factory), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
