"""A small real library with files that fail for known reasons, indexed once per database
kind (SQLite, PostgreSQL); every test gets its own copy of the database (file copy / CREATE
DATABASE ... TEMPLATE) over the same files.

The library (``library/``): ``good/`` two people-small photos (indexed fine); ``broken/``:
``truncated.jpg`` (the first half of a group photo), ``empty.jpg`` (0 bytes), ``notes.jpg``
(a text file), ``cut.mp4`` (the first 2,000 bytes of a clip), ``svu_corrupted.mp4`` and
``svu_empty.mp4`` (../shared/data/video/odd), and, when not running as root, ``locked.jpg``
(a photo with mode 000; root reads it anyway).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from image_search.api.app import create_app
from image_search.config import Settings
from image_search.db.engine import make_engine, make_session_factory
from image_search.jobs.service import IndexService
from tests.api.conftest import (  # noqa: F401 (pg_server: fixture used by name)
    JsonCalls,
    _pg_url,
    pg_server,
)
from tests.conftest import copy_sqlite_database, make_settings

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_SKIP_REASON = "running as root: a file with mode 000 is still readable, nothing fails"

# File name -> the cause the recovery center must give it (videos: see VIDEO_FILES).
EXPECTED_CAUSES = {
    "truncated.jpg": "truncated",
    "empty.jpg": "empty",
    "notes.jpg": "unsupported_format",
    "cut.mp4": "truncated",
    # Its container promises 5,356 s; the data decodes for 70 s, then breaks off.
    "svu_corrupted.mp4": "truncated",
    "svu_empty.mp4": "empty",
}
VIDEO_FILES = frozenset({"cut.mp4", "svu_corrupted.mp4", "svu_empty.mp4"})
if not IS_ROOT:
    EXPECTED_CAUSES["locked.jpg"] = "permission_denied"


def make_broken_library(target: Path, faces_dir: Path, video_dir: Path) -> Path:
    """Write the library described in the module docstring into ``target``; returns it."""
    good, broken = target / "good", target / "broken"
    good.mkdir(parents=True)
    broken.mkdir()
    people = sorted((faces_dir / "people-small").glob("*/*.png"))[:2]
    for index, photo in enumerate(people):
        (good / f"person{index}.png").symlink_to(photo)
    whole = (faces_dir / "group" / "faceapi_bbt1.jpg").read_bytes()
    (broken / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "notes.jpg").write_text("shopping list: milk, eggs\n" * 20)
    clip = (video_dir / "faces" / "liveportrait_source_s18.mp4").read_bytes()
    (broken / "cut.mp4").write_bytes(clip[:2000])
    for name in ("svu_corrupted.mp4", "svu_empty.mp4"):
        (broken / name).symlink_to(video_dir / "odd" / name)
    if not IS_ROOT:
        locked = broken / "locked.jpg"
        shutil.copyfile(faces_dir / "group" / "faceapi_bbt2.jpg", locked)
        locked.chmod(0)
    return target


@dataclass
class Template:
    settings: Settings
    root: Path


def _index(settings: Settings, root: Path) -> None:
    service = IndexService(settings)
    service.index([root])
    service.factory.kw["bind"].dispose()


@pytest.fixture(scope="session")
def broken_root(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, video_dir: Path
) -> Iterator[Path]:
    root = make_broken_library(
        tmp_path_factory.mktemp("recovery") / "library", faces_dir, video_dir
    )
    yield root
    locked = root / "broken" / "locked.jpg"
    if locked.exists():
        locked.chmod(0o644)  # let pytest clean the temporary folder


@pytest.fixture(scope="session")
def sqlite_recovery_template(
    tmp_path_factory: pytest.TempPathFactory, broken_root: Path, models_dir: Path
) -> Template:
    settings = make_settings(tmp_path_factory.mktemp("recovery-sqlite") / "data", models_dir)
    _index(settings, broken_root)
    return Template(settings, broken_root)


@pytest.fixture(scope="session")
def postgresql_recovery_template(
    tmp_path_factory: pytest.TempPathFactory,
    broken_root: Path,
    models_dir: Path,
    pg_server: Any,  # noqa: F811
) -> Template:
    pg_server.psql("CREATE DATABASE recovery_template;")
    url = _pg_url(pg_server, "recovery_template")
    base = tmp_path_factory.mktemp("recovery-postgresql")
    settings = make_settings(base / "data", models_dir, database_url=url)
    _index(settings, broken_root)
    return Template(settings, broken_root)


@dataclass
class BrokenLibrary:
    """A private copy of the indexed broken library: ``paths`` file name -> absolute path."""

    settings: Settings
    factory: sessionmaker[Session]
    root: Path
    backend: str

    def path(self, name: str) -> str:
        folder = "good" if name.startswith("person") else "broken"
        return str(self.root / folder / name)


_copies = 0


def _private_settings(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Template:
    global _copies
    if backend == "sqlite":
        template: Template = request.getfixturevalue("sqlite_recovery_template")
        source = Path(template.settings.resolved_database_url.removeprefix("sqlite:///"))
        target = tmp_path / "library.db"
        copy_sqlite_database(source, target)
        url = f"sqlite:///{target}"
    else:
        template = request.getfixturevalue("postgresql_recovery_template")
        server = request.getfixturevalue("pg_server")
        _copies += 1
        name = f"recovery_test_{_copies}"
        server.psql(f"CREATE DATABASE {name} TEMPLATE recovery_template;")
        url = _pg_url(server, name)
    return Template(template.settings.model_copy(update={"database_url": url}), template.root)


@pytest.fixture(params=["sqlite", "postgresql"])
def library(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokenLibrary]:
    """The broken library on a private database, no server."""
    private = _private_settings(request, request.param, tmp_path)
    engine = make_engine(private.settings.resolved_database_url)
    yield BrokenLibrary(private.settings, make_session_factory(engine), private.root, request.param)
    engine.dispose()


@dataclass
class RecoveryApi(JsonCalls):
    client: TestClient
    library: BrokenLibrary


@pytest.fixture
def recovery_api(library: BrokenLibrary) -> Iterator[RecoveryApi]:
    """The real API (with its job runners) over ``library``."""
    with TestClient(create_app(library.settings)) as client:
        yield RecoveryApi(client, library)
