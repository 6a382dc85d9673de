"""The library watcher with a real watchdog observer over temporary library folders and a real
SQLite library: a file copied in slowly is registered once, after it settled; moves of files
and folders keep their assets (ids, faces); deletions mark assets missing; temporary, hidden
and data-dir files are ignored; the reconcile finds what changed while nothing watched, and
watches roots added meanwhile."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.db.engine import session_scope
from image_search.jobs.service import IndexService, open_database
from image_search.library.models import Asset, AssetStatus, Stage
from image_search.library.service import PathChange, ScanService
from image_search.library.watcher import LibraryWatcher, describe
from tests.conftest import make_settings, require_asset
from tests.library.test_scanner import _copy, _faces

DEBOUNCE_S = 0.5
TIMEOUT_S = 30.0


class Scheduled:
    """A ``WorkScheduler`` that counts: how often work was scheduled (and committed)."""

    def __init__(self) -> None:
        self.scheduled = 0
        self.committed_count = 0

    def schedule(self, session: Session) -> None:
        self.scheduled += 1

    def committed(self) -> None:
        self.committed_count += 1


@dataclass
class Watched:
    """A library root with a started watcher over it; ``changes`` are (monotonic time,
    change) as the watcher applied them."""

    root: Path
    settings: Settings
    factory: sessionmaker[Session]
    scheduler: Scheduled
    watcher: LibraryWatcher
    changes: list[tuple[float, PathChange]] = field(default_factory=list)

    def record(self, changes: list[PathChange]) -> None:
        now = time.monotonic()
        self.changes.extend((now, change) for change in changes)

    def tick_until(
        self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S
    ) -> None:
        """Let the watcher work (``tick`` every 50 ms) until ``condition`` holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.lines()}"
            self.watcher.tick()
            time.sleep(0.05)

    def tick_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.watcher.tick()
            time.sleep(0.05)

    def has(self, kind: str, path: Path) -> bool:
        return any(c.kind == kind and c.path == str(path) for _, c in self.changes)

    def lines(self) -> list[str]:
        return [describe(change) for _, change in self.changes]

    def asset(self, path: Path) -> Asset | None:
        with session_scope(self.factory) as session:
            return session.scalars(select(Asset).where(Asset.path == str(path))).first()

    def asset_by_id(self, asset_id: int) -> Asset:
        with session_scope(self.factory) as session:
            found = session.get(Asset, asset_id)
            assert found is not None
            return found


def _settings(tmp_path: Path, models_dir: Path) -> Settings:
    return make_settings(
        tmp_path / "data",
        models_dir,
        workers=1,
        watch=True,
        watch_debounce_seconds=DEBOUNCE_S,
        watch_reconcile_seconds=3600,
    )


def _scan(factory: sessionmaker[Session], root: Path) -> None:
    """Register and hash ``root`` (no faces): it becomes a library root."""
    with session_scope(factory) as session:
        ScanService(session, session.commit, exclude=(root / "data",)).scan([root])


@pytest.fixture
def people(faces_dir: Path) -> Path:
    return require_asset(faces_dir / "people-small")


@pytest.fixture
def library(tmp_path: Path, models_dir: Path, people: Path) -> Iterator[Watched]:
    """``tmp_path/library`` with amy1 and raj1 (registered and hashed, no faces) and a
    started watcher over it; the data dir is ``tmp_path/library/data`` (inside the root)."""
    root = tmp_path / "library"
    for name in ("amy1", "raj1"):
        _copy(people / name[:-1] / f"{name}.png", root / "album" / f"{name}.png")
    settings = _settings(root, models_dir)
    factory = open_database(settings)
    _scan(factory, root)
    with _watch(settings, factory, root) as watched:
        yield watched
    factory.kw["bind"].dispose()


@contextmanager
def _watch(settings: Settings, factory: sessionmaker[Session], root: Path) -> Iterator[Watched]:
    scheduler = Scheduled()
    watched = Watched(root, settings, factory, scheduler, None)  # type: ignore[arg-type]
    watched.watcher = LibraryWatcher(settings, factory, scheduler, on_changes=watched.record)
    watched.watcher.start()
    try:
        yield watched
    finally:
        watched.watcher.stop()


# --- new and changed files -----------------------------------------------------------------------


def test_a_file_copied_in_slowly_is_registered_once_after_it_settles(
    library: Watched, people: Path
) -> None:
    data = (people / "penny" / "penny1.png").read_bytes()
    target = library.root / "album" / "penny1.png"
    chunks = [data[i : i + 2000] for i in range(0, len(data), 2000)]
    assert len(chunks) >= 6
    written = threading.Event()
    finished_at: list[float] = []

    def copy_slowly() -> None:  # ~1.4 s in all: longer than the debounce, pauses shorter
        with target.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                out.flush()
                time.sleep(0.2)
        finished_at.append(time.monotonic())
        written.set()

    writer = threading.Thread(target=copy_slowly)
    writer.start()
    library.tick_until(lambda: library.has("added", target), "the copied file")
    writer.join()
    # The last event is the file's close, just before ``finished_at``: applied a debounce later.
    library.tick_for(3 * DEBOUNCE_S)  # nothing more comes of it

    mine = [(at, c) for at, c in library.changes if c.path == str(target)]
    assert [c.kind for _, c in mine] == ["added"], library.lines()
    assert mine[0][0] >= finished_at[0] + DEBOUNCE_S * 0.9, "applied before the copy settled"
    asset = library.asset(target)
    assert asset is not None
    assert (asset.size, asset.stage, asset.status) == (len(data), Stage.DISCOVERED, "pending")
    assert library.scheduler.scheduled >= 1
    assert library.scheduler.committed_count == library.scheduler.scheduled


