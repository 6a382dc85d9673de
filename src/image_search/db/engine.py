"""Engine and session scope. SQLite runs in WAL mode with foreign keys on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys.

    The parent folder of a SQLite file is created when missing.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 commits implicitly before DDL, so a migration killed halfway would leave
    # half a schema. Take over transaction control (SQLAlchemy's documented pysqlite recipe,
    # "Serializable isolation / Savepoints / Transactional DDL"): BEGIN is emitted in
    # ``_sqlite_begin``, and DDL is then as atomic as any other statement.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred BEGIN that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when
    # another connection committed in between (busy_timeout does not apply): transactions take
    # the write lock up front (BEGIN IMMEDIATE, waiting up to busy_timeout for it), except
    # those opened read-only (see ``make_read_session_factory``), which never block writers.
    read_only = connection.get_execution_options().get(READ_ONLY_OPTION)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY_OPTION = "image_search_read_only"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work that may write (SQLite: BEGIN IMMEDIATE)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read (SQLite: a deferred BEGIN, concurrent with the writer). A write
    after a read through one can fail with SQLITE_BUSY_SNAPSHOT: GET requests and polling
    only."""
    return sessionmaker(
        bind=engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
    )


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def read_only(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A read-only twin of ``factory`` (same engine and pool)."""
    return make_read_session_factory(factory.kw["bind"])
