"""Shared fixtures: the real photos and models of ../shared, found through
``IMAGE_SEARCH_TEST_ASSETS``. Unset: tests that need them skip with the reason; under CI
(``CI=true``) a missing asset fails the run instead."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.jobs.service import IndexService, IndexSummary


def skip_or_fail(message: str) -> NoReturn:
    """Skip the test for a missing prerequisite; under CI (``CI=true``) fail it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (under CI a missing prerequisite is a failure)")
    pytest.skip(message)


def require_asset(path: Path, what: str = "test asset") -> Path:
    """``path`` inside the shared assets, or skip (fail under CI) naming what is missing."""
    if path.exists():
        return path
    skip_or_fail(f"{what} not found at {path} (set IMAGE_SEARCH_TEST_ASSETS to the shared folder)")


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    value = os.environ.get("IMAGE_SEARCH_TEST_ASSETS")
    if not value:
        skip_or_fail(
            "IMAGE_SEARCH_TEST_ASSETS is not set: this test needs the real photos and models"
        )
    return require_asset(Path(value).resolve(), "the shared test assets folder")


@pytest.fixture(scope="session")
def faces_dir(assets_dir: Path) -> Path:
    return require_asset(assets_dir / "data" / "faces", "data/faces")


@pytest.fixture(scope="session")
def video_dir(assets_dir: Path) -> Path:
    """../shared/data/video: ``faces/`` (clips with faces) and ``odd/`` (broken or unusual)."""
    return require_asset(assets_dir / "data" / "video", "data/video")


@pytest.fixture(scope="session")
def models_dir(assets_dir: Path) -> Path:
    require_asset(
        assets_dir / "models" / "yunet" / "face_detection_yunet_2023mar.onnx", "YuNet weights"
    )
    return assets_dir / "models"


def make_settings(data_dir: Path, models_dir: Path, **overrides: object) -> Settings:
    """Settings for a test library; no download is ever attempted (offline machines)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "models_dir": models_dir,
        "model_pack": "yunet-dlib",
        "workers": 2,
        "database_url": None,  # never a database from the developer's environment
        # No CLIP weights exist on our machines: tests that search by text install the
        # generated model (tests/clip_model.py) and set clip_model themselves.
        "clip_model": "none",
        # No library watcher in servers of tests (create_app): tests that watch enable it.
        "watch": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class IndexedLibrary:
    settings: Settings
    summary: IndexSummary
    factory: sessionmaker[Session]
    root: Path


def link_tree(target: Path, sources: dict[str, list[Path]]) -> Path:
    """Make ``target/<folder>/<file>`` symlinks to real files (no copies of shared data)."""
    for folder, files in sources.items():
        (target / folder).mkdir(parents=True, exist_ok=True)
        for file in files:
            (target / folder / file.name).symlink_to(file)
    return target


@pytest.fixture(scope="session")
def indexed_faces(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, models_dir: Path
) -> Iterator[IndexedLibrary]:
    """people-small, group, no-faces and edge-cases indexed once with the default pack."""
    base = tmp_path_factory.mktemp("indexed-faces")
    roots = [faces_dir / name for name in ("people-small", "group", "no-faces", "edge-cases")]
    settings = make_settings(base / "data", models_dir)
    service = IndexService(settings)
    summary = service.index(roots)
    yield IndexedLibrary(settings, summary, service.factory, faces_dir)


def copy_sqlite_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL content included), by SQLite's online
    backup API."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
