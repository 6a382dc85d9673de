"""Runs queued jobs from the ``jobs`` table in background threads of the serving process.

The table is the queue: a job is claimed by a conditional UPDATE (queued -> running), its
handler reports phase and progress into the row (read by the server-sent events stream), and
the row ends complete with a result or failed with the error. Jobs left running by a process
that died are queued again at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import session_scope
from image_search.errors import ImageSearchError
from image_search.jobs.models import Job
from image_search.jobs.repository import JobRepository

log = logging.getLogger(__name__)
RECORD_ATTEMPTS = 3

# (phase, current, total, message)
ProgressCallback = Callable[[str, int, int, str | None], None]
# (session factory, job parameters, progress) -> JSON-able result
JobHandler = Callable[[sessionmaker[Session], dict[str, Any], ProgressCallback], dict[str, Any]]


def run_job(factory: sessionmaker[Session], job: Job, handlers: Mapping[str, JobHandler]) -> bool:
    """Run one claimed job to completion or failure; True when it completed."""
    handler = handlers.get(job.kind)

    def progress(phase: str, current: int, total: int, message: str | None = None) -> None:
        with session_scope(factory) as session:
            JobRepository(session).set_progress(job.id, phase, current, total, message)

    try:
        if handler is None:
            raise ImageSearchError(f"no handler for job kind {job.kind!r}")
        result = handler(factory, dict(job.params or {}), progress)
    except ImageSearchError as exc:
        message = exc.message
        _record(factory, lambda jobs: jobs.fail(job.id, message))
        return False
    except Exception as exc:  # a bug must not kill the worker thread
        log.exception("job %s (%s) failed", job.id, job.kind)
        error = f"{type(exc).__name__}: {exc}"
        _record(factory, lambda jobs: jobs.fail(job.id, error))
        return False
    _record(factory, lambda jobs: jobs.finish(job.id, result))
    return True


def _record(factory: sessionmaker[Session], write: Callable[[JobRepository], None]) -> None:
    """Write a job's end state, retrying a few times: a busy database must not leave the job
    ``running`` for ever."""
    for attempt in range(RECORD_ATTEMPTS):
        try:
            with session_scope(factory) as session:
                write(JobRepository(session))
            return
        except OperationalError:
            if attempt == RECORD_ATTEMPTS - 1:
                raise
            log.warning("recording a job's end failed, retrying", exc_info=True)
            time.sleep(1.0 + attempt)


def run_queued(factory: sessionmaker[Session], handlers: Mapping[str, JobHandler]) -> int:
    """Run queued jobs until none is left (used by the CLI and tests); returns how many ran."""
    ran = 0
    while True:
        with session_scope(factory) as session:
            job = JobRepository(session).claim_next(list(handlers))
        if job is None:
            return ran
        run_job(factory, job, handlers)
        ran += 1


class JobRunner:
    """``threads`` worker threads polling the jobs table every ``poll_seconds``."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        handlers: Mapping[str, JobHandler],
        threads: int = 1,
        poll_seconds: float = 0.5,
    ) -> None:
        self.factory = factory
        self.handlers = handlers
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"image-search-jobs-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        with session_scope(self.factory) as session:
            requeued = JobRepository(session).requeue_interrupted()
        if requeued:
            log.info("queued %d interrupted jobs again", requeued)
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """A job was just enqueued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with session_scope(self.factory) as session:
                    job = JobRepository(session).claim_next(list(self.handlers))
            except Exception:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            try:
                run_job(self.factory, job, self.handlers)
            except Exception:  # keep the thread (and the queue) alive whatever happens
                log.exception("job %s could not be recorded", job.id)
