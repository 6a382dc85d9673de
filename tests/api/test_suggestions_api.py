"""The face-suggestion contract (../shared/seeds/002_c68180e0afd50046.txt) on a real indexed
library: two-tier assignment, grouped and flat lists, accept / reject / undo, bulk actions,
find-more jobs with server-sent progress, settings; bad input is refused and changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from image_search.faces.models import Face
from image_search.people.models import FaceRejection, FaceSuggestion
from tests.api.conftest import ApiLibrary
from tests.api.helpers import (
    follow_events,
    name_largest_clusters,
    run_assignment,
    set_thresholds,
)

SUGGESTIONS = "/api/v1/faces/suggestions"
CONTRACT_FIELDS = {
    "id",
    "faceInstanceId",
    "suggestedPersonId",
    "confidence",
    "status",
    "faceThumbnailUrl",
    "fullImageUrl",
    "path",
    "bboxX",
    "bboxY",
    "bboxW",
    "bboxH",
    "matchingPrototypeIds",
    "prototypeScores",
    "aggregateConfidence",
    "prototypeMatchCount",
}
PHASES = ["queued", "sampling_prototypes", "searching", "creating_suggestions", "complete"]


def _suggest_only(api: ApiLibrary, persons: int = 4) -> list[dict[str, Any]]:
    """Name clusters, then run assignment that may suggest but never auto-assigns."""
    named = name_largest_clusters(api, persons)
    set_thresholds(api, auto=1.0, suggest=0.9)
    job = run_assignment(api)
    assert job["result"]["autoAssigned"] == 0
    return named


def _pending_count(api: ApiLibrary) -> int:
    with api.factory() as session:
        return int(
            session.scalar(
                select(func.count(FaceSuggestion.id)).where(FaceSuggestion.status == "pending")
            )
            or 0
        )


def _all_pending(api: ApiLibrary) -> list[dict[str, Any]]:
    return api.get(SUGGESTIONS, params={"status": "pending", "pageSize": 200})["items"]


def test_assignment_creates_multi_prototype_suggestions(api: ApiLibrary) -> None:
    _suggest_only(api)
    grouped = api.get(SUGGESTIONS, params={"grouped": "true"})
    assert grouped["totalSuggestions"] == _pending_count(api) > 0
    assert grouped["page"] == 1 and grouped["groupsPerPage"] == 20
    maxima = [g["maxConfidence"] for g in grouped["groups"]]
    assert maxima == sorted(maxima, reverse=True)
    for group in grouped["groups"]:
        person = api.get(f"/api/v1/persons/{group['personId']}")
        assert group["personName"] == person["name"]
        assert group["labeledFaceCount"] == person["faceCount"]
        prototypes = {p["faceId"] for p in person["prototypes"]}
        confidences = [s["confidence"] for s in group["suggestions"]]
        assert confidences == sorted(confidences, reverse=True)
        assert group["maxConfidence"] == confidences[0]
        for s in group["suggestions"]:
            assert s.keys() >= CONTRACT_FIELDS
            assert s["status"] == "pending" and s["suggestedPersonId"] == group["personId"]
            assert s["confidence"] >= 0.9
            assert set(s["matchingPrototypeIds"]) <= prototypes
            assert s["prototypeScores"] == {
                str(i): s["prototypeScores"][str(i)] for i in s["matchingPrototypeIds"]
            }
            assert s["prototypeMatchCount"] == len(s["matchingPrototypeIds"])
            assert s["isMultiPrototypeMatch"] == (s["prototypeMatchCount"] > 1)
            assert s["aggregateConfidence"] <= s["confidence"] + 1e-9
            assert s["confidence"] == max(s["prototypeScores"].values())
            assert s["sourceFaceId"] in s["matchingPrototypeIds"]
            face = api.get(f"/api/v1/faces/{s['faceInstanceId']}")
            assert face["personId"] is None
            assert (s["bboxX"], s["bboxW"]) == (face["bboxX"], face["bboxW"])
            assert s["faceThumbnailUrl"] == f"/api/v1/images/{face['assetId']}/thumbnail"
    # Running the assignment again creates no duplicate pending suggestion.
    before = _pending_count(api)
    run_assignment(api)
    assert _pending_count(api) == before


def test_auto_assign_only_when_one_person_is_close(api: ApiLibrary) -> None:
    (named,) = name_largest_clusters(api, 1)
    pid = named["personId"]
    faces = [f["id"] for f in api.get(f"/api/v1/persons/{pid}/faces")["items"]]
    twin = api.post(
        "/api/v1/faces/assign", {"faceIds": faces[: len(faces) // 2], "newPersonName": "Twin"}
    )
    set_thresholds(api, auto=0.9, suggest=0.9)
    result = run_assignment(api)["result"]
    with api.factory() as session:
        auto = list(session.scalars(select(Face.id).where(Face.assigned_by == "auto")))
        pending = session.execute(
            select(FaceSuggestion.face_id, FaceSuggestion.suggested_person_id).where(
                FaceSuggestion.status == "pending"
            )
        ).all()
    assert result["autoAssigned"] == len(auto)
    by_face: dict[int, set[int]] = {}
    for face_id, person_id in pending:
        by_face.setdefault(face_id, set()).add(person_id)
    # A face close to both halves of the same identity is suggested for both, never assigned.
    ambiguous = [f for f, persons in by_face.items() if {pid, twin["personId"]} <= persons]
    assert ambiguous, "expected faces matching both persons"
    assert result["ambiguous"] >= 1
    for face_id in ambiguous:
        assert api.get(f"/api/v1/faces/{face_id}")["personId"] is None
    assert not set(auto) & set(by_face)


def test_grouped_pagination_and_filters(api: ApiLibrary) -> None:
    _suggest_only(api)
    everything = api.get(SUGGESTIONS, params={"grouped": "true"})
    total_groups = everything["totalGroups"]
    assert total_groups >= 2
    pages = [
        api.get(SUGGESTIONS, params={"grouped": "true", "groupsPerPage": 1, "page": p})
        for p in range(1, total_groups + 2)
    ]
    assert [len(p["groups"]) for p in pages] == [1] * total_groups + [0]
    assert [p["groups"][0]["personId"] for p in pages[:-1]] == [
        g["personId"] for g in everything["groups"]
    ]
    one_each = api.get(SUGGESTIONS, params={"grouped": "true", "suggestionsPerGroup": 1})
    assert all(len(g["suggestions"]) == 1 for g in one_each["groups"])
    assert [g["suggestionCount"] for g in one_each["groups"]] == [
        g["suggestionCount"] for g in everything["groups"]
    ]
    person = everything["groups"][-1]["personId"]
    only = api.get(SUGGESTIONS, params={"grouped": "true", "personId": person})
    assert [g["personId"] for g in only["groups"]] == [person]
    assert api.get(SUGGESTIONS, params={"grouped": "true", "status": "rejected"})["groups"] == []
    flat = api.get(SUGGESTIONS, params={"pageSize": 3})
    assert flat["total"] == everything["totalSuggestions"] and len(flat["items"]) <= 3
    face = everything["groups"][0]["suggestions"][0]["faceInstanceId"]
    of_face = api.get(SUGGESTIONS, params={"faceId": face, "status": "all"})["items"]
    expected = {
        s["id"]
        for g in everything["groups"]
        for s in g["suggestions"]
        if s["faceInstanceId"] == face
    }
    assert expected <= {s["id"] for s in of_face}
    assert all(s["faceInstanceId"] == face for s in of_face)
    for params in (
        {"grouped": "true", "page": 0},
        {"grouped": "true", "groupsPerPage": 0},
        {"grouped": "true", "suggestionsPerGroup": 201},
        {"grouped": "true", "status": "maybe"},
        {"pageSize": 500},
        {"personId": "x"},
    ):
        response = api.client.get(SUGGESTIONS, params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "validation_error"


def test_accept_reject_undo_one_by_one(api: ApiLibrary) -> None:
    _suggest_only(api)
    first, second = _all_pending(api)[:2]

    accepted = api.post(f"{SUGGESTIONS}/{first['id']}/accept")
    assert accepted["status"] == "accepted" and accepted["reviewedAt"] is not None
    face = api.get(f"/api/v1/faces/{first['faceInstanceId']}")
    assert face["personId"] == first["suggestedPersonId"] and face["assignedBy"] == "suggestion"
    with api.factory() as session:
        others = session.scalars(
            select(FaceSuggestion.status).where(
                FaceSuggestion.face_id == first["faceInstanceId"],
                FaceSuggestion.id != first["id"],
            )
        ).all()
    assert "pending" not in others
    for verb in ("accept", "reject"):
        conflict = api.client.post(f"{SUGGESTIONS}/{first['id']}/{verb}")
        assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"

    rejected = api.post(f"{SUGGESTIONS}/{second['id']}/reject")
    assert rejected["status"] == "rejected"
    with api.factory() as session:
        pair = (second["faceInstanceId"], second["suggestedPersonId"])
        assert session.get(FaceRejection, pair) is not None

    undone = api.post(f"{SUGGESTIONS}/{first['id']}/undo")
    assert undone["status"] == "pending" and undone["reviewedAt"] is None
    assert api.get(f"/api/v1/faces/{first['faceInstanceId']}")["personId"] is None
    api.post(f"{SUGGESTIONS}/{second['id']}/undo")
    with api.factory() as session:
        assert session.get(FaceRejection, pair) is None
    assert api.client.post(f"{SUGGESTIONS}/{first['id']}/undo").status_code == 409
    for verb in ("accept", "reject", "undo"):
        missing = api.client.post(f"{SUGGESTIONS}/999999/{verb}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_bulk_action_results_per_item_and_auto_find_more(api: ApiLibrary) -> None:
    _suggest_only(api)
    pending = _all_pending(api)
    chosen = [s["id"] for s in pending[:3]]
    response = api.post(
        f"{SUGGESTIONS}/bulk-action",
        {"suggestionIds": [*chosen, 999999], "action": "accept", "autoFindMore": True},
    )
    assert response["processed"] == 3 and response["failed"] == 1
    assert response["errors"] == [
        {
            "id": 999999,
            "ok": False,
            "error": "not_found",
            "message": "suggestion 999999 does not exist",
        }
    ]
    persons = {s["suggestedPersonId"] for s in pending[:3]}
    jobs = response["findMoreJobs"]
    assert {j["personId"] for j in jobs} == persons
    for job in jobs:
        assert job["progressKey"] == f"find_more:progress:{job['personId']}:{job['jobId']}"
        events = follow_events(api, job["eventsUrl"])
        assert events[-1][0] == "complete"
        assert events[-1][1]["result"]["personId"] == job["personId"]
    again = api.post(f"{SUGGESTIONS}/bulk-action", {"suggestionIds": chosen, "action": "reject"})
    assert again["processed"] == 0 and {e["error"] for e in again["errors"]} == {"conflict"}
    for body in (
        {"suggestionIds": [], "action": "accept"},
        {"suggestionIds": chosen, "action": "delete"},
        {"suggestionIds": chosen, "action": "accept", "findMorePrototypeCount": 0},
    ):
        assert api.client.post(f"{SUGGESTIONS}/bulk-action", json=body).status_code == 422


def test_find_more_jobs_stream_their_phases(api: ApiLibrary) -> None:
    named = name_largest_clusters(api, 4)
    set_thresholds(api, auto=1.0, suggest=0.9)
    pid = named[0]["personId"]
    job = api.post(
        f"{SUGGESTIONS}/persons/{pid}/find-more",
        {"prototypeCount": 5, "maxSuggestions": 2, "minConfidence": 0.85},
        expect=202,
    )
    assert job["status"] == "queued"
    events = follow_events(
        api,
        f"{SUGGESTIONS}/persons/{pid}/find-more-events?progressKey={job['progressKey']}",
    )
    # The stream polls the job row: a fast job may skip phases, but never goes back.
    phases = [data["phase"] for _, data in events]
    assert phases == sorted(phases, key=PHASES.index) and set(phases) <= set(PHASES)
    assert phases[-1] == "complete" and events[-1][0] == "complete"
    result = events[-1][1]["result"]
    assert result["prototypesUsed"] == 5 and result["suggestionsCreated"] <= 2
    created = api.get(SUGGESTIONS, params={"personId": pid, "pageSize": 200})["items"]
    assert len([s for s in created if s["source"] == "find_more"]) == result["suggestionsCreated"]
    assert all(s["confidence"] >= 0.85 for s in created)

    centroid = api.post(
        f"{SUGGESTIONS}/persons/{pid}/find-more-centroid", {"minSimilarity": 0.85}, expect=202
    )
    end = follow_events(api, centroid["eventsUrl"])[-1]
    assert end[0] == "complete" and end[1]["kind"] == "find_more_centroid"
    job_view = api.get(f"/api/v1/jobs/{centroid['jobId']}")
    assert job_view["status"] == "complete" and job_view["progress"] == 1.0


def test_find_more_refuses_bad_input(api: ApiLibrary) -> None:
    (named,) = name_largest_clusters(api, 1)
    empty = api.post("/api/v1/persons", {"name": "No faces"}, expect=201)
    pid = named["personId"]
    cases = [
        ("/persons/999999/find-more", {}, 404),
        ("/persons/999999/find-more-centroid", {}, 404),
        (f"/persons/{empty['id']}/find-more", {}, 422),
        (f"/persons/{pid}/find-more", {"prototypeCount": 0}, 422),
        (f"/persons/{pid}/find-more", {"minConfidence": 2}, 422),
        (f"/persons/{pid}/find-more-centroid", {"maxResults": -1}, 422),
    ]
    for path, body, status in cases:
        assert api.client.post(SUGGESTIONS + path, json=body).status_code == status, path
    assert api.get("/api/v1/jobs") == []
    events = api.client.get(
        f"{SUGGESTIONS}/persons/{pid}/find-more-events", params={"jobId": "nope"}
    )
    assert events.status_code == 404
    assert api.client.get(f"{SUGGESTIONS}/persons/{pid}/find-more-events").status_code == 422
    assert api.client.get("/api/v1/jobs/nope/events").status_code == 404
    assert api.client.get("/api/v1/jobs/nope").status_code == 404


def test_settings_are_read_and_changed_per_pack(api: ApiLibrary) -> None:
    settings = api.get(f"{SUGGESTIONS}/settings")
    assert settings["modelPack"] == "yunet-dlib"
    assert settings["autoAssignThreshold"] == settings["calibratedAutoAssignThreshold"]
    assert settings["suggestionThreshold"] <= settings["autoAssignThreshold"]
    changed = api.client.put(
        f"{SUGGESTIONS}/settings", json={"suggestionThreshold": 0.5, "groupsPerPage": 7}
    ).json()
    assert changed["suggestionThreshold"] == 0.5 and changed["groupsPerPage"] == 7
    assert changed["autoAssignThreshold"] == settings["autoAssignThreshold"]
    assert api.get(SUGGESTIONS, params={"grouped": "true"})["groupsPerPage"] == 7
    for body in (
        {"suggestionThreshold": changed["autoAssignThreshold"] + 0.01},
        {"autoAssignThreshold": 1.5},
        {"itemsPerGroup": 0},
    ):
        assert api.client.put(f"{SUGGESTIONS}/settings", json=body).status_code == 422, body
    assert api.get(f"{SUGGESTIONS}/settings") == changed


def test_a_suggestion_expires_when_its_face_is_assigned_elsewhere(api: ApiLibrary) -> None:
    _suggest_only(api)
    suggestion = _all_pending(api)[0]
    other = api.post("/api/v1/persons", {"name": "Someone else"}, expect=201)
    api.post(
        "/api/v1/faces/assign", {"faceIds": [suggestion["faceInstanceId"]], "personId": other["id"]}
    )
    assert api.get(f"{SUGGESTIONS}/{suggestion['id']}")["status"] == "expired"
    grouped = api.get(SUGGESTIONS, params={"grouped": "true"})
    assert suggestion["id"] not in {s["id"] for g in grouped["groups"] for s in g["suggestions"]}
    assert grouped["totalSuggestions"] == _pending_count(api)


def test_undo_refuses_when_a_newer_pending_suggestion_exists(api: ApiLibrary) -> None:
    _suggest_only(api)
    first = _all_pending(api)[0]
    face, person = first["faceInstanceId"], first["suggestedPersonId"]
    api.post(f"{SUGGESTIONS}/{first['id']}/reject")
    api.post("/api/v1/faces/assign", {"faceIds": [face], "personId": person})  # lifts it
    api.post("/api/v1/faces/unassign", {"faceIds": [face]})
    set_thresholds(api, auto=1.0, suggest=-1.0)
    run_assignment(api)
    newer = [
        s
        for s in _all_pending(api)
        if (s["faceInstanceId"], s["suggestedPersonId"]) == (face, person)
    ]
    assert len(newer) == 1
    single = api.client.post(f"{SUGGESTIONS}/{first['id']}/undo")
    assert single.status_code == 409 and single.json()["error"]["code"] == "conflict"
    bulk = api.post(
        f"{SUGGESTIONS}/bulk-action", {"suggestionIds": [first["id"]], "action": "undo"}
    )
    assert bulk["failed"] == 1 and bulk["errors"][0]["error"] == "conflict"
    assert api.get(f"{SUGGESTIONS}/{first['id']}")["status"] == "rejected"


def test_merge_keeps_rejections_and_other_persons_pending_suggestions(api: ApiLibrary) -> None:
    named = name_largest_clusters(api, 4)
    a, b, c, d = (n["personId"] for n in named)
    set_thresholds(api, auto=1.0, suggest=-1.0)
    run_assignment(api)  # every unassigned face is suggested for up to 3 persons
    pending = _all_pending(api)
    shared = next(
        f
        for f in {s["faceInstanceId"] for s in pending}
        if {a, b} <= {s["suggestedPersonId"] for s in pending if s["faceInstanceId"] == f}
    )
    to_a = next(s for s in pending if (s["faceInstanceId"], s["suggestedPersonId"]) == (shared, a))
    api.post(f"{SUGGESTIONS}/{to_a['id']}/reject")
    # A "find mistakes" search: pending suggestions for faces that belong to other persons.
    job = api.post(
        f"{SUGGESTIONS}/persons/{c}/find-more-centroid",
        {"minSimilarity": -1.0, "unassignedOnly": False, "maxResults": 5},
        expect=202,
    )
    follow_events(api, job["eventsUrl"])
    with api.factory() as session:
        mistakes = session.scalars(
            select(FaceSuggestion.id)
            .join(Face, Face.id == FaceSuggestion.face_id)
            .where(
                FaceSuggestion.suggested_person_id == c,
                FaceSuggestion.status == "pending",
                Face.person_id.is_not(None),
            )
        ).all()
    assert mistakes

    api.post(f"/api/v1/persons/{b}/merge", {"sourcePersonIds": [a]})
    for s in api.get(SUGGESTIONS, params={"personId": b, "pageSize": 200, "status": "pending"})[
        "items"
    ]:
        assert s["faceInstanceId"] != shared  # rejected for A, so rejected for the merged person
    with api.factory() as session:
        assert session.get(FaceRejection, (shared, b)) is not None
        still = session.scalars(
            select(FaceSuggestion.status).where(FaceSuggestion.id.in_(mistakes))
        ).all()
    assert set(still) == {"pending"}  # an unrelated merge leaves them alone
    assert d  # the fourth person only widens the set of suggested persons


def _statuses(api: ApiLibrary, ids: list[int]) -> dict[int, str]:
    with api.factory() as session:
        rows = session.execute(
            select(FaceSuggestion.id, FaceSuggestion.status).where(FaceSuggestion.id.in_(ids))
        )
        return {int(i): str(s) for i, s in rows}


def _face_with_suggestions(api: ApiLibrary, count: int) -> list[dict[str, Any]]:
    """The pending suggestions of a face that has ``count`` of them, best first."""
    named = name_largest_clusters(api, 4)
    assert named
    set_thresholds(api, auto=1.0, suggest=-1.0)
    run_assignment(api)  # every unassigned face is suggested for up to 3 persons
    by_face: dict[int, list[dict[str, Any]]] = {}
    for s in _all_pending(api):
        by_face.setdefault(s["faceInstanceId"], []).append(s)
    return next(found for found in by_face.values() if len(found) >= count)[:count]


def test_undoing_an_accept_reopens_the_faces_other_suggestions(api: ApiLibrary) -> None:
    first, second, third = _face_with_suggestions(api, 3)
    ids = [first["id"], second["id"], third["id"]]
    api.post(f"{SUGGESTIONS}/{third['id']}/reject")
    api.post(f"{SUGGESTIONS}/{first['id']}/accept")
    assert _statuses(api, ids) == {ids[0]: "accepted", ids[1]: "expired", ids[2]: "rejected"}
    pending_before = _pending_count(api)

    api.post(f"{SUGGESTIONS}/{first['id']}/undo")
    # the rejected pair stays rejected; the one the accept expired is pending again
    assert _statuses(api, ids) == {ids[0]: "pending", ids[1]: "pending", ids[2]: "rejected"}
    assert _pending_count(api) == pending_before + 2
    grouped = api.get(SUGGESTIONS, params={"grouped": "true", "suggestionsPerGroup": 200})
    assert grouped["totalSuggestions"] == _pending_count(api)
    listed = {s["id"] for g in grouped["groups"] for s in g["suggestions"]}
    assert {ids[0], ids[1]} <= listed
    assert api.get(f"/api/v1/faces/{first['faceInstanceId']}")["personId"] is None

    # the same through a bulk undo
    api.post(f"{SUGGESTIONS}/{second['id']}/accept")
    assert _statuses(api, ids)[ids[0]] == "expired"
    bulk = api.post(f"{SUGGESTIONS}/bulk-action", {"suggestionIds": [ids[1]], "action": "undo"})
    assert bulk["processed"] == 1
    assert _statuses(api, ids) == {ids[0]: "pending", ids[1]: "pending", ids[2]: "rejected"}


def test_undoing_an_accept_skips_pairs_with_a_pending_suggestion(api: ApiLibrary) -> None:
    first, second = _face_with_suggestions(api, 2)
    face, other = first["faceInstanceId"], second["suggestedPersonId"]
    api.post(f"{SUGGESTIONS}/{first['id']}/accept")
    # A newer pending suggestion for the expired pair (as a later find-more would create).
    with api.factory() as session, session.begin():
        newer = FaceSuggestion(
            face_id=face,
            suggested_person_id=other,
            confidence=second["confidence"],
            status="pending",
            source="find_more",
        )
        session.add(newer)
        session.flush()
        newer_id = newer.id
    api.post(f"{SUGGESTIONS}/{first['id']}/undo")
    assert _statuses(api, [first["id"], second["id"], newer_id]) == {
        first["id"]: "pending",
        second["id"]: "expired",
        newer_id: "pending",
    }
