"""Walk library roots: nested folders, symlinks followed once (no endless loop on cycles), hidden
and system folders, hidden and temporary files skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

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


# Endings of files still being written by a browser, a download or copy tool or an editor: the
# finished file appears under its own name (a rename the watcher sees as a new file).
TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", "~")


def is_skipped_folder(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_FOLDER_NAMES


def is_skipped_file(name: str) -> bool:
    """Hidden files (``.name``), Office lock files (``~$name``) and files still being written
    (``TEMPORARY_SUFFIXES``, any case) are never part of the library."""
    return name.startswith((".", "~$")) or name.lower().endswith(TEMPORARY_SUFFIXES)


def walk_files(root: Path, exclude: tuple[Path, ...] = ()) -> Iterator[FileEntry]:
    """Yield every regular file under ``root`` except hidden and temporary ones
    (``is_skipped_file``).

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
                if is_skipped_file(entry.name) or not entry.is_file(follow_symlinks=True):
                    continue
                stat = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            yield FileEntry(Path(entry.path), stat.st_size, stat.st_mtime)


def file_entry(path: Path) -> FileEntry | None:
    """``path`` as a ``FileEntry`` when it is a regular file (symlinks followed), else None
    (gone, a folder, unreadable)."""
    try:
        info = path.stat()
    except OSError:
        return None
    if not S_ISREG(info.st_mode):
        return None
    return FileEntry(path, info.st_size, info.st_mtime)
