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
from tests.api.conftest import (  # noqa: F401 (pg_server: fixture used by name)
    IndexedTemplate,
    JsonCalls,
    _pg_url,
    copy_template,
    index_template,
    pg_server,
)
from tests.conftest import make_settings

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
) -> IndexedTemplate:
    settings = make_settings(tmp_path_factory.mktemp("recovery-sqlite") / "data", models_dir)
    return index_template(settings, [broken_root])


@pytest.fixture(scope="session")
def postgresql_recovery_template(
    tmp_path_factory: pytest.TempPathFactory,
    broken_root: Path,
    models_dir: Path,
    pg_server: Any,  # noqa: F811
) -> IndexedTemplate:
    pg_server.psql("CREATE DATABASE recovery_template;")
    url = _pg_url(pg_server, "recovery_template")
    base = tmp_path_factory.mktemp("recovery-postgresql")
    settings = make_settings(base / "data", models_dir, database_url=url)
    return index_template(settings, [broken_root])


@dataclass
class BrokenLibrary:
    """A private copy of the indexed broken library; ``path(name)``: a file's absolute path."""

    settings: Settings
    factory: sessionmaker[Session]
    root: Path
    backend: str

    def path(self, name: str) -> str:
        folder = "good" if name.startswith("person") else "broken"
        return str(self.root / folder / name)


@pytest.fixture(params=["sqlite", "postgresql"])
def library(
    request: pytest.FixtureRequest, tmp_path: Path, broken_root: Path
) -> Iterator[BrokenLibrary]:
    """The broken library on a private database, no server."""
    settings = copy_template(request, f"{request.param}_recovery_template", tmp_path)
    engine = make_engine(settings.resolved_database_url)
    yield BrokenLibrary(settings, make_session_factory(engine), broken_root, request.param)
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
