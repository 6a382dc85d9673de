"""Job handlers of the people domain: find-more, find-more by centroid, assignment."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import session_scope
from image_search.errors import InvalidInputError
from image_search.jobs.runner import JobHandler, ProgressCallback
from image_search.people.assignment import AssignmentService
from image_search.people.find_more import find_more, find_more_by_centroid

FIND_MORE = "find_more"
FIND_MORE_CENTROID = "find_more_centroid"
ASSIGN = "assign"


def _int(params: dict[str, Any], key: str, default: int | None = None) -> int:
    value = params.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"job parameter {key!r} must be an integer")
    return value


def run_find_more(
    model_pack: str,
    factory: sessionmaker[Session],
    params: dict[str, Any],
    progress: ProgressCallback,
) -> dict[str, Any]:
    result = find_more(
        factory,
        model_pack,
        _int(params, "personId"),
        prototype_count=_int(params, "prototypeCount", 50),
        max_suggestions=_int(params, "maxSuggestions", 100),
        min_confidence=params.get("minConfidence"),
        progress=progress,
    )
    return asdict(result)


def run_find_more_centroid(
    model_pack: str,
    factory: sessionmaker[Session],
    params: dict[str, Any],
    progress: ProgressCallback,
) -> dict[str, Any]:
    result = find_more_by_centroid(
        factory,
        model_pack,
        _int(params, "personId"),
        min_similarity=params.get("minSimilarity"),
        max_results=_int(params, "maxResults", 200),
        unassigned_only=bool(params.get("unassignedOnly", True)),
        progress=progress,
    )
    return asdict(result)


def run_assignment(
    model_pack: str,
    factory: sessionmaker[Session],
    params: dict[str, Any],
    progress: ProgressCallback,
) -> dict[str, Any]:
    progress("searching", 0, 1, None)
    with session_scope(factory) as session:
        report = AssignmentService(session, model_pack).assign_unassigned()
    return asdict(report)


def handlers(model_pack: str) -> dict[str, JobHandler]:
    """The people domain's job handlers, bound to the configured model pack."""
    return {
        FIND_MORE: partial(run_find_more, model_pack),
        FIND_MORE_CENTROID: partial(run_find_more_centroid, model_pack),
        ASSIGN: partial(run_assignment, model_pack),
    }
