"""The FastAPI application: routers of every domain, JSON errors, the built web UI, and the
background job runner in the same process (``image-search serve``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from image_search.api.errors import install_error_handlers
from image_search.api.static import install_web_ui
from image_search.config import Settings
from image_search.db.engine import make_read_session_factory
from image_search.faces.routes import router as faces_router
from image_search.jobs.index_job import index_handlers
from image_search.jobs.routes import router as jobs_router
from image_search.jobs.runner import JobRunner
from image_search.jobs.service import open_database
from image_search.library.routes import router as library_router
from image_search.library.video_routes import router as video_router
from image_search.library.watcher import start_watcher
from image_search.people.routes import router as persons_router
from image_search.people.suggestion_routes import router as suggestions_router
from image_search.people.tasks import handlers
from image_search.recovery.routes import router as recovery_router
from image_search.search.routes import router as search_router

API_VERSION = "1"


def create_app(settings: Settings, run_jobs: bool = True, job_threads: int = 1) -> FastAPI:
    """The API for the library described by ``settings``.

    The database is migrated at start-up. With ``run_jobs`` the background job runners
    (find-more and assignment; index runs, jobs/index_job.py) and, with ``settings.watch``,
    the library watcher start with the app and stop with it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        factory = open_database(settings)
        app.state.settings = settings
        app.state.session_factory = factory
        app.state.read_session_factory = make_read_session_factory(factory.kw["bind"])
        runner = index_runner = None
        if run_jobs:
            runner = JobRunner(factory, handlers(settings.model_pack), threads=job_threads)
            runner.start()
            # Index runs (watcher, recovery center retries) get their own thread: a long run
            # never holds find-more or assignment jobs back.
            index_runner = JobRunner(factory, index_handlers(settings), threads=1)
            index_runner.start()
        app.state.job_runner = runner
        app.state.index_runner = index_runner
        # The library watcher (library/watcher.py) registers changed files and queues index runs.
        app.state.watcher = (
            start_watcher(settings, factory, index_runner) if run_jobs and settings.watch else None
        )
        try:
            yield
        finally:
            if app.state.watcher is not None:
                app.state.watcher.stop()
            for running in (index_runner, runner):
                if running is not None:
                    running.stop()
            factory.kw["bind"].dispose()

    app = FastAPI(
        title="image-search",
        version=API_VERSION,
        summary="Self-hosted photo and video library that finds the people in it.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Suggestions before faces: /faces/suggestions/... must not be read as /faces/{face_id}.
    for router in (
        suggestions_router,
        persons_router,
        faces_router,
        library_router,
        video_router,
        jobs_router,
        search_router,
        recovery_router,
    ):
        app.include_router(router)
    install_web_ui(app, settings.web_dir)  # last: it answers every other GET path
    return app
