"""Steps many API tests share: naming clusters, setting thresholds, following a job."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from image_search.faces.models import Face
from image_search.library.models import Asset
from tests.api.conftest import ApiLibrary


def folder_person(path: str) -> str | None:
    """The true identity of a people-small photo (its folder), None for group photos."""
    parts = path.split("/")
    return parts[-2] if "people-small" in parts else None


def name_largest_clusters(api: ApiLibrary, count: int) -> list[dict[str, Any]]:
    """Name the ``count`` largest clusters after the identity most of their people-small faces
    have; returns the name-cluster responses."""
    clusters = api.get("/api/v1/clusters", params={"pageSize": count})["items"]
    named = []
    for cluster in clusters:
        faces = api.get(f"/api/v1/clusters/{cluster['id']}/faces")["items"]
        names = [folder_person(api.get(f"/api/v1/assets/{f['assetId']}")["path"]) for f in faces]
        known = [n for n in names if n]
        name = max(set(known), key=known.count) if known else f"cluster {cluster['id']}"
        named.append(api.post(f"/api/v1/clusters/{cluster['id']}/name", {"name": name}))
    return named


def set_thresholds(api: ApiLibrary, auto: float, suggest: float) -> None:
    api.client.put(
        "/api/v1/faces/suggestions/settings",
        json={"autoAssignThreshold": auto, "suggestionThreshold": suggest},
    ).raise_for_status()


def run_assignment(api: ApiLibrary) -> dict[str, Any]:
    """Start the assignment job and follow its events to the end; returns the final job."""
    job = api.post("/api/v1/faces/suggestions/assign", expect=202)
    events = follow_events(api, job["eventsUrl"])
    assert events[-1][0] == "complete", events[-1]
    return events[-1][1]


def follow_events(api: ApiLibrary, url: str) -> list[tuple[str, dict[str, Any]]]:
    """Read a server-sent event stream to its end: [(event name, data)]."""
    events: list[tuple[str, dict[str, Any]]] = []
    name = "message"
    with api.client.stream("GET", url, timeout=120) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def face_owner_counts(api: ApiLibrary) -> dict[int | None, int]:
    """person id -> number of faces (None: unassigned), read from the database."""
    with api.factory() as session:
        rows = session.execute(select(Face.person_id, func.count(Face.id)).group_by(Face.person_id))
        return {p: int(n) for p, n in rows}


def asset_path(api: ApiLibrary, face_id: int) -> str:
    with api.factory() as session:
        return str(
            session.scalar(
                select(Asset.path).join(Face, Face.asset_id == Asset.id).where(Face.id == face_id)
            )
        )
