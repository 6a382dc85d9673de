"""The folder tree of the library, for a file browser: computed from the asset paths (range
scans on the unique path index), so it is always in step with the scans and needs no table of
its own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError, NotFoundError
from image_search.library.repository import AssetRepository, FolderCounts, folder_prefix


@dataclass(slots=True)
class Folder:
    """One folder holding assets: ``asset_count`` anywhere below it (recursive),
    ``direct_asset_count`` directly in it, ``has_children`` when a subfolder holds assets."""

    path: str
    name: str
    asset_count: int
    direct_asset_count: int
    has_children: bool


def _folder(prefix: str, counts: FolderCounts) -> Folder:
    path = prefix.rstrip("/") or "/"
    return Folder(path, counts.name, counts.total, counts.direct, counts.total > counts.direct)


def _sort(folders: list[Folder]) -> list[Folder]:
    return sorted(folders, key=lambda f: (f.name.casefold(), f.name, f.path))


class FolderService:
    """Assets of every status count (missing ones too), as in ``GET /api/v1/assets``."""

    def __init__(self, session: Session) -> None:
        self.assets = AssetRepository(session)

    def subfolders(self, parent: str | None = None) -> list[Folder]:
        """The folders directly inside ``parent`` that hold assets, by name (ignoring case);
        without ``parent`` the indexed roots (a root inside another root is left out: it
        appears as that root's subfolder).

        Raises ``InvalidInputError`` for a relative ``parent`` and ``NotFoundError`` when no
        indexed asset lies below ``parent``.
        """
        if parent is None:
            return self._roots()
        if not parent.startswith("/"):
            raise InvalidInputError(f"parent must be an absolute folder path, not {parent!r}")
        prefix = folder_prefix(parent)
        if not self.assets.has_assets_below(prefix):
            raise NotFoundError(f"no indexed assets below {parent}")
        return _sort([_folder(prefix + c.name, c) for c in self.assets.subfolder_counts(prefix)])

    def _roots(self) -> list[Folder]:
        prefixes = sorted({folder_prefix(root) for root in self.assets.roots()})
        outermost: list[str] = []
        for prefix in prefixes:  # sorted: a folder comes right before the folders inside it
            if not outermost or not prefix.startswith(outermost[-1]):
                outermost.append(prefix)
        folders = [_folder(p, self.assets.counts_below(p)) for p in outermost]
        return _sort([f for f in folders if f.asset_count])
