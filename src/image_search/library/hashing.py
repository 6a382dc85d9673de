"""Content hashes of files."""

from __future__ import annotations

import hashlib
from pathlib import Path


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes as 64 lowercase hex characters.

    Raises ``OSError`` when the file cannot be read.
    """
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
