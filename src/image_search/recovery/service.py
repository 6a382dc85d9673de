"""The recovery center's logic: failed assets grouped by cause (recovery/causes.py), one
cause's assets page by page, and the actions retry, ignore and un-ignore over a selection
(asset ids, one cause, or every failed asset).

Causes are computed when read, not stored: a change of the rules applies to every failure at
once, with no migration. Statuses: ``failed`` -> retry -> ``pending`` (the pipeline takes it
again; attempts are kept, so the count shows how often it was tried); ``failed`` -> ignore ->
``ignored`` (kept with its error, never retried by ``retry-failed`` or a cause/all retry);
``ignored`` -> un-ignore -> ``failed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError
from image_search.jobs.index_job import enqueue_index
from image_search.jobs.models import Job
from image_search.library.models import AssetStatus
from image_search.paging import page_offset
from image_search.people.service import ItemResult
from image_search.recovery.causes import CAUSES, Cause, classify, fix_command
from image_search.recovery.repository import FailureRow, RecoveryRepository

MAX_PAGE_SIZE = 500
LISTED_STATUSES = (AssetStatus.FAILED, AssetStatus.IGNORED)


@dataclass(slots=True)
class FailedAsset:
    """One failed (or ignored) asset as the recovery center shows it. ``stage`` is the
    pipeline stage that failed (``Asset.error_stage``); ``fix_command`` a shell command that
    may fix it (recovery/causes.py ``fix_command``) or None."""

    id: int
    path: str
    kind: str
    status: str
    stage: str | None
    error: str | None
    attempts: int
    last_attempt_at: datetime | None
    cause: Cause
    fix_command: str | None


@dataclass(slots=True)
class CauseGroup:
    """A cause, how many assets it explains, and the first of them in path order."""

    cause: Cause
    count: int
    assets: list[FailedAsset] = field(default_factory=list)


@dataclass(slots=True)
class RecoveryOverview:
    """``failed`` assets in ``groups`` (largest group first), and how many are ``ignored``
    (with their own groups, without assets)."""

    failed: int
    ignored: int
    groups: list[CauseGroup]
    ignored_groups: list[CauseGroup]


@dataclass(slots=True)
class Selection:
    """Which assets an action applies to: exactly one of ``asset_ids`` (each gets its own
    result), ``cause`` (a cause id: every asset of the action's source status with that
    cause) or ``all`` (every asset of the source status)."""

    asset_ids: list[int] | None = None
    cause: str | None = None
    all: bool = False


@dataclass(slots=True)
class ActionOutcome:
    """``changed`` assets; ``results`` one per requested id (empty for a cause or all);
    ``job`` the index run queued by a retry (None when nothing was queued)."""

    changed: int
    results: list[ItemResult]
    job: Job | None = None


class RecoveryService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = RecoveryRepository(session)

    def overview(self, per_cause: int = 10) -> RecoveryOverview:
        """Failed assets grouped by cause, largest group first (ties in the catalogue's
        order), with the first ``per_cause`` assets (0..500) of each in path order; ignored
        assets counted by cause the same way, without assets."""
        if not 0 <= per_cause <= MAX_PAGE_SIZE:
            raise InvalidInputError(f"perCause must be between 0 and {MAX_PAGE_SIZE}")
        failed = self._grouped(AssetStatus.FAILED)
        ignored = self._grouped(AssetStatus.IGNORED)
        shown = [i for ids in failed.values() for i in ids[:per_cause]]
        by_id = {a.id: a for a in self._load(shown)}
        groups = [
            CauseGroup(CAUSES[c], len(ids), [by_id[i] for i in ids[:per_cause] if i in by_id])
            for c, ids in _largest_first(failed)
        ]
        return RecoveryOverview(
            failed=sum(len(ids) for ids in failed.values()),
            ignored=sum(len(ids) for ids in ignored.values()),
            groups=groups,
            ignored_groups=[CauseGroup(CAUSES[c], len(ids)) for c, ids in _largest_first(ignored)],
        )

    def assets(
        self, status: str, cause: str | None, page: int, page_size: int
    ) -> tuple[int, list[FailedAsset]]:
        """(total, one page) of the assets of ``status`` (failed or ignored) with ``cause``
        (None: every cause), in path order. Raises ``InvalidInputError`` for another status,
        an unknown cause or a bad page."""
        offset = page_offset(page, page_size, MAX_PAGE_SIZE)
        ids = self._ids(_listed(status), cause)
        return len(ids), self._load(ids[offset : offset + page_size])

    def retry(self, selection: Selection, schedule: bool = True) -> ActionOutcome:
        """Put the selected failed assets back to work (status pending, stage discovered,
        error cleared, attempts kept). With ``schedule`` and anything queued, an
        ``index_pending`` job is queued too (jobs/index_job.py; it runs once the caller's
        transaction commits: wake the index runner then). The CLI passes ``schedule=False``
        and processes in-process."""
        ids, results = self._select(selection, AssetStatus.FAILED)
        changed = self.repository.requeue(ids)
        job = enqueue_index(self.session) if schedule and changed else None
        return ActionOutcome(changed, results, job)

    def ignore(self, selection: Selection) -> ActionOutcome:
        """Mark the selected failed assets ignored (their error stays)."""
        ids, results = self._select(selection, AssetStatus.FAILED)
        changed = self.repository.move_status(ids, AssetStatus.FAILED, AssetStatus.IGNORED)
        return ActionOutcome(changed, results)

    def unignore(self, selection: Selection) -> ActionOutcome:
        """Put the selected ignored assets back among the failed ones."""
        ids, results = self._select(selection, AssetStatus.IGNORED)
        changed = self.repository.move_status(ids, AssetStatus.IGNORED, AssetStatus.FAILED)
        return ActionOutcome(changed, results)

    def _select(self, selection: Selection, source: str) -> tuple[list[int], list[ItemResult]]:
        """The ids an action changes (all of status ``source``) and, for an id list, one
        result per distinct id: ``not_found`` or ``conflict`` (another status) for the ids
        left out."""
        given = [selection.asset_ids is not None, selection.cause is not None, selection.all]
        if sum(given) != 1:
            raise InvalidInputError("give exactly one of assetIds, cause or all")
        if selection.asset_ids is None:
            return self._ids(source, selection.cause), []
        requested = list(dict.fromkeys(selection.asset_ids))
        statuses = self.repository.statuses(requested)
        ids: list[int] = []
        results: list[ItemResult] = []
        for asset_id in requested:
            status = statuses.get(asset_id)
            if status is None:
                results.append(
                    ItemResult(asset_id, False, "not_found", f"asset {asset_id} does not exist")
                )
            elif status != source:
                results.append(
                    ItemResult(
                        asset_id, False, "conflict", f"asset {asset_id} is {status}, not {source}"
                    )
                )
            else:
                ids.append(asset_id)
                results.append(ItemResult(asset_id, True))
        return ids, results

    def _ids(self, status: str, cause: str | None) -> list[int]:
        """Ids of ``status`` with ``cause`` (None: all), in path order."""
        if cause is None:
            return [row.id for row in self.repository.rows(status)]
        if cause not in CAUSES:
            raise InvalidInputError(f"unknown cause {cause!r}; use one of {', '.join(CAUSES)}")
        return self._grouped(status).get(cause, [])

    def _grouped(self, status: str) -> dict[str, list[int]]:
        """cause id -> ids of ``status``, each list in path order."""
        groups: dict[str, list[int]] = {}
        for row in self.repository.rows(status):
            groups.setdefault(_cause_of(row).id, []).append(row.id)
        return groups

    def _load(self, ids: Sequence[int]) -> list[FailedAsset]:
        found = []
        for asset in self.repository.assets(ids):
            cause = classify(asset.error, asset.error_stage, asset.kind)
            found.append(
                FailedAsset(
                    id=asset.id,
                    path=asset.path,
                    kind=asset.kind,
                    status=asset.status,
                    stage=asset.error_stage,
                    error=asset.error,
                    attempts=asset.attempts,
                    last_attempt_at=asset.last_attempt_at,
                    cause=cause,
                    fix_command=fix_command(cause.id, asset.path, asset.kind),
                )
            )
        return found


def _cause_of(row: FailureRow) -> Cause:
    return classify(row.error, row.stage, row.kind)


def _largest_first(groups: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
    order: Callable[[str], int] = list(CAUSES).index
    return sorted(groups.items(), key=lambda item: (-len(item[1]), order(item[0])))


def _listed(status: str) -> str:
    if status not in LISTED_STATUSES:
        raise InvalidInputError(f"status must be failed or ignored, not {status!r}")
    return status
