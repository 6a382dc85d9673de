"""Scanning real folders into a real SQLite library: nesting, several roots, symlink cycles,
skipped folders, the data dir, and what a rescan does with unchanged, moved, deleted, touched and
modified files."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService, IndexSummary, open_database
from image_search.library import service as library_service
from image_search.library.filekinds import classify_file
from image_search.library.models import Asset, AssetKind, AssetStatus, Stage
from image_search.library.scanner import walk_files
from image_search.library.service import ScanReport, ScanService
from tests.conftest import make_settings, require_asset

# --- helpers -------------------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return target


def _write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assets(factory: sessionmaker[Session]) -> dict[str, Any]:
    """path -> row of the asset's id, path, root, kind, mime type, status, stage, content hash,
    error, error stage and oriented size."""
    with session_scope(factory) as session:
        rows = session.execute(
            select(
                Asset.id,
                Asset.path,
                Asset.root,
                Asset.kind,
                Asset.mime_type,
                Asset.status,
                Asset.stage,
                Asset.content_hash,
                Asset.error,
                Asset.error_stage,
                Asset.width,
                Asset.height,
            )
        ).all()
    return {row.path: row for row in rows}


def _faces(factory: sessionmaker[Session], asset_id: int) -> list[tuple[int, datetime]]:
    """(id, created_at) of an asset's faces: SQLite reuses the ids of deleted rows, so the
    creation time tells a kept face from one detected again."""
    with session_scope(factory) as session:
        query = select(Face.id, Face.created_at).where(Face.asset_id == asset_id)
        return [tuple(row) for row in session.execute(query.order_by(Face.id))]


def _embeddings(factory: sessionmaker[Session], asset_id: int) -> list[bytes]:
    with session_scope(factory) as session:
        query = select(Face.embedding).where(Face.asset_id == asset_id).order_by(Face.id)
        return list(session.scalars(query))


@dataclass
class Library:
    """A library with a real SQLite database in a temporary data dir, scanned without the face
    pipeline."""

    data_dir: Path
    factory: sessionmaker[Session]

    def scan(self, roots: list[Path]) -> ScanReport:
        session = self.factory()
        try:
            report = ScanService(session, session.commit).scan(roots)
            session.commit()
            return report
        finally:
            session.close()

    def assets(self) -> dict[str, Any]:
        return _assets(self.factory)


@pytest.fixture
def library(tmp_path: Path, assets_dir: Path) -> Library:
    data_dir = tmp_path / "data"
    settings = make_settings(data_dir, assets_dir / "models", workers=1, database_url=None)
    return Library(data_dir, open_database(settings))


@pytest.fixture
def people(faces_dir: Path) -> Path:
    return require_asset(faces_dir / "people-small")


def _indexer(tmp_path: Path, models_dir: Path) -> IndexService:
    """Index with the default pack (YuNet from the shared models dir, dlib from PyPI) on one
    process, into a SQLite database in ``tmp_path/data``."""
    settings = make_settings(tmp_path / "data", models_dir, workers=1, database_url=None)
    return IndexService(settings)


def _rows(service: IndexService) -> dict[str, Any]:
    return _assets(service.factory)


# --- walk_files ----------------------------------------------------------------------------------


def test_walk_finds_files_in_nested_folders_with_their_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "root"
    expected = {
        "top.jpg": b"1",
        "2019/summer.jpg": b"22",
        "2019/08/beach/day1/IMG_0001.JPG": b"333",
        "2019/08/beach/day1/deeper/still/IMG_0002.jpg": b"4444",
        "scans/old.png": b"55555",
    }
    for relative, data in expected.items():
        _write(root / relative, data)
    (root / "empty-folder" / "nested-empty").mkdir(parents=True)

    entries = list(walk_files(root))

    assert sorted(str(e.path.relative_to(root)) for e in entries) == sorted(expected)
    for entry in entries:
        info = entry.path.stat()
        assert entry.path.is_absolute()
        assert entry.size == len(expected[str(entry.path.relative_to(root))]) == info.st_size
        assert entry.mtime == info.st_mtime


def test_walk_ends_on_a_symlink_cycle_and_yields_each_file_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "a.jpg")
    _write(root / "child" / "b.jpg")
    _write(root / "child" / "grandchild" / "c.jpg")
    (root / "child" / "up").symlink_to(root, target_is_directory=True)  # child -> its parent
    (root / "child" / "grandchild" / "loop").symlink_to("..", target_is_directory=True)

    # Bounded: a walker that followed the cycle would yield far more than this.
    entries = list(itertools.islice(walk_files(root), 1000))

    relative = sorted(str(e.path.relative_to(root)) for e in entries)
    assert relative == ["a.jpg", "child/b.jpg", "child/grandchild/c.jpg"]


def test_walk_follows_a_symlinked_folder_outside_the_root(tmp_path: Path) -> None:
    elsewhere = _write(tmp_path / "nas" / "holiday" / "x.jpg").parent
    root = tmp_path / "root"
    root.mkdir()
    (root / "holiday").symlink_to(elsewhere, target_is_directory=True)

    assert [e.path for e in walk_files(root)] == [root / "holiday" / "x.jpg"]


def test_walk_skips_hidden_and_system_folders_and_hidden_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "keep" / "photo.jpg")
    _write(root / ".hidden" / "photo.jpg")
    _write(root / "keep" / ".thumbnails" / "photo.jpg")
    _write(root / "@eaDir" / "photo.jpg" / "SYNOPHOTO_THUMB_XL.jpg")
    _write(root / "keep" / "@eaDir" / "photo.jpg" / "SYNOPHOTO_THUMB_M.jpg")
    _write(root / "#recycle" / "deleted.jpg")
    _write(root / "$RECYCLE.BIN" / "deleted.jpg")
    _write(root / "__MACOSX" / "keep" / "._photo.jpg")
    _write(root / "keep" / "._photo.jpg")  # AppleDouble resource fork next to the photo
    _write(root / "keep" / ".DS_Store")

    assert [str(e.path.relative_to(root)) for e in walk_files(root)] == ["keep/photo.jpg"]


def test_walk_never_enters_an_excluded_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "photo.jpg")
    _write(root / "index-data" / "thumbnails" / "ab" / "cd" / "thumb.jpeg")
    (root / "alias").symlink_to(root / "index-data", target_is_directory=True)

    entries = list(walk_files(root, exclude=(root / "index-data",)))

    assert [str(e.path.relative_to(root)) for e in entries] == ["photo.jpg"]


# --- ScanService on a real database --------------------------------------------------------------


def test_scan_registers_nested_photos_with_kind_and_hash(library: Library, people: Path) -> None:
    root = library.data_dir.parent / "photos"
    sources = {
        "2020/amy1.png": people / "amy" / "amy1.png",
        "2020/06/party/raj1.png": people / "raj" / "raj1.png",
        "2020/06/party/late/night/penny1.png": people / "penny" / "penny1.png",
    }
    for relative, source in sources.items():
        _copy(source, root / relative)
    _write(root / "2020" / "notes.txt", b"not a photo")

    report = library.scan([root])

    rows = library.assets()
    assert sorted(rows) == sorted(str(root / r) for r in sources)
    assert (report.seen, report.new, report.hashed) == (4, 3, 3)  # notes.txt seen, ignored
    for relative, source in sources.items():
        row = rows[str(root / relative)]
        assert row.root == str(root)
        assert (row.kind, row.mime_type) == (AssetKind.IMAGE, "image/png")
        assert (row.status, row.stage) == (AssetStatus.PENDING, Stage.HASHED)
        assert row.content_hash == _sha256(source)


def test_scan_of_several_roots_keeps_each_roots_files(library: Library, people: Path) -> None:
    base = library.data_dir.parent
    # "photos" is a string prefix of "photos2": each root must still own only its own files.
    first = _copy(people / "amy" / "amy1.png", base / "photos" / "amy1.png")
    second = _copy(people / "raj" / "raj1.png", base / "photos2" / "sub" / "raj1.png")

    report = library.scan([base / "photos", base / "photos2"])
    assert (report.new, report.missing) == (2, 0)
    rows = library.assets()
    assert rows[str(first)].root == str(base / "photos")
    assert rows[str(second)].root == str(base / "photos2")

    # Rescanning one root must not touch (or mark missing) the other root's files.
    report = library.scan([base / "photos"])
    assert (report.seen, report.unchanged, report.missing) == (1, 1, 0)
    assert {row.status for row in library.assets().values()} == {AssetStatus.PENDING}


def test_roots_whose_names_differ_only_in_case_are_separate(library: Library, people: Path) -> None:
    base = library.data_dir.parent
    lower = _copy(people / "amy" / "amy1.png", base / "photos" / "amy1.png")
    upper = _copy(people / "raj" / "raj1.png", base / "Photos" / "raj1.png")
    if lower.parent.samefile(upper.parent):
        pytest.skip("case-insensitive file system: photos and Photos are one folder")

    first = library.scan([base / "photos", base / "Photos"])
    second = library.scan([base / "photos"])

    rows = library.assets()
    assert (first.missing, first.hashed, second.missing) == (0, 2, 0)
    assert rows[str(lower)].status == rows[str(upper)].status == AssetStatus.PENDING


def test_symlink_cycle_registers_each_file_once(library: Library, people: Path) -> None:
    root = library.data_dir.parent / "photos"
    _copy(people / "amy" / "amy1.png", root / "amy1.png")
    _copy(people / "raj" / "raj1.png", root / "events" / "raj1.png")
    (root / "events" / "parent").symlink_to(root, target_is_directory=True)

    report = library.scan([root])

    assert sorted(library.assets()) == [str(root / "amy1.png"), str(root / "events" / "raj1.png")]
    assert (report.seen, report.new) == (2, 2)


def test_hidden_and_system_folders_are_not_registered(library: Library, people: Path) -> None:
    root = library.data_dir.parent / "photos"
    photo = people / "amy" / "amy1.png"
    kept = _copy(photo, root / "album" / "amy1.png")
    _copy(people / "raj" / "raj1.png", root / ".hidden" / "raj1.png")
    _copy(people / "raj" / "raj2.png", root / "album" / "@eaDir" / "amy1.png" / "THUMB.png")
    _copy(people / "raj" / "raj3.png", root / "@eaDir" / "raj3.png")
    _copy(people / "raj" / "raj4.png", root / "album" / ".amy1.png")

    report = library.scan([root])

    assert list(library.assets()) == [str(kept)]
    assert report.seen == 1


def test_data_dir_inside_a_root_is_never_indexed(
    tmp_path: Path, people: Path, models_dir: Path
) -> None:
    root = tmp_path  # the data dir is tmp_path/data: inside the root
    photo = _copy(people / "leonard" / "leonard1.png", root / "album" / "leonard1.png")
    service = _indexer(tmp_path, models_dir)

    service.index([root])
    # The first run wrote real images (thumbnails, face crops) into the data dir ...
    written = [
        p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.suffix in (".jpeg", ".jpg")
    ]
    assert written, "the pipeline wrote no thumbnails into the data dir"
    assert all(classify_file(p, p.stat().st_size) is not None for p in written)
    # ... which a second run must not pick up as photos.
    summary = service.index([root])

    assert list(_rows(service)) == [str(photo)]
    assert (summary.scan.seen, summary.scan.new) == (1, 0)


def test_rescan_leaves_unchanged_files_alone_without_rehashing(
    tmp_path: Path, people: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "photos"
    for name in ("amy1", "raj1", "penny1"):
        _copy(people / name[:-1] / f"{name}.png", root / "album" / f"{name}.png")
    hashed: list[Path] = []
    real_hash = library_service.content_hash

    def counting_hash(path: Path) -> str:
        hashed.append(path)
        return real_hash(path)

    monkeypatch.setattr(library_service, "content_hash", counting_hash)
    service = _indexer(tmp_path, models_dir)
    first = service.index([root])
    before = _rows(service)
    all_faces_before = {path: _faces(service.factory, row.id) for path, row in before.items()}
    assert len(hashed) == 3 and first.pipeline.processed == 3
    assert all(all_faces_before.values()), "every people-small photo has a face"

    hashed.clear()
    second = service.index([root])

    assert hashed == []
    assert (second.scan.seen, second.scan.unchanged, second.scan.hashed) == (3, 3, 0)
    assert (second.scan.new, second.scan.changed, second.scan.moved) == (0, 0, 0)
    assert (second.pipeline.processed, second.pipeline.faces) == (0, 0)
    assert _rows(service) == before
    assert {
        path: _faces(service.factory, row.id) for path, row in before.items()
    } == all_faces_before


def _index(service: IndexService, roots: list[Path]) -> IndexSummary:
    summary = service.index(roots)
    assert summary.pipeline.failed == 0
    return summary


def test_moved_file_keeps_its_asset_and_faces(
    tmp_path: Path, people: Path, models_dir: Path
) -> None:
    root = tmp_path / "photos"
    old = _copy(people / "leonard" / "leonard1.png", root / "inbox" / "leonard1.png")
    other = _copy(people / "sheldon" / "sheldon1.png", root / "inbox" / "sheldon1.png")
    service = _indexer(tmp_path, models_dir)
    _index(service, [root])
    before = _rows(service)
    asset_id = before[str(old)].id
    faces = _faces(service.factory, asset_id)
    assert faces

    new = root / "2021" / "family" / "leonard-at-home.png"
    new.parent.mkdir(parents=True)
    old.rename(new)
    summary = _index(service, [root])

    after = _rows(service)
    assert sorted(after) == sorted([str(new), str(other)])
    moved = after[str(new)]
    assert moved.id == asset_id
    assert (moved.status, moved.stage) == (AssetStatus.DONE, Stage.DONE)
    assert moved.content_hash == before[str(old)].content_hash
    assert _faces(service.factory, asset_id) == faces
    assert summary.scan.moved == 1
    assert summary.pipeline.processed == 0
    assert after[str(other)] == before[str(other)]


def test_file_moved_to_another_root_keeps_its_asset_and_faces(
    tmp_path: Path, people: Path, models_dir: Path
) -> None:
    first, second = tmp_path / "phone", tmp_path / "archive"
    old = _copy(people / "penny" / "penny1.png", first / "penny1.png")
    second.mkdir()
    service = _indexer(tmp_path, models_dir)
    _index(service, [first, second])
    asset_id = _rows(service)[str(old)].id
    faces = _faces(service.factory, asset_id)

    new = second / "2019" / "penny1.png"
    new.parent.mkdir()
    shutil.move(old, new)
    summary = _index(service, [first, second])

    rows = _rows(service)
    assert list(rows) == [str(new)]
    assert (rows[str(new)].id, rows[str(new)].root) == (asset_id, str(second))
    assert rows[str(new)].status == AssetStatus.DONE
    assert _faces(service.factory, asset_id) == faces
    assert (summary.scan.moved, summary.pipeline.processed) == (1, 0)


def test_deleted_file_becomes_missing_and_returns_when_restored(
    tmp_path: Path, people: Path, models_dir: Path
) -> None:
    root = tmp_path / "photos"
    source = people / "howard" / "howard1.png"
    photo = _copy(source, root / "howard1.png")
    kept = _copy(people / "amy" / "amy2.png", root / "amy2.png")
    service = _indexer(tmp_path, models_dir)
    _index(service, [root])
    asset_id = _rows(service)[str(photo)].id

    photo.unlink()
    summary = _index(service, [root])

    rows = _rows(service)
    assert rows[str(photo)].status == AssetStatus.MISSING
    assert rows[str(photo)].id == asset_id
    assert rows[str(kept)].status == AssetStatus.DONE
    assert summary.scan.missing == 1
    assert summary.status.assets_by_status["image"] == {"missing": 1, "done": 1}

    _copy(source, photo)  # the drive is back
    summary = _index(service, [root])

    rows = _rows(service)
    assert (rows[str(photo)].id, rows[str(photo)].status) == (asset_id, AssetStatus.DONE)
    assert (summary.scan.missing, summary.pipeline.processed) == (0, 0)


def test_failed_file_that_was_away_comes_back_failed(
    tmp_path: Path, people: Path, models_dir: Path
) -> None:
    """A drive unplugged and plugged back: the broken file returns unchanged (same size and
    mtime) and stays failed with its reason, instead of being queued again as pending."""
    root = tmp_path / "photos"
    whole = (people / "amy" / "amy1.png").read_bytes()
    broken = root / "broken.png"
    root.mkdir()
    broken.write_bytes(whole[: len(whole) // 3])
    service = _indexer(tmp_path, models_dir)
    service.index([root])
    before = _rows(service)[str(broken)]
    assert before.status == AssetStatus.FAILED and before.error

    away = tmp_path / "broken.png"
    broken.rename(away)  # rename keeps size and mtime
    service.index([root])
    assert _rows(service)[str(broken)].status == AssetStatus.MISSING
    away.rename(broken)
    service.index([root])

    after = _rows(service)[str(broken)]
    assert (after.id, after.status, after.error) == (before.id, AssetStatus.FAILED, before.error)


def test_touched_but_identical_file_is_rehashed_not_reprocessed(
    tmp_path: Path, people: Path, models_dir: Path
) -> None:
    root = tmp_path / "photos"
    photo = _copy(people / "stuart" / "stuart1.png", root / "stuart1.png")
    service = _indexer(tmp_path, models_dir)
    _index(service, [root])
    before = _rows(service)[str(photo)]
    faces = _faces(service.factory, before.id)

    later = photo.stat().st_mtime + 3600
    os.utime(photo, (later, later))
    summary = _index(service, [root])

    after = _rows(service)[str(photo)]
    assert (summary.scan.changed, summary.scan.hashed, summary.pipeline.processed) == (1, 1, 0)
    assert after == before
    assert _faces(service.factory, before.id) == faces


def test_modified_file_is_processed_again(tmp_path: Path, people: Path, models_dir: Path) -> None:
    root = tmp_path / "photos"
    photo = _copy(people / "bernadette" / "bernadette1.png", root / "portrait.png")
    service = _indexer(tmp_path, models_dir)
    _index(service, [root])
    before = _rows(service)[str(photo)]
    faces = _faces(service.factory, before.id)
    embeddings = _embeddings(service.factory, before.id)
    assert faces

    replacement = people / "howard" / "howard2.png"  # the user edited the file: other pixels
    photo.write_bytes(replacement.read_bytes())
    summary = _index(service, [root])

    after = _rows(service)[str(photo)]
    assert after.id == before.id
    assert after.content_hash == _sha256(replacement) != before.content_hash
    assert (after.status, after.stage) == (AssetStatus.DONE, Stage.DONE)
    assert (summary.scan.changed, summary.scan.hashed, summary.pipeline.processed) == (1, 1, 1)
    new_faces = _faces(service.factory, before.id)
    assert new_faces and min(c for _, c in new_faces) > max(c for _, c in faces)
    new_embeddings = _embeddings(service.factory, before.id)
    assert new_embeddings != embeddings
    thumbnails = service.settings.thumbnails_dir
    assert list(thumbnails.rglob(f"{after.content_hash}-*")), "no thumbnails for the new bytes"


def test_unreadable_content_is_registered_as_failed_with_the_reason(
    library: Library, people: Path
) -> None:
    root = library.data_dir.parent / "photos"
    _write(root / "notes.jpg", b"shopping list: milk, eggs\n")
    _write(root / "empty.jpg", b"")
    png_as_jpg = _copy(people / "amy" / "amy1.png", root / "really-a-png.jpg")

    report = library.scan([root])

    rows = library.assets()
    for name, reason in (("notes.jpg", "not a supported image format"), ("empty.jpg", "empty")):
        row = rows[str(root / name)]
        assert (row.status, row.error_stage) == (AssetStatus.FAILED, Stage.DISCOVERED), name
        assert reason in row.error
    good = rows[str(png_as_jpg)]
    assert (good.status, good.mime_type, good.error) == (AssetStatus.PENDING, "image/png", None)
    assert (report.new, report.hashed, report.unreadable) == (3, 1, 0)