def test_a_changed_file_is_registered_again(library: Watched, people: Path) -> None:
    photo = library.root / "album" / "amy1.png"
    before = library.asset(photo)
    assert before is not None and before.stage == Stage.HASHED
    photo.chmod(0o644)
    photo.write_bytes((people / "amy" / "amy2.png").read_bytes())

    library.tick_until(lambda: library.has("changed", photo), "the changed file")

    after = library.asset(photo)
    assert after is not None
    assert (after.id, after.stage, after.status) == (before.id, Stage.DISCOVERED, "pending")


# --- moves -------------------------------------------------------------------------------------


def test_a_moved_file_keeps_its_asset_id_and_faces(
    tmp_path: Path, models_dir: Path, people: Path
) -> None:
    root = tmp_path / "library"
    photo = _copy(people / "howard" / "howard1.png", root / "howard1.png")
    settings = _settings(tmp_path, models_dir)
    service = IndexService(settings)
    service.index([root])
    with _watch(settings, service.factory, root) as watched:
        before = watched.asset(photo)
        assert before is not None and before.status == AssetStatus.DONE
        faces = _faces(service.factory, before.id)
        assert faces, "howard1 has a face"
        target = root / "2024" / "trip" / "howard-at-the-beach.png"
        target.parent.mkdir(parents=True)
        watched.tick_for(2 * DEBOUNCE_S)  # the new folder is watched (inotify) before the move

        photo.rename(target)
        watched.tick_until(lambda: watched.has("moved", target), "the move")
        watched.tick_for(3 * DEBOUNCE_S)

        after = watched.asset(target)
        assert after is not None
        assert (after.id, after.status, after.stage) == (before.id, AssetStatus.DONE, Stage.DONE)
        assert watched.asset(photo) is None
        assert _faces(service.factory, after.id) == faces
        assert [c.kind for _, c in watched.changes] == ["moved"], watched.lines()
        assert watched.lines() == [f"moved {photo} -> {target}"]
        assert watched.scheduler.scheduled == 0, "a move needs no processing"

        # Into a folder made the same instant, before inotify watches it: the move may come
        # as a deletion plus a new file; hashing (the index job) then recognises the file.
        final = root / "new" / "deeper" / "howard.png"
        final.parent.mkdir(parents=True)
        target.rename(final)
        watched.tick_until(
            lambda: (
                watched.has("moved", final)
                or (watched.has("added", final) and watched.has("missing", target))
            ),
            "the second move",
        )
        summary = service.process_pending()

        last = watched.asset(final)
        assert last is not None
        assert (last.id, last.status) == (before.id, AssetStatus.DONE)
        assert _faces(service.factory, last.id) == faces
        assert summary.pipeline.processed == 0
    service.factory.kw["bind"].dispose()


def test_a_moved_folder_moves_every_asset_below_it(library: Watched) -> None:
    album = library.root / "album"
    ids = {name: library.asset(album / name).id for name in ("amy1.png", "raj1.png")}  # type: ignore[union-attr]
    target = library.root / "2023" / "holidays"
    target.parent.mkdir()
    library.tick_for(2 * DEBOUNCE_S)

    album.rename(target)
    library.tick_until(lambda: library.has("moved", target), "the folder move")
    library.tick_for(3 * DEBOUNCE_S)

    moved = [c for _, c in library.changes if c.kind == "moved"]
    assert [(c.old_path, c.path, c.count) for c in moved] == [(str(album), str(target), 2)]
    assert [c.kind for _, c in library.changes] == ["moved"], library.lines()
    for name, asset_id in ids.items():
        asset = library.asset(target / name)
        assert asset is not None and asset.id == asset_id
        assert asset.root == str(library.root)
        assert library.asset(album / name) is None


def test_a_file_moved_over_another_takes_its_place(library: Watched) -> None:
    source = library.root / "album" / "amy1.png"
    replaced = library.root / "album" / "raj1.png"
    kept_id = library.asset(source).id  # type: ignore[union-attr]
    replaced_id = library.asset(replaced).id  # type: ignore[union-attr]

    os.replace(source, replaced)
    library.tick_until(lambda: library.has("moved", replaced), "the move")
    library.tick_for(3 * DEBOUNCE_S)

    assert library.asset(replaced).id == kept_id  # type: ignore[union-attr]
    assert library.asset(source) is None
    with session_scope(library.factory) as session:
        assert session.get(Asset, replaced_id) is None  # its file was overwritten
    assert library.lines() == [f"moved {source} -> {replaced}"]


