"""Scanning service: registers files of the library roots as assets, hashes them, recognises
moved files by their hash, and marks deleted ones missing. Never commits: the caller's session
scope does, in batches, so an interrupted scan resumes where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.jobs.progress import NullReporter, ProgressReporter
from image_search.library.filekinds import classify_file
from image_search.library.hashing import content_hash
from image_search.library.models import Asset, AssetStatus, Stage
from image_search.library.repository import AssetRepository
from image_search.library.scanner import walk_files

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


class ScanService:
    """``commit`` is called after each batch; the CLI passes ``session.commit``."""

    def __init__(
        self,
        session: Session,
        commit: Callable[[], None],
        exclude: tuple[Path, ...] = (),
        reporter: ProgressReporter | None = None,
    ) -> None:
        self.session = session
        self.assets = AssetRepository(session)
        self.commit = commit
        self.exclude = exclude
        self.reporter = reporter or NullReporter()

    def scan(self, roots: list[Path]) -> ScanReport:
        """Register and hash every photo and video under ``roots`` (absolute folder paths)."""
        report = ScanReport()
        self.reporter.start("scanning", None)
        for root in roots:
            self._register_root(root.resolve(), report)
        self.reporter.finish("scanning")
        self.hash_discovered(report)
        return report

    def _register_root(self, root: Path, report: ScanReport) -> None:
        self.assets.remember_root(str(root))
        known = self.assets.by_paths_under(str(root))
        seen: set[str] = set()
        pending = 0
        for entry in walk_files(root, self.exclude):
            path = str(entry.path)
            seen.add(path)
            report.seen += 1
            self.reporter.advance("scanning")
            asset = known.get(path)
            if asset is not None and asset.size == entry.size and asset.mtime == entry.mtime:
                if asset.status == AssetStatus.MISSING:
                    asset.status = (
                        AssetStatus.DONE if asset.stage == Stage.DONE else AssetStatus.PENDING
                    )
                report.unchanged += 1
                continue
            kind = classify_file(entry.path, entry.size)
            if kind is None:
                if asset is not None:
                    seen.discard(path)  # no longer a photo or video: marked missing below
                continue
            if asset is None:
                asset = self.assets.add(Asset(path=path, root=str(root), attempts=0))
                report.new += 1
            else:
                report.changed += 1
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
            pending += 1
            if pending >= COMMIT_EVERY:
                self.commit()
                pending = 0
        gone = [a.id for p, a in known.items() if p not in seen and a.status != AssetStatus.MISSING]
        self.assets.mark_missing(gone)
        report.missing += len(gone)
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
        previous.status = AssetStatus.DONE if previous.stage == Stage.DONE else AssetStatus.PENDING
