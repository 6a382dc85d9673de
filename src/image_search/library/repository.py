"""All SQL of the library domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.faces.models import Face
from image_search.library.models import Asset, AssetKind, AssetStatus, LibraryRoot, Stage


def folder_prefix(folder: str) -> str:
    """``folder`` (an absolute path, trailing separators allowed) with exactly one trailing
    ``/``: the start every path below it shares."""
    return folder.rstrip("/") + "/"


def path_below(prefix: str, dialect: str) -> ColumnElement[bool]:
    """``Asset.path`` starts with ``prefix`` (which ends with ``/``), case-sensitively.

    Written as the range ``prefix <= path < prefix-with-its-/-replaced-by-0`` (``0`` is the
    character after ``/``): SQLite answers it from the unique index on ``path``. PostgreSQL
    compares in the "C" collation, the only one where that range equals "starts with" (locale
    collations ignore punctuation).
    """
    return _path_between(prefix, _after(prefix), dialect)


def _after(prefix: str) -> str:
    """The smallest string above every path that starts with ``prefix`` (ends with ``/``)."""
    return prefix[:-1] + "0"


def _path_between(low: str, high: str, dialect: str) -> ColumnElement[bool]:
    path = Asset.path.collate("C") if dialect == "postgresql" else Asset.path
    return and_(path >= low, path < high)


def _no_slash_after(prefix: str, dialect: str, segments: int = 0) -> ColumnElement[bool]:
    """``Asset.path`` (below ``prefix``) has no ``/`` after ``prefix`` and ``segments`` more
    path segments: with 0, a file directly in ``prefix``; with 1, a file directly in one of
    its subfolders. PostgreSQL counts segments with split_part (several times faster there
    than substr/strpos on UTF-8 text); SQLite has no split_part and uses instr/substr."""
    if dialect == "postgresql":
        return func.split_part(Asset.path, "/", prefix.count("/") + 2 + segments) == ""
    rest: ColumnElement[str] = func.substr(Asset.path, len(prefix) + 1)
    for _ in range(segments):
        rest = func.substr(rest, func.instr(rest, "/") + 1)
    return func.instr(rest, "/") == 0


def path_directly_in(prefix: str, dialect: str) -> ColumnElement[bool]:
    """``Asset.path`` is a file directly in the folder ``prefix`` (ends with ``/``)."""
    return and_(path_below(prefix, dialect), _no_slash_after(prefix, dialect))


@dataclass(slots=True)
class FolderCounts:
    """Assets below one folder: ``total`` anywhere below it, ``direct`` directly in it."""

    name: str
    total: int
    direct: int


# Paths per ``IN (...)`` list: below SQLite's default host-parameter limits.
PATHS_PER_QUERY = 900

# Subfolders listed one by one with index seeks before the rest is grouped in one scan.
SEEK_SUBFOLDERS = 100


class AssetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def roots(self) -> list[str]:
        """Every folder given to a scan (``Asset.root``), distinct, unordered."""
        return list(self.session.scalars(select(Asset.root).distinct()))

    def has_assets_below(self, prefix: str) -> bool:
        """Whether any asset lies below the folder ``prefix`` (ends with ``/``)."""
        found = self.session.scalar(
            select(Asset.id).where(path_below(prefix, self.dialect)).limit(1)
        )
        return found is not None

    def counts_below(self, prefix: str) -> FolderCounts:
        """Assets anywhere below the folder ``prefix`` (ends with ``/``) and directly in it;
        ``name`` is the folder's own name."""
        direct = case((_no_slash_after(prefix, self.dialect), 1), else_=0)
        total, in_folder = self.session.execute(
            select(func.count(), func.coalesce(func.sum(direct), 0)).where(
                path_below(prefix, self.dialect)
            )
        ).one()
        name = prefix.rstrip("/").rsplit("/", 1)[-1] or "/"
        return FolderCounts(name, int(total), int(in_folder))

    def subfolder_counts(self, prefix: str) -> list[FolderCounts]:
        """The folders directly inside ``prefix`` (ends with ``/``) that hold assets, with
        their counts, in path order.

        SQLite: seeks from one subfolder to the next on the path index and counts each one's
        range (a temporary B-tree for GROUP BY costs ~3x more); past ``SEEK_SUBFOLDERS``
        subfolders the rest is grouped in one scan. PostgreSQL (no usable index for a "C"
        range in a locale database): one grouped scan.
        """
        if self.dialect == "postgresql":
            return self._grouped_subfolders(prefix, prefix)
        found: list[FolderCounts] = []
        start = len(prefix)
        in_subfolder = func.instr(func.substr(Asset.path, start + 1), "/") > 0
        cursor = prefix
        while len(found) < SEEK_SUBFOLDERS:
            first = self.session.scalar(
                select(Asset.path)
                .where(_path_between(cursor, _after(prefix), self.dialect), in_subfolder)
                .order_by(Asset.path)
                .limit(1)
            )
            if first is None:
                return found
            name = first[start:].split("/", 1)[0]
            counts = self.counts_below(f"{prefix}{name}/")
            found.append(FolderCounts(name, counts.total, counts.direct))
            cursor = f"{prefix}{name}0"  # past every path of that subfolder
        return found + self._grouped_subfolders(prefix, cursor)

    def _grouped_subfolders(self, prefix: str, low: str) -> list[FolderCounts]:
        """Subfolders of ``prefix`` from the path ``low`` on, by one GROUP BY scan."""
        dialect = self.dialect
        if dialect == "postgresql":
            child: ColumnElement[str] = func.split_part(Asset.path, "/", prefix.count("/") + 1)
        else:
            rest = func.substr(Asset.path, len(prefix) + 1)
            child = func.substr(rest, 1, func.instr(rest, "/") - 1)
        direct = case((_no_slash_after(prefix, dialect, segments=1), 1), else_=0)
        rows = self.session.execute(
            select(child, func.count(), func.sum(direct))
            .where(
                _path_between(low, _after(prefix), dialect),
                ~_no_slash_after(prefix, dialect),
            )
            .group_by(child)
            .order_by(child)
        ).all()
        return [FolderCounts(str(name), int(total), int(n)) for name, total, n in rows]

    def by_paths(self, paths: Sequence[str]) -> dict[str, Asset]:
        """The registered assets among ``paths`` (absolute file paths), by path."""
        found: dict[str, Asset] = {}
        for start in range(0, len(paths), PATHS_PER_QUERY):
            chunk = paths[start : start + PATHS_PER_QUERY]
            found.update(
                (asset.path, asset)
                for asset in self.session.scalars(select(Asset).where(Asset.path.in_(chunk)))
            )
        return found

    def below(self, prefix: str) -> Sequence[Asset]:
        """Every asset below the folder ``prefix`` (ends with ``/``), in path order."""
        return self.session.scalars(
            select(Asset).where(path_below(prefix, self.dialect)).order_by(Asset.path)
        ).all()

    def present_paths_below(self, prefix: str) -> list[tuple[int, str]]:
        """(id, path) of the assets below the folder ``prefix`` (ends with ``/``) that are not
        marked missing: the ones a scan of that folder expects to find."""
        rows = self.session.execute(
            select(Asset.id, Asset.path).where(
                path_below(prefix, self.dialect), Asset.status != AssetStatus.MISSING
            )
        )
        return [(int(asset_id), str(path)) for asset_id, path in rows]

    def add(self, asset: Asset) -> Asset:
        self.session.add(asset)
        return asset

    def get(self, asset_id: int) -> Asset | None:
        return self.session.get(Asset, asset_id)

    def needing_hash(self, limit: int) -> Sequence[Asset]:
        return self.session.scalars(
            select(Asset)
            .where(Asset.stage == Stage.DISCOVERED, Asset.status == AssetStatus.PENDING)
            .order_by(Asset.id)
            .limit(limit)
        ).all()

    def missing_with_hash(self, content_hash: str, size: int) -> Asset | None:
        """A missing asset with these bytes: the old place of a moved or renamed file."""
        return self.session.scalars(
            select(Asset)
            .where(
                Asset.content_hash == content_hash,
                Asset.size == size,
                Asset.status == AssetStatus.MISSING,
            )
            .order_by(Asset.id)
            .limit(1)
        ).first()

    def claim_for_faces(self, limit: int, exclude: Iterable[int]) -> Sequence[Asset]:
        """Assets whose pipeline work is not done: images before videos (a photo takes well
        under a second, a video many), then oldest first.

        SQLite has one writer, so claiming is this select; a PostgreSQL worker pool will add
        ``FOR UPDATE SKIP LOCKED`` here.
        """
        excluded = list(exclude)
        query = (
            select(Asset)
            .where(
                Asset.status == AssetStatus.PENDING,
                Asset.stage != Stage.DISCOVERED,
                Asset.stage != Stage.DONE,
            )
            .order_by(Asset.kind == AssetKind.VIDEO, Asset.id)
            .limit(limit)
        )
        if excluded:
            query = query.where(Asset.id.not_in(excluded))
        return self.session.scalars(query).all()

    def camera_counts(self) -> list[tuple[str | None, str | None, int]]:
        """(make, model, assets) of every camera in the library (missing files left out), most
        used first."""
        rows = self.session.execute(
            select(Asset.camera_make, Asset.camera_model, func.count(Asset.id))
            .where(Asset.status != AssetStatus.MISSING)
            .where(Asset.camera_make.is_not(None) | Asset.camera_model.is_not(None))
            .group_by(Asset.camera_make, Asset.camera_model)
            .order_by(func.count(Asset.id).desc())
        )
        return [(make, model, int(n)) for make, model, n in rows]

    def count_pending_work(self) -> int:
        """Images and videos waiting for pipeline work."""
        return (
            self.session.scalar(
                select(func.count(Asset.id)).where(
                    Asset.status == AssetStatus.PENDING,
                    Asset.stage != Stage.DONE,
                )
            )
            or 0
        )

    def count_finished_since(self, since: datetime) -> int:
        """Assets whose last pipeline attempt ended done or failed at ``since`` or later."""
        return (
            self.session.scalar(
                select(func.count(Asset.id)).where(
                    Asset.last_attempt_at >= since,
                    Asset.status.in_((AssetStatus.DONE, AssetStatus.FAILED)),
                )
            )
            or 0
        )

    def delete_faces(self, asset_id: int) -> None:
        self.session.execute(delete(Face).where(Face.asset_id == asset_id))

    def mark_missing(self, asset_ids: Sequence[int]) -> None:
        if asset_ids:
            self.session.execute(
                update(Asset)
                .where(Asset.id.in_(asset_ids))
                .values(status=AssetStatus.MISSING, updated_at=utcnow())
            )

    def remember_root(self, path: str) -> None:
        """Record ``path`` (an absolute folder) as a library root and when it was scanned."""
        root = self.session.scalar(select(LibraryRoot).where(LibraryRoot.path == path))
        if root is None:
            root = LibraryRoot(path=path)
            self.session.add(root)
        root.last_scan_at = utcnow()

    def library_roots(self) -> list[str]:
        """Every folder the user added to the library (``library_roots``), sorted; unlike
        ``roots`` it includes folders that hold no asset yet (watched all the same)."""
        return list(self.session.scalars(select(LibraryRoot.path).order_by(LibraryRoot.path)))

    def failed(self) -> Sequence[Asset]:
        return self.session.scalars(
            select(Asset).where(Asset.status == AssetStatus.FAILED).order_by(Asset.path)
        ).all()

    def reset_failed(self, asset_ids: Sequence[int] | None = None) -> int:
        """Put every failed asset (or the failed ones among ``asset_ids``, one ``IN`` list:
        the caller keeps it short) back at the start of the work list; ``attempts`` and
        ``last_attempt_at`` are kept. Returns how many changed."""
        statement = (
            update(Asset)
            .where(Asset.status == AssetStatus.FAILED)
            .values(
                status=AssetStatus.PENDING,
                stage=Stage.DISCOVERED,  # classified and hashed again: the file may have changed
                error=None,
                error_stage=None,
            )
        )
        if asset_ids is not None:
            statement = statement.where(Asset.id.in_(asset_ids))
        result = self.session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def counts_by_status(self) -> dict[tuple[str, str], int]:
        rows = self.session.execute(
            select(Asset.kind, Asset.status, func.count(Asset.id)).group_by(
                Asset.kind, Asset.status
            )
        ).all()
        return {(kind, status): count for kind, status, count in rows}

    def counts_by_stage(self) -> dict[str, int]:
        rows = self.session.execute(
            select(Asset.stage, func.count(Asset.id)).group_by(Asset.stage)
        ).all()
        return dict(rows)
