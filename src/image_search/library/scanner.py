"""Walk library roots: nested folders, symlinks followed once (no endless loop on cycles), hidden
and system folders skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Folders NAS boxes, operating systems and photo tools create that never hold the user's photos.
SYSTEM_FOLDER_NAMES = frozenset(
    {
        "@eaDir",  # Synology thumbnails
        "#recycle",  # Synology recycle bin
        "#snapshot",
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
        "__MACOSX",
        "@Recycle",  # QNAP
        "@Recently-Snapshot",
    }
)


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: Path  # absolute, symlinks in the folders above kept as walked
    size: int  # bytes
    mtime: float  # seconds since the epoch


def is_skipped_folder(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_FOLDER_NAMES


def walk_files(root: Path, exclude: tuple[Path, ...] = ()) -> Iterator[FileEntry]:
    """Yield every regular, non-hidden file under ``root``.

    Directory symlinks are followed, but each real directory (device, inode) is entered once,
    so symlink cycles end. Unreadable folders are skipped. Folders in ``exclude`` (for example
    the data dir) are never entered.
    """
    excluded = {os.path.realpath(p) for p in exclude}
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
        except OSError:
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited or os.path.realpath(folder) in excluded:
            continue
        visited.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not is_skipped_folder(entry.name):
                        stack.append(Path(entry.path))
                    continue
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=True):
                    continue
                stat = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            yield FileEntry(Path(entry.path), stat.st_size, stat.st_mtime)