def test_a_file_moved_in_from_outside_is_new_and_one_moved_out_is_missing(
    library: Watched, people: Path, tmp_path: Path
) -> None:
    outside = _copy(people / "sheldon" / "sheldon1.png", tmp_path / "downloads" / "sheldon1.png")
    inside = library.root / "album" / "sheldon1.png"
    leaving = library.root / "album" / "raj1.png"

    outside.rename(inside)
    leaving.rename(tmp_path / "downloads" / "raj1.png")
    library.tick_until(
        lambda: library.has("added", inside) and library.has("missing", leaving), "both"
    )

    assert library.asset(inside) is not None
    assert library.asset(leaving).status == AssetStatus.MISSING  # type: ignore[union-attr]


# --- deletions ---------------------------------------------------------------------------------


def test_a_deleted_file_and_a_deleted_folder_mark_their_assets_missing(
    library: Watched, people: Path
) -> None:
    photo = library.root / "album" / "amy1.png"
    other = _copy(people / "leonard" / "leonard1.png", library.root / "old" / "sub" / "l1.png")
    library.tick_until(lambda: library.has("added", other), "the new file")
    kept_id = library.asset(photo).id  # type: ignore[union-attr]

    photo.unlink()
    shutil.rmtree(library.root / "old")
    library.tick_until(
        lambda: library.has("missing", photo) and library.has("missing", other), "missing"
    )

    assert library.asset_by_id(kept_id).status == AssetStatus.MISSING
    assert library.asset(other).status == AssetStatus.MISSING  # type: ignore[union-attr]
    assert library.asset(library.root / "album" / "raj1.png").status != AssetStatus.MISSING  # type: ignore[union-attr]


# --- ignored files -------------------------------------------------------------------------------


def test_temporary_hidden_and_data_dir_files_are_ignored_until_renamed(
    library: Watched, people: Path
) -> None:
    data = (people / "bernadette" / "bernadette1.png").read_bytes()
    download = library.root / "album" / "bernadette1.png.crdownload"
    download.write_bytes(data)
    (library.root / "album" / ".bernadette1.png").write_bytes(data)
    (library.root / "album" / "bernadette1.png.tmp").write_bytes(data)
    (library.settings.data_dir / "bernadette1.png").write_bytes(data)
    (library.root / ".cache").mkdir()
    (library.root / ".cache" / "bernadette1.png").write_bytes(data)

    library.tick_for(4 * DEBOUNCE_S)
    assert library.changes == []

    final = library.root / "album" / "bernadette1.png"
    download.rename(final)  # the download finished
    library.tick_until(lambda: library.has("added", final), "the finished download")
    library.tick_for(2 * DEBOUNCE_S)
    assert library.lines() == [f"added {final}"]


# --- reconcile -----------------------------------------------------------------------------------


def test_reconcile_finds_a_file_created_while_the_watcher_was_stopped(
    library: Watched, people: Path
) -> None:
    library.watcher.stop()
    photo = _copy(people / "amy" / "amy3.png", library.root / "album" / "amy3.png")
    gone = library.root / "album" / "raj1.png"
    gone.unlink()

    with _watch(library.settings, library.factory, library.root) as watched:
        changes = watched.watcher.reconcile()

        assert sorted(describe(c) for c in changes) == [f"added {photo}", f"missing {gone}"]
        assert watched.asset(photo) is not None
        assert watched.scheduler.scheduled == watched.scheduler.committed_count == 1


def test_a_root_added_later_is_watched_after_the_next_reconcile(
    library: Watched, people: Path, tmp_path: Path
) -> None:
    second = tmp_path / "phone"
    _copy(people / "raj" / "raj2.png", second / "raj2.png")
    _scan(library.factory, second)  # `image-search index` while the server runs
    assert str(second) not in library.watcher.roots

    library.watcher.reconcile()
    assert str(second) in library.watcher.roots
    photo = _copy(people / "raj" / "raj3.png", second / "camera" / "raj3.png")
    library.tick_until(lambda: library.has("added", photo), "the file in the new root")

    assert library.asset(photo).root == str(second)  # type: ignore[union-attr]


def test_run_reconciles_at_once_and_processes_in_its_loop(library: Watched, people: Path) -> None:
    """``run`` (the server's and the CLI's loop): a reconcile first, then ticks, with
    ``after_tick`` after each round; a stop event ends it."""
    library.watcher.stop()
    early = _copy(people / "penny" / "penny2.png", library.root / "penny2.png")
    stop = threading.Event()
    rounds: list[int] = []
    with _watch(library.settings, library.factory, library.root) as watched:
        thread = threading.Thread(
            target=watched.watcher.run,
            args=(stop,),
            kwargs={"after_tick": lambda: rounds.append(1)},
        )
        thread.start()
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while not watched.has("added", early):
                assert time.monotonic() < deadline, watched.lines()
                time.sleep(0.05)
            late = _copy(people / "penny" / "penny3.png", library.root / "penny3.png")
            while not watched.has("added", late):
                assert time.monotonic() < deadline, watched.lines()
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(10)
        assert not thread.is_alive()
        assert rounds, "after_tick ran"
        assert watched.scheduler.scheduled >= 2
