"""The CLIP embeddings of the whole library as one in-memory float32 matrix per database and
model, for text searches too broad to pre-filter (DESIGN.md: embedded vector search is exact,
NumPy BLAS, on normalised float32; the database stays the source of truth).

The matrix is checked against the table at most every ``max_age`` seconds: rows appended since
are read incrementally, any other change (rows deleted or replaced) reloads it. At 1,000,000
images x 512 dimensions it takes 2 GB and one exact scan (docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from image_search.search.clip_repository import ClipRepository, EmbeddingRows


@dataclass(slots=True)
class _Entry:
    rows: EmbeddingRows
    version: tuple[int, int]  # (row count, largest row id)
    checked: float


_entries: dict[tuple[str, str], _Entry] = {}
_lock = threading.Lock()


def library_matrix(session: Session, model: str, dim: int, max_age: float = 5.0) -> EmbeddingRows:
    """Every embedding of ``model`` in the session's database (at most ``max_age`` s stale)."""
    key = (str(session.get_bind().engine.url), model)
    now = time.monotonic()
    with _lock:
        entry = _entries.get(key)
        if entry is not None and now - entry.checked < max_age:
            return entry.rows
        repository = ClipRepository(session)
        version = repository.version(model)
        if entry is not None and version == entry.version:
            entry.checked = now
            return entry.rows
        if entry is not None and version[1] > entry.version[1]:
            new = repository.after(model, entry.version[1], dim)
            if entry.version[0] + len(new.row_ids) == version[0]:  # only appended
                entry.rows = EmbeddingRows(
                    np.concatenate([entry.rows.row_ids, new.row_ids]),
                    np.concatenate([entry.rows.asset_ids, new.asset_ids]),
                    np.concatenate([entry.rows.vectors, new.vectors]),
                )
                entry.version, entry.checked = version, now
                return entry.rows
        rows = repository.after(model, 0, dim)
        _entries[key] = _Entry(rows, version, now)
        return rows


def forget_library_matrices() -> None:
    """Drop every cached matrix (tests; frees memory)."""
    with _lock:
        _entries.clear()


def best_per_asset(
    rows: EmbeddingRows, query: np.ndarray, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of ``query`` float32 (d,) to each asset (its best row: videos have a
    row per sampled frame): ``(asset_ids int64 (m,), scores float32 (m,))``, best first, ties by
    higher asset id. With ``limit``, only the best ``limit`` rows are ranked (argpartition), so
    fewer than ``limit`` assets may come back when assets have several rows."""
    if len(rows.asset_ids) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    scores = rows.vectors @ np.asarray(query, dtype=np.float32)
    asset_ids = rows.asset_ids
    if limit is not None and limit < len(scores):
        top = np.argpartition(-scores, limit - 1)[:limit]
        scores, asset_ids = scores[top], asset_ids[top]
    order = np.lexsort((-asset_ids, -scores))
    ranked_assets = asset_ids[order]
    _, first = np.unique(ranked_assets, return_index=True)
    first.sort()
    return ranked_assets[first], scores[order][first].astype(np.float32)
