"""The library watcher end to end, through real processes: ``image-search serve`` over an indexed
library picks up a photo copied into a watched folder (listed by the API with stage done and
its face), a move (same asset id, new path, face kept) and a deletion (status missing) without
any rescan; ``image-search watch FOLDER`` indexes the folder, then indexes a photo copied in.

No browser: the API is polled (with timeouts, never fixed sleeps as assertions)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select

from image_search.config import Settings
from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService, open_database
from image_search.library.models import Asset
from tests.conftest import link_tree, make_settings
from tests.e2e.test_ui import _free_port, _serve_command, _stop, _tail

pytestmark = pytest.mark.slow

DEBOUNCE_S = "0.5"
START_TIMEOUT_S = 60.0
CHANGE_TIMEOUT_S = 90.0  # registration, then hashing, faces and clustering in the index job
PEOPLE = ("amy", "raj", "penny")

T = TypeVar("T")


def _poll(read: Callable[[], T | None], what: str, log: Path, timeout: float) -> T:
    """``read()`` every 0.3 s until it returns something; fails with the process log."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{_tail(log)}"
        time.sleep(0.3)


@dataclass
class Library:
    settings: Settings
    root: Path


@pytest.fixture
def library(tmp_path: Path, faces_dir: Path, models_dir: Path) -> Library:
    """A root with people-small/<person>/ (2 photos each of 3 people), an empty ``inbox`` and
    ``sorted`` folder, indexed (faces, clusters) into ``tmp_path/data``."""
    people = faces_dir / "people-small"
    root = link_tree(
        tmp_path / "library",
        {f"people-small/{p}": sorted((people / p).glob("*.png"))[:2] for p in PEOPLE},
    )
    (root / "inbox").mkdir()
    (root / "sorted").mkdir()
    settings = make_settings(tmp_path / "data", models_dir, workers=1)
    service = IndexService(settings)
    service.index([root])
    service.factory.kw["bind"].dispose()
    return Library(settings, root)


def _env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(settings.data_dir),
        "IMAGE_SEARCH_MODELS_DIR": str(settings.models_dir),
        "IMAGE_SEARCH_MODEL_PACK": settings.model_pack,
        "IMAGE_SEARCH_WORKERS": "1",
        "IMAGE_SEARCH_CLIP_MODEL": "none",
        "IMAGE_SEARCH_OFFLINE": "1",
        "IMAGE_SEARCH_WATCH": "true",
        "IMAGE_SEARCH_WATCH_DEBOUNCE_SECONDS": DEBOUNCE_S,
        "COLUMNS": "250",  # Rich: one line per change, however long the path
    }
    env.pop("IMAGE_SEARCH_DATABASE_URL", None)
    return env


