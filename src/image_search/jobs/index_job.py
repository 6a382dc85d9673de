"""The ``index_pending`` job: the server's way to process new work (files the watcher
registered, failures queued again from the recovery center) in the background, with progress
in the job row (GET /api/v1/jobs/{id}/events)."""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.jobs.models import Job, JobStatus
from image_search.jobs.repository import JobRepository
from image_search.jobs.runner import JobHandler, ProgressCallback
from image_search.jobs.service import IndexService

INDEX_PENDING = "index_pending"

# Phases whose steps happen while the scan holds uncommitted writes: only their start and end
# are recorded (a progress write from the same thread would wait for that transaction, and
# SQLite allows one writer).
_COARSE_PHASES = frozenset({"scanning", "hashing"})
PROGRESS_INTERVAL_S = 0.5


class JobProgressReporter:
    """A ``ProgressReporter`` writing into the job row through ``progress``, at most every
    ``PROGRESS_INTERVAL_S`` seconds per phase (plus each phase's start and end)."""

    def __init__(self, progress: ProgressCallback) -> None:
        self.progress = progress
        self.done: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.last_write = 0.0

    def start(self, task: str, total: int | None) -> None:
        self.done[task], self.totals[task] = 0, total or 0
        self.progress(task, 0, total or 0, None)
        self.last_write = time.monotonic()

    def advance(self, task: str, amount: int = 1, faces: int = 0) -> None:
        self.done[task] = self.done.get(task, 0) + amount
        now = time.monotonic()
        if task not in _COARSE_PHASES and now - self.last_write >= PROGRESS_INTERVAL_S:
            self.progress(task, self.done[task], self.totals.get(task, 0), None)
            self.last_write = now

    def finish(self, task: str) -> None:
        if task not in _COARSE_PHASES:
            done = self.done.get(task, 0)
            self.progress(task, done, max(done, self.totals.get(task, 0)), None)


def run_index_pending(
    settings: Settings,
    factory: sessionmaker[Session],
    params: dict[str, Any],
    progress: ProgressCallback,
) -> dict[str, Any]:
    """Job handler: ``params["roots"]`` (optional list of absolute folders) are scanned first;
    then every stage runs over the pending work (``IndexService.process_pending``). Returns
    the counts of the scan, the face pipeline, assignment, clustering and CLIP."""
    roots = [Path(p) for p in params.get("roots") or [] if Path(p).is_dir()]
    summary = IndexService(settings, JobProgressReporter(progress), factory).process_pending(
        roots or None
    )
    return {
        "scan": asdict(summary.scan),
        "pipeline": asdict(summary.pipeline),
        "assignment": asdict(summary.assignment),
        "clustering": asdict(summary.clustering),
        "clip": asdict(summary.clip),
    }


def enqueue_index(session: Session, roots: list[str] | None = None) -> Job:
    """Queue an ``index_pending`` job unless an identical one is still queued (then that one
    is returned): a burst of file events or retries makes one run, not many. The job runs once
    the caller's transaction commits."""
    params: dict[str, Any] = {"roots": sorted(roots)} if roots else {}
    queued = session.scalars(
        select(Job).where(Job.kind == INDEX_PENDING, Job.status == JobStatus.QUEUED)
    ).all()
    for job in queued:
        if (job.params or {}) == params:
            return job
    return JobRepository(session).enqueue(INDEX_PENDING, params)


def index_handlers(settings: Settings) -> dict[str, JobHandler]:
    """The index job's handler bound to ``settings`` (run by its own ``JobRunner`` so a long
    index run never holds find-more jobs back)."""
    return {INDEX_PENDING: partial(run_index_pending, settings)}
