"""Durability: SIGKILL at several points, then the same command again, ends with exactly the faces
of an uninterrupted run; bad files end failed with their stage and reason."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.models import Asset, AssetStatus
from tests.conftest import link_tree, make_settings

FaceKey = tuple[str, int, int, int, int]


def _build_library(root: Path, faces_dir: Path) -> Path:
    link_tree(
        root,
        {
            "people": sorted((faces_dir / "people-small").glob("*/*.png"))[:20],
            "group": sorted((faces_dir / "group").glob("*.jpg")),
        },
    )
    bad = root / "bad"
    bad.mkdir()
    real_jpeg = (faces_dir / "group" / "dlib_2008_002470.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(real_jpeg[: len(real_jpeg) // 3])
    (bad / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(4000))
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "notes.png").write_text("this is a text file with an image extension\n")
    # A PNG named .jpg is an image all the same: kind comes from the content.
    shutil.copy(faces_dir / "people-small" / "raj" / "raj1.png", bad / "really-a-png.jpg")
    return root


def _faces(db: Path, root: Path) -> list[FaceKey]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "select a.path, f.box_x, f.box_y, f.box_width, f.box_height "
            "from faces f join assets a on a.id = f.asset_id"
        ).fetchall()
    return sorted(
        (str(Path(p).relative_to(root)), round(x), round(y), round(w), round(h))
        for p, x, y, w, h in rows
    )


def _done_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as connection:
            query = "select count(*) from assets where status = 'done'"
            return int(connection.execute(query).fetchone()[0])
    except sqlite3.Error:
        return 0


def _run_and_kill(
    env: dict[str, str], root: Path, db: Path, kill_when_done: int, log: Path
) -> bool:
    """Start ``image-search index``, SIGKILL its whole process group once at least
    ``kill_when_done`` assets are done; returns False if it finished first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "image_search.cli", "index", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if (kill_when_done == 0 and db.exists()) or (
            kill_when_done and _done_count(db) >= kill_when_done
        ):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.05)
    process.wait()
    return False


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_finds_the_same_faces(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    root = _build_library(tmp_path / "library", faces_dir)

    reference = IndexService(make_settings(tmp_path / "reference", models_dir))
    reference.index([root])
    expected = _faces(tmp_path / "reference" / "image-search.db", root)
    assert len(expected) >= 40

    data_dir = tmp_path / "interrupted"
    db = data_dir / "image-search.db"
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(data_dir),
        "IMAGE_SEARCH_MODELS_DIR": str(models_dir),
        "IMAGE_SEARCH_WORKERS": "2",
    }
    log = tmp_path / "interrupted.log"
    kills = [_run_and_kill(env, root, db, threshold, log) for threshold in (0, 3, 12, 25)]
    assert sum(kills) >= 3, f"runs ended before the kill points: {kills}\n{log.read_text()[-3000:]}"
    assert 0 < _done_count(db) < 35  # the kills interrupted real work

    finished = subprocess.run(
        [sys.executable, "-m", "image_search.cli", "index", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert _faces(db, root) == expected  # nothing lost, nothing duplicated

    with sqlite3.connect(db) as connection:
        statuses = dict(connection.execute("select status, count(*) from assets group by status"))
        pending = connection.execute(
            "select count(*) from assets where status = 'pending'"
        ).fetchone()[0]
    assert pending == 0 and statuses.get("failed") == 4


def test_bad_files_fail_with_stage_and_reason_and_the_run_goes_on(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    root = tmp_path / "library"
    _build_library(root, faces_dir)
    service = IndexService(make_settings(tmp_path / "data", models_dir, workers=1))
    summary = service.index([root])
    with session_scope(service.factory) as session:
        assets = {
            Path(a.path).name: a
            for a in session.scalars(select(Asset).where(Asset.path.contains("/bad/")))
        }
        faces_of_png = session.scalars(
            select(Face).where(Face.asset_id == assets["really-a-png.jpg"].id)
        ).all()
    reasons = {name: (a.status, a.error_stage, a.error) for name, a in assets.items()}
    assert reasons["really-a-png.jpg"][0] == AssetStatus.DONE and len(faces_of_png) == 1
    assert reasons["empty.jpg"][0] == AssetStatus.FAILED
    assert "empty" in (reasons["empty.jpg"][2] or "")
    assert reasons["notes.png"][0] == AssetStatus.FAILED
    assert "not a supported image format" in (reasons["notes.png"][2] or "")
    assert reasons["truncated.jpg"][0] == AssetStatus.FAILED
    assert reasons["truncated.jpg"][1] == "metadata"
    assert "truncated" in (reasons["truncated.jpg"][2] or "")
    assert reasons["corrupt.jpg"][0] == AssetStatus.FAILED and reasons["corrupt.jpg"][2]
    # Every good photo was processed despite the failures.
    files = [p for p in root.rglob("*") if not p.is_dir()]
    assert summary.status.assets_by_status["image"].get("done") == len(files) - 4
    assert {f.path for f in summary.status.failures} == {
        str(root / "bad" / n) for n in ("truncated.jpg", "corrupt.jpg", "empty.jpg", "notes.png")
    }

    # retry-failed tries them again: they fail again with the same reasons, attempts counted.
    queued, report = service.retry_failed()
    assert queued == 4 and report.failed == 2  # empty and mislabelled fail before decoding
    failures = {Path(f.path).name: f.error for f in service.status().failures}
    assert "empty" in (failures["empty.jpg"] or "")
    assert "not a supported image format" in (failures["notes.png"] or "")
    with session_scope(service.factory) as session:
        attempts = {
            Path(a.path).name: a.attempts
            for a in session.scalars(select(Asset).where(Asset.status == AssetStatus.FAILED))
        }
    assert all(count == 2 for count in attempts.values()), attempts
