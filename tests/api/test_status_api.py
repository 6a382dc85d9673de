"""Live indexing progress: ``pending``, ``rate`` and ``indexing`` in GET /api/v1/status, and the
status as server-sent events (GET /api/v1/status/events)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from image_search.db.base import utcnow
from image_search.library.models import Asset, AssetStatus, Stage
from tests.api.conftest import ApiLibrary


def _image_ids(api: ApiLibrary, count: int) -> list[int]:
    with api.factory() as session:
        ids = session.scalars(
            select(Asset.id).where(Asset.kind == "image").order_by(Asset.id).limit(count)
        )
        return list(ids)


def _set(api: ApiLibrary, ids: list[int], **values: Any) -> None:
    with api.factory() as session:
        session.execute(update(Asset).where(Asset.id.in_(ids)).values(**values))
        session.commit()


def test_finished_library_is_not_indexing(api: ApiLibrary) -> None:
    _set_all_old(api)
    status = api.get("/api/v1/status")
    assert status["pending"] == 0 and status["indexing"] is False
    assert status["rate"] == 0.0


def _set_all_old(api: ApiLibrary) -> None:
    with api.factory() as session:
        session.execute(update(Asset).values(last_attempt_at=utcnow() - timedelta(days=1)))
        session.commit()


def test_rate_counts_assets_finished_in_the_last_minute(api: ApiLibrary) -> None:
    _set_all_old(api)
    ids = _image_ids(api, 40)
    now = utcnow()
    _set(api, ids[:27], last_attempt_at=now - timedelta(seconds=5))  # done, in the window
    _set(
        api,
        ids[27:30],
        status=AssetStatus.FAILED,
        error="broken",
        last_attempt_at=now - timedelta(seconds=50),
    )
    _set(api, ids[30:32], last_attempt_at=now - timedelta(seconds=90))  # too old
    _set(api, ids[32:36], status=AssetStatus.PENDING, stage=Stage.HASHED, last_attempt_at=now)

    status = api.get("/api/v1/status")
    assert status["rate"] == pytest.approx(30 / 60, abs=0.001)  # 27 done + 3 failed
    assert status["pending"] == 4 and status["indexing"] is True
    assert status["assetsByStatus"]["image"]["pending"] == 4
    assert len(status["failures"]) == 3


def _events(api: ApiLibrary) -> Iterator[tuple[str, dict[str, Any]]]:
    with api.client.stream("GET", "/api/v1/status/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        name = "message"
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                yield name, json.loads(line.split(":", 1)[1])


@pytest.mark.timeout(120)
def test_status_events_send_the_status_at_once_and_on_change(api: ApiLibrary) -> None:
    _set_all_old(api)
    expected = api.get("/api/v1/status")
    events = _events(api)
    try:
        name, first = next(events)
        assert name == "status" and first == expected
        assert first["indexing"] is False

        _set(api, _image_ids(api, 2), status=AssetStatus.PENDING, stage=Stage.HASHED)
        name, changed = next(events)  # the next poll sees the change
        assert name == "status"
        assert changed["pending"] == 2 and changed["indexing"] is True
        assert changed == api.get("/api/v1/status")
    finally:
        events.close()


def test_status_events_are_documented(api: ApiLibrary) -> None:
    operation = api.get("/openapi.json")["paths"]["/api/v1/status/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    schema = api.get("/openapi.json")["components"]["schemas"]["LibraryStatusSchema"]
    assert {"pending", "rate", "indexing"} <= set(schema["required"])
