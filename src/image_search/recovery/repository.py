"""All SQL of the recovery center: failed and ignored assets, read light for classification
and in full for display; status changes for retry, ignore and un-ignore."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from image_search.library.models import Asset
from image_search.library.repository import AssetRepository

# Ids per IN (...) list: below SQLite's default host-parameter limit.
IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class FailureRow:
    """What classification needs of one asset (no path, no timestamps)."""

    id: int
    kind: str
    stage: str | None  # Asset.error_stage
    error: str | None


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


class RecoveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, status: str) -> list[FailureRow]:
        """Every asset of ``status`` (failed or ignored), in path order: id, kind, failing
        stage and error. One narrow query; a library with 100,000 failures reads ~10 MB."""
        result = self.session.execute(
            select(Asset.id, Asset.kind, Asset.error_stage, Asset.error)
            .where(Asset.status == status)
            .order_by(Asset.path, Asset.id)
        )
        return [FailureRow(int(i), str(k), s, e) for i, k, s, e in result]

    def assets(self, ids: Sequence[int]) -> list[Asset]:
        """The assets with these ids, in the order of ``ids`` (unknown ids left out)."""
        found: dict[int, Asset] = {}
        for chunk in _chunks(ids):
            for asset in self.session.scalars(select(Asset).where(Asset.id.in_(chunk))):
                found[asset.id] = asset
        return [found[i] for i in ids if i in found]

    def statuses(self, ids: Sequence[int]) -> dict[int, str]:
        """asset id -> status, for the ids that exist."""
        found: dict[int, str] = {}
        for chunk in _chunks(ids):
            rows = self.session.execute(select(Asset.id, Asset.status).where(Asset.id.in_(chunk)))
            found.update({int(i): str(s) for i, s in rows})
        return found

    def requeue(self, ids: Sequence[int]) -> int:
        """Put the failed assets among ``ids`` back at the start of the work list
        (``AssetRepository.reset_failed``: status pending, stage discovered, error cleared,
        ``attempts`` and ``last_attempt_at`` kept). Returns how many changed."""
        assets = AssetRepository(self.session)
        return sum(assets.reset_failed(chunk) for chunk in _chunks(ids))

    def move_status(self, ids: Sequence[int], source: str, target: str) -> int:
        """Assets among ``ids`` with status ``source`` get status ``target``; the error, its
        stage and the attempts stay (an ignored asset remains explainable). Returns how many
        changed."""
        changed = 0
        for chunk in _chunks(ids):
            result = self.session.execute(
                update(Asset)
                .where(Asset.id.in_(chunk), Asset.status == source)
                .values(status=target)
            )
            changed += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return changed
