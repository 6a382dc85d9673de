"""Scanning service: registers files of the library roots as assets, hashes them, recognises
moved files by their hash, and marks deleted ones missing; the library watcher
(library/watcher.py) registers single files and folder moves through it. Never commits by
itself: ``commit`` (the caller's) is called after each batch, so an interrupted scan resumes
where it stopped. Folders are walked outside any transaction: a slow walk (a network share)
never holds SQLite's write lock."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.jobs.progress import NullReporter, ProgressReporter
from image_search.library.filekinds import classify_file
from image_search.library.hashing import content_hash
from image_search.library.models import Asset, AssetStatus, Stage
from image_search.library.repository import AssetRepository, folder_prefix
from image_search.library.scanner import FileEntry, file_entry, walk_files

COMMIT_EVERY = 200  # files registered or hashed per transaction


@dataclass(slots=True)
class ScanReport:
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    missing: int = 0
    hashed: int = 0
    unreadable: int = 0


ChangeKind = Literal["added", "changed", "found", "moved", "missing"]


@dataclass(frozen=True, slots=True)
class PathChange:
    """One change to the library's files as registered.

    ``kind``: ``added`` (a new file), ``changed`` (new size or mtime: processed again),
    ``found`` (a file marked missing is back, unchanged), ``moved`` (``old_path`` renamed to
    ``path``, keeping its asset; a folder moves ``count`` assets), ``missing`` (the file is
    gone or no longer a photo or video). ``problem``: why an added or changed file is failed
    already (``FileKind.problem``, e.g. an empty file).
    """

    kind: ChangeKind
    path: str
    old_path: str | None = None
    count: int = 1
    problem: str | None = None

    @property
    def needs_processing(self) -> bool:
        """Whether the pipeline has work for it (added, changed, or back from missing)."""
        return self.kind in ("added", "changed", "found")


class ScanService:
    """``commit`` is called after each batch; the CLI passes ``session.commit``.
    ``on_change`` (optional) hears every change a registration makes (the watcher's log)."""

    def __init__(
        self,
        session: Session,
        commit: Callable[[], None],
        exclude: tuple[Path, ...] = (),
        reporter: ProgressReporter | None = None,
        on_change: Callable[[PathChange], None] | None = None,
    ) -> None:
        self.session = session
        self.assets = AssetRepository(session)
        self.commit = commit
        self.exclude = exclude
        self.reporter = reporter or NullReporter()
        self.on_change = on_change

    def scan(self, roots: list[Path]) -> ScanReport:
        """Register and hash every photo and video under ``roots`` (absolute folder paths)."""
        report = self.register_roots(roots)
        self.hash_discovered(report)
        return report

    def register_roots(self, roots: list[Path]) -> ScanReport:
        """Register every photo and video under ``roots`` (folders) without hashing them: new
        and changed files go to stage discovered, files gone from a root are marked missing,
        and each root is remembered as a library root (``library_roots``)."""
        report = ScanReport()
        self.reporter.start("scanning", None)
        for root in roots:
            resolved = root.resolve()
            self._register_root(resolved, report)
            self.assets.remember_root(str(resolved))
            self.commit()
        self.reporter.finish("scanning")
        return report

    def register_paths(self, root: Path, paths: Iterable[Path]) -> ScanReport:
        """Register the files ``paths`` (absolute, inside the library root ``root``) as a scan
        would: new or changed ones go to stage discovered, a missing one that is back is
        restored; a path that is no longer a file, or no longer a photo or video, marks its
        asset missing. Nothing is hashed (``hash_discovered`` does)."""
        report = ScanReport()
        entries: list[FileEntry] = []
        vanished: list[str] = []
        for path in paths:
            entry = file_entry(path)
            if entry is None:
                vanished.append(str(path))
            else:
                entries.append(entry)
        present: set[str] = set()
        not_media: set[str] = set()
        for start in range(0, len(entries), COMMIT_EVERY):
            batch = entries[start : start + COMMIT_EVERY]
            report.seen += len(batch)
            self._register_batch(str(root), batch, report, present, not_media)
        self._mark_paths_missing(vanished + sorted(not_media), report)
        return report

    def mark_gone_below(self, folder: Path, present: set[str]) -> ScanReport:
        """Mark missing the assets below ``folder`` whose path is not in ``present`` (the
        files found there) and no longer exists; for a deleted folder pass an empty set."""
        report = ScanReport()
        self._mark_gone_below(folder, present, set(), report)
        return report

    def move(self, source: Path, target: Path, root: Path) -> PathChange | None:
        """``source`` (a file or a folder) was renamed to ``target`` in the library root
        ``root``: its asset (or every asset below the folder) takes the new path and keeps its
        id, faces and names. An asset already at a new path described a file the move
        replaced: it is deleted with its faces (as the hash take-over of a moved file does).
        Returns the change, or None when no asset was at ``source``."""
        old, new = str(source), str(target)
        moving: list[tuple[Asset, str]] = []
        asset = self.assets.by_paths([old]).get(old)
        if asset is not None:
            moving.append((asset, new))
        moving.extend(
            (below, new + below.path[len(old) :]) for below in self.assets.below(folder_prefix(old))
        )
        if not moving:
            return None
        moved_ids = {a.id for a, _ in moving}
        for occupant in self.assets.by_paths([path for _, path in moving]).values():
            if occupant.id not in moved_ids:
                self.session.delete(occupant)
        self.session.flush()  # the replaced rows go before their paths are taken
        for moved, path in moving:
            moved.path, moved.root = path, str(root)
        self.commit()
        change = PathChange("moved", new, old_path=old, count=len(moving))
        self._changed(change)
        return change

    def _changed(self, change: PathChange) -> None:
        if self.on_change is not None:
            self.on_change(change)

    def _register_root(self, root: Path, report: ScanReport) -> None:
        """Walk ``root`` and register its files, a batch per transaction (looked up by path in
        it: the walk holds no lock); then mark missing the assets below it whose files are
        gone."""
        present: set[str] = set()
        not_media: set[str] = set()
        batch: list[FileEntry] = []
        for entry in walk_files(root, self.exclude):
            report.seen += 1
            self.reporter.advance("scanning")
            batch.append(entry)
            if len(batch) >= COMMIT_EVERY:
                self._register_batch(str(root), batch, report, present, not_media)
                batch = []
        self._register_batch(str(root), batch, report, present, not_media)
        self._mark_gone_below(root, present, not_media, report)

    def _register_batch(
        self,
        root: str,
        entries: list[FileEntry],
        report: ScanReport,
        present: set[str],
        not_media: set[str],
    ) -> None:
        """Register ``entries`` in one transaction; their paths go to ``present``, or to
        ``not_media`` for files that are no photo or video."""
        if not entries:
            return
        known = self.assets.by_paths([str(entry.path) for entry in entries])
        for entry in entries:
            path = str(entry.path)
            if self._register_entry(root, entry, known.get(path), report):
                present.add(path)
            else:
                not_media.add(path)
        self.commit()

    def _register_entry(
        self, root: str, entry: FileEntry, asset: Asset | None, report: ScanReport
    ) -> bool:
        """Register one file (``asset``: its row, if any); False when it is no photo or video."""
        path = str(entry.path)
        if asset is not None and asset.size == entry.size and asset.mtime == entry.mtime:
            if asset.status == AssetStatus.MISSING:
                asset.status = _restored_status(asset)
                self._changed(PathChange("found", path))
            report.unchanged += 1
            return True
        kind = classify_file(entry.path, entry.size)
        if kind is None:
            return False
        if asset is None:
            asset = self.assets.add(Asset(path=path, root=root, attempts=0))
            report.new += 1
            change: ChangeKind = "added"
        else:
            report.changed += 1
            change = "changed"
        asset.size, asset.mtime = entry.size, entry.mtime
        asset.kind, asset.mime_type = kind.kind, kind.mime_type
        asset.stage = Stage.DISCOVERED
        asset.attempts = 0
        if kind.problem:
            asset.attempts, asset.last_attempt_at = 1, utcnow()
            asset.status = AssetStatus.FAILED
            asset.error, asset.error_stage = kind.problem, Stage.DISCOVERED
        else:
            asset.status = AssetStatus.PENDING
            asset.error = asset.error_stage = None
        self._changed(PathChange(change, path, problem=kind.problem))
        return True

    def _mark_gone_below(
        self, folder: Path, present: set[str], not_media: set[str], report: ScanReport
    ) -> None:
        """Mark missing the assets below ``folder`` not in ``present`` whose file is gone or no
        photo or video any more (``not_media``). Files added by someone else (the watcher)
        after the walk exist, so they are left alone."""
        gone = [
            (asset_id, path)
            for asset_id, path in self.assets.present_paths_below(folder_prefix(str(folder)))
            if path not in present and (path in not_media or not os.path.exists(path))
        ]
        self._mark_missing(gone, report)

    def _mark_paths_missing(self, paths: list[str], report: ScanReport) -> None:
        found = self.assets.by_paths(paths)
        gone = [(a.id, a.path) for a in found.values() if a.status != AssetStatus.MISSING]
        self._mark_missing(gone, report)

    def _mark_missing(self, gone: list[tuple[int, str]], report: ScanReport) -> None:
        self.assets.mark_missing([asset_id for asset_id, _ in gone])
        report.missing += len(gone)
        for _, path in sorted(gone, key=lambda g: g[1]):
            self._changed(PathChange("missing", path))
        self.commit()

    def hash_discovered(self, report: ScanReport) -> None:
        """Hash every asset still at stage discovered (new, changed or retried files)."""
        self.reporter.start("hashing", None)
        while batch := self.assets.needing_hash(COMMIT_EVERY):
            for asset in batch:
                self._hash_one(asset, report)
                self.reporter.advance("hashing")
            self.commit()
        self.reporter.finish("hashing")

    def _hash_one(self, asset: Asset, report: ScanReport) -> None:
        path = Path(asset.path)
        digest: str | None = None
        try:
            size = path.stat().st_size
            kind = classify_file(path, size)
            problem = kind.problem if kind else "no longer a photo or video"
            digest = None if problem else content_hash(path)
        except OSError as exc:
            problem = f"cannot read file: {exc.strerror or exc}"
        if problem is not None or digest is None:
            asset.status, asset.error_stage = AssetStatus.FAILED, Stage.HASHED
            asset.error = problem
            asset.attempts += 1
            asset.last_attempt_at = utcnow()
            report.unreadable += 1
            return
        report.hashed += 1
        if digest == asset.content_hash and asset.model_pack is not None:
            asset.stage, asset.status = Stage.DONE, AssetStatus.DONE  # touched, not changed
            return
        previous = self.assets.missing_with_hash(digest, asset.size)
        if previous is not None and previous.id != asset.id:
            self._take_over(previous, asset)
            report.moved += 1
            report.new = max(0, report.new - 1)  # the "new" file was the moved one
            report.missing = max(0, report.missing - 1)
            return
        if asset.content_hash is not None and asset.content_hash != digest:
            self.assets.delete_faces(asset.id)
            asset.model_pack = None
        asset.content_hash = digest
        asset.stage = Stage.HASHED

    def _take_over(self, previous: Asset, moved_copy: Asset) -> None:
        """The file of ``previous`` now lives at ``moved_copy``'s path: keep the old row (its
        faces and names) under the new path and drop the new row."""
        path, root, mtime = moved_copy.path, moved_copy.root, moved_copy.mtime
        self.session.delete(moved_copy)
        self.session.flush()
        previous.path, previous.root, previous.mtime = path, root, mtime
        previous.status = _restored_status(previous)


def _restored_status(asset: Asset) -> AssetStatus:
    """The status of a missing asset whose file is back, unchanged: done; failed when it had
    failed (its error is kept; an ignored file comes back failed, as "missing" replaced the
    status); else pending where it stopped."""
    if asset.error is not None:
        return AssetStatus.FAILED
    return AssetStatus.DONE if asset.stage == Stage.DONE else AssetStatus.PENDING