@dataclass
class Server:
    base_url: str
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base_url}{path}", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def server(library: Library, tmp_path: Path) -> Iterator[Server]:
    """``image-search serve`` (watcher on, the default) on a free port over ``library``."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_serve_command(), "--port", str(port)],
            env=_env(library.settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"

    def up() -> bool | None:
        assert process.poll() is None, f"the server exited:\n{_tail(log)}"
        try:
            return httpx.get(f"{base_url}/api/v1/status", timeout=2).status_code == 200 or None
        except httpx.TransportError:
            return None

    try:
        _poll(up, "the server to start", log, START_TIMEOUT_S)
        yield Server(base_url, log)
    finally:
        _stop(process)


def test_serve_indexes_a_copied_photo_follows_its_move_and_marks_its_deletion(
    server: Server, library: Library, faces_dir: Path
) -> None:
    assert "watching 1 library folder(s) for new, changed, moved and deleted files: " in (
        server.log.read_text()
    ), _tail(server.log)
    before = server.get("/api/v1/assets", pageSize=500)["total"]

    # 1. A photo copied into a watched folder: listed, then processed to stage done, with its
    #    face, without any rescan.
    photo = library.root / "inbox" / "howard1.png"
    shutil.copyfile(faces_dir / "people-small" / "howard" / "howard1.png", photo)

    def listed_done() -> dict[str, Any] | None:
        page = server.get("/api/v1/assets", pageSize=500, folder=str(library.root / "inbox"))
        for item in page["items"]:
            if item["path"] == str(photo) and item["stage"] == "done":
                return dict(item)
        return None

    asset = _poll(listed_done, "the copied photo to be indexed", server.log, CHANGE_TIMEOUT_S)
    assert (asset["status"], asset["kind"], asset["faceCount"]) == ("done", "image", 1)
    assert server.get("/api/v1/assets", pageSize=500)["total"] == before + 1
    detail = server.get(f"/api/v1/assets/{asset['id']}")
    face_ids = [face["id"] for face in detail["faces"]]
    assert len(face_ids) == 1

    # 2. Moved into another folder: the same asset at its new path, its face kept.
    moved = library.root / "sorted" / "howard-at-work.png"
    photo.rename(moved)

    def at_new_path() -> dict[str, Any] | None:
        found = server.get(f"/api/v1/assets/{asset['id']}")
        return dict(found) if found["path"] == str(moved) else None

    after_move = _poll(at_new_path, "the move", server.log, CHANGE_TIMEOUT_S)
    assert after_move["status"] == "done"
    assert [face["id"] for face in after_move["faces"]] == face_ids
    assert server.get("/api/v1/assets", pageSize=500)["total"] == before + 1
    inbox = server.get("/api/v1/assets", folder=str(library.root / "inbox"))
    assert inbox["total"] == 0

    # 3. Deleted: the asset stays listed, with status missing (its face and name kept for the
    #    day the file comes back).
    moved.unlink()

    def missing() -> dict[str, Any] | None:
        found = server.get(f"/api/v1/assets/{asset['id']}")
        return dict(found) if found["status"] == "missing" else None

    gone = _poll(missing, "the deletion", server.log, CHANGE_TIMEOUT_S)
    assert gone["path"] == str(moved)
    assert [face["id"] for face in gone["faces"]] == face_ids
    listed = server.get("/api/v1/assets", pageSize=500, status="missing")
    assert [item["id"] for item in listed["items"]] == [asset["id"]]


def _watch_command() -> list[str]:
    script = Path(sys.executable).parent / "image-search"
    if script.exists():
        return [str(script), "watch"]
    return [sys.executable, "-m", "image_search.cli", "watch"]


def test_watch_command_indexes_its_folder_then_a_photo_copied_in(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    people = faces_dir / "people-small"
    root = link_tree(tmp_path / "photos", {"amy": sorted((people / "amy").glob("*.png"))[:2]})
    settings = make_settings(tmp_path / "data", models_dir, workers=1)
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_watch_command(), str(root)],
            env=_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _poll(
            lambda: "Watching 1 folder(s)" in log.read_text() or None,
            "the folder to be indexed and watched",
            log,
            START_TIMEOUT_S * 2,
        )
        photo = root / "raj1.png"
        shutil.copyfile(people / "raj" / "raj1.png", photo)

        def indexed() -> tuple[str, int] | None:
            assert process.poll() is None, f"watch exited:\n{_tail(log)}"
            factory = open_database(settings)
            try:
                with session_scope(factory) as session:
                    row = session.scalars(select(Asset).where(Asset.path == str(photo))).first()
                    if row is None or row.stage != "done":
                        return None
                    faces = session.scalars(select(Face.id).where(Face.asset_id == row.id))
                    return row.status, len(faces.all())
            finally:
                factory.kw["bind"].dispose()

        status, faces = _poll(indexed, "the copied photo", log, CHANGE_TIMEOUT_S)
        assert (status, faces) == ("done", 1)
        _poll(
            lambda: "indexed: 1 files processed" in log.read_text() or None,
            "the summary line",
            log,
            CHANGE_TIMEOUT_S,
        )
        output = log.read_text()
        assert f"added {photo}\n" in output, output
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        finally:
            _stop(process)
    output = log.read_text()
    assert code == 0, output
    assert output.rstrip().endswith("Stopped."), output
