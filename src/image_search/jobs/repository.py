"""All SQL of the ``jobs`` table."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.jobs.models import Job, JobStatus


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, kind: str, params: dict[str, Any], person_id: int | None = None) -> Job:
        """Add a queued job; workers see it once the caller's transaction commits."""
        job = Job(
            id=uuid.uuid4().hex,
            kind=kind,
            status=JobStatus.QUEUED,
            phase="queued",
            progress=0.0,
            current=0,
            total=0,
            params=params,
            person_id=person_id,
            attempts=0,
        )
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.session.get(Job, job_id)

    def recent(self, limit: int, kind: str | None = None) -> list[Job]:
        query = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if kind:
            query = query.where(Job.kind == kind)
        return list(self.session.scalars(query))

    def claim_next(self, kinds: list[str]) -> Job | None:
        """Mark the oldest queued job of these kinds running and return it (None: none).

        The conditional UPDATE makes the claim safe with several workers: only one of them
        changes the row from queued to running.
        """
        candidates = self.session.scalars(
            select(Job.id)
            .where(Job.status == JobStatus.QUEUED, Job.kind.in_(kinds))
            .order_by(Job.created_at)
            .limit(5)
        ).all()
        for job_id in candidates:
            result = self.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                .values(
                    status=JobStatus.RUNNING,
                    started_at=utcnow(),
                    attempts=Job.attempts + 1,
                )
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return self.session.get(Job, job_id, populate_existing=True)
        return None

    def set_progress(
        self, job_id: str, phase: str, current: int, total: int, message: str | None
    ) -> None:
        self.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                phase=phase,
                current=current,
                total=total,
                progress=(current / total) if total else 0.0,
                message=message,
            )
        )

    def finish(self, job_id: str, result: dict[str, Any]) -> None:
        self.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=JobStatus.COMPLETE,
                phase="complete",
                progress=1.0,
                result=result,
                finished_at=utcnow(),
            )
        )

    def fail(self, job_id: str, error: str) -> None:
        self.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.FAILED, phase="failed", error=error, finished_at=utcnow())
        )

    def requeue_interrupted(self) -> int:
        """Jobs left running by a process that died go back to the queue (startup)."""
        result = self.session.execute(
            update(Job)
            .where(Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.QUEUED, phase="queued")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
