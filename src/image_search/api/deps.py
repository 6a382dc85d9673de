"""Request-scoped dependencies: one database transaction per request, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.db.engine import session_scope


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_read_factory(request: Request) -> sessionmaker[Session]:
    """The read-only session factory (server-sent event streams poll through it)."""
    factory: sessionmaker[Session] = request.app.state.read_session_factory
    return factory


def get_session(request: Request) -> Iterator[Session]:
    """A session whose transaction commits when the route returns and rolls back on error;
    GET and HEAD requests read through a read-only session (never blocked by the writer)."""
    state = request.app.state
    factory = state.read_session_factory if request.method in ("GET", "HEAD") else None
    with session_scope(factory or state.session_factory) as session:
        yield session


def wake_job_runner(request: Request) -> None:
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        runner.wake()


# scope="function": commit before the response is sent, so the next request sees the change.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ReadFactoryDep = Annotated[sessionmaker[Session], Depends(get_read_factory)]
