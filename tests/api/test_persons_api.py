"""Persons through the API on a real indexed library: naming clusters, rename, hide, birth
date, cover, merge, split, delete, assign/unassign, pinned prototypes; bad input changes
nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from image_search.faces.models import Cluster, Face
from image_search.people.models import FaceRejection, PersonPrototype
from tests.api.conftest import ApiLibrary
from tests.api.helpers import face_owner_counts, name_largest_clusters, run_assignment


def test_naming_a_cluster_creates_a_person_with_its_faces(api: ApiLibrary) -> None:
    cluster = api.get("/api/v1/clusters")["items"][0]
    face_ids = {f["id"] for f in api.get(f"/api/v1/clusters/{cluster['id']}/faces")["items"]}
    named = api.post(f"/api/v1/clusters/{cluster['id']}/name", {"name": "  Ada   Lovelace "})
    assert named["created"] is True
    assert named["personName"] == "Ada Lovelace"
    assert named["facesAssigned"] == cluster["faceCount"] == len(face_ids)
    assert sorted(named["assignedFaceIds"]) == sorted(face_ids)
    person = api.get(f"/api/v1/persons/{named['personId']}")
    assert person["faceCount"] == len(face_ids)
    assert person["coverFaceId"] in face_ids
    assert person["centroidFaceCount"] == len(face_ids)
    assert 1 <= len(person["prototypes"]) <= 10
    assert {p["faceId"] for p in person["prototypes"]} <= face_ids
    with api.factory() as session:
        assert session.get(Cluster, cluster["id"]) is None
        owners = set(session.scalars(select(Face.person_id).where(Face.id.in_(face_ids))))
    assert owners == {named["personId"]}
    assert api.client.get(f"/api/v1/clusters/{cluster['id']}/faces").status_code == 404


def test_a_second_cluster_with_the_same_name_joins_the_person(api: ApiLibrary) -> None:
    first, second = api.get("/api/v1/clusters", params={"pageSize": 2})["items"]
    a = api.post(f"/api/v1/clusters/{first['id']}/name", {"name": "Sam"})
    b = api.post(f"/api/v1/clusters/{second['id']}/name", {"name": "sam"})
    assert b["created"] is False and b["personId"] == a["personId"]
    person = api.get(f"/api/v1/persons/{a['personId']}")
    assert person["faceCount"] == first["faceCount"] + second["faceCount"]


def test_naming_with_bad_input_changes_nothing(api: ApiLibrary) -> None:
    cluster = api.get("/api/v1/clusters")["items"][0]
    before = face_owner_counts(api)
    cases = [
        (f"/api/v1/clusters/{cluster['id']}/name", {"personId": 999999}, 404, "not_found"),
        ("/api/v1/clusters/999999/name", {"name": "Nobody"}, 404, "not_found"),
        (f"/api/v1/clusters/{cluster['id']}/name", {}, 422, "invalid_input"),
        (f"/api/v1/clusters/{cluster['id']}/name", {"name": "A", "personId": 1}, 422, None),
        (f"/api/v1/clusters/{cluster['id']}/name", {"name": ""}, 422, "validation_error"),
        (f"/api/v1/clusters/{cluster['id']}/name", {"name": "   "}, 422, "invalid_input"),
    ]
    for url, body, status, code in cases:
        response = api.client.post(url, json=body)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert error["message"]
        if code:
            assert error["code"] == code
    assert face_owner_counts(api) == before
    assert api.get("/api/v1/persons")["total"] == 0


def test_rename_hide_birth_date_and_cover(api: ApiLibrary) -> None:
    first, second = name_largest_clusters(api, 2)
    pid = first["personId"]
    other_face = api.get(f"/api/v1/persons/{second['personId']}/faces")["items"][0]["id"]
    own_faces = [f["id"] for f in api.get(f"/api/v1/persons/{pid}/faces")["items"]]

    updated = api.client.patch(
        f"/api/v1/persons/{pid}",
        json={"name": "Renamed", "birthDate": "1990-05-17", "coverFaceId": own_faces[-1]},
    ).json()
    assert updated["name"] == "Renamed" and updated["birthDate"] == "1990-05-17"
    assert updated["coverFaceId"] == own_faces[-1]
    assert updated["coverFaceUrl"] == f"/api/v1/faces/{own_faces[-1]}/crop"

    for body in (
        {"coverFaceId": other_face},
        {"birthDate": "2999-01-01"},
        {"birthDate": "not a date"},
        {"name": ""},
    ):
        response = api.client.patch(f"/api/v1/persons/{pid}", json=body)
        assert response.status_code == 422, body
    unchanged = api.get(f"/api/v1/persons/{pid}")
    assert (unchanged["name"], unchanged["birthDate"], unchanged["coverFaceId"]) == (
        "Renamed",
        "1990-05-17",
        own_faces[-1],
    )
    assert api.client.patch("/api/v1/persons/999999", json={"name": "x"}).status_code == 404

    cleared = api.client.patch(f"/api/v1/persons/{pid}", json={"birthDate": None, "hidden": True})
    assert cleared.json()["birthDate"] is None and cleared.json()["hidden"] is True
    listed = api.get("/api/v1/persons")
    assert pid not in {p["id"] for p in listed["items"]}
    with_hidden = api.get("/api/v1/persons", params={"includeHidden": "true"})
    assert pid in {p["id"] for p in with_hidden["items"]}
    found = api.get("/api/v1/persons", params={"includeHidden": "true", "search": "NAMED"})
    assert [p["id"] for p in found["items"]] == [pid]


def test_merge_moves_faces_prototypes_and_suggestions(api: ApiLibrary) -> None:
    a, b = name_largest_clusters(api, 2)
    pinned = api.get(f"/api/v1/persons/{b['personId']}/faces")["items"][0]["id"]
    api.client.put(
        f"/api/v1/persons/{b['personId']}/prototypes/{pinned}", json={"pinned": True}
    ).raise_for_status()
    before = face_owner_counts(api)

    merged = api.post(
        f"/api/v1/persons/{a['personId']}/merge", {"sourcePersonIds": [b["personId"]]}
    )
    assert merged["faceCount"] == before[a["personId"]] + before[b["personId"]]
    assert {"faceId": pinned, "role": "pinned"}.items() <= next(
        p for p in merged["prototypes"] if p["faceId"] == pinned
    ).items()
    assert api.client.get(f"/api/v1/persons/{b['personId']}").status_code == 404
    assert merged["centroidFaceCount"] == merged["faceCount"]


def test_merge_with_bad_input_changes_nothing(api: ApiLibrary) -> None:
    a, b = name_largest_clusters(api, 2)
    before = face_owner_counts(api)
    for body, status in (
        ({"sourcePersonIds": [a["personId"]]}, 422),  # into itself
        ({"sourcePersonIds": [b["personId"], 999999]}, 404),
        ({"sourcePersonIds": []}, 422),
    ):
        response = api.client.post(f"/api/v1/persons/{a['personId']}/merge", json=body)
        assert response.status_code == status, body
    assert (
        api.client.post(
            "/api/v1/persons/999999/merge", json={"sourcePersonIds": [a["personId"]]}
        ).status_code
        == 404
    )
    assert face_owner_counts(api) == before


def test_split_by_moving_faces_to_a_new_person(api: ApiLibrary) -> None:
    (a,) = name_largest_clusters(api, 1)
    faces = [f["id"] for f in api.get(f"/api/v1/persons/{a['personId']}/faces")["items"]]
    moved = faces[:3]
    response = api.post(
        "/api/v1/faces/assign", {"faceIds": [*moved, 999999], "newPersonName": "Split off"}
    )
    assert response["processed"] == 3 and response["failed"] == 1
    assert response["results"][-1] == {
        "id": 999999,
        "ok": False,
        "error": "not_found",
        "message": "face 999999 does not exist",
    }
    new_person = api.get(f"/api/v1/persons/{response['personId']}")
    assert new_person["name"] == "Split off" and new_person["faceCount"] == 3
    old = api.get(f"/api/v1/persons/{a['personId']}")
    assert old["faceCount"] == len(faces) - 3
    assert old["coverFaceId"] not in moved
    assert old["centroidFaceCount"] == old["faceCount"]
    face = api.get(f"/api/v1/faces/{moved[0]}")
    assert face["personId"] == new_person["id"] and face["assignedBy"] == "user"


def test_unassign_not_this_person_is_remembered(api: ApiLibrary) -> None:
    (a,) = name_largest_clusters(api, 1)
    pid = a["personId"]
    face_id = api.get(f"/api/v1/persons/{pid}/faces")["items"][0]["id"]
    result = api.post(
        "/api/v1/faces/unassign", {"faceIds": [face_id, face_id, 999999], "notThisPerson": True}
    )
    assert [r["ok"] for r in result["results"]] == [True, False]
    assert api.get(f"/api/v1/faces/{face_id}")["personId"] is None
    with api.factory() as session:
        assert session.get(FaceRejection, (face_id, pid)) is not None
    again = api.post("/api/v1/faces/unassign", {"faceIds": [face_id]})
    assert again["results"][0]["error"] == "conflict"
    # Accepting everything similar never brings the rejected face back to this person.
    api.client.put(
        "/api/v1/faces/suggestions/settings",
        json={"autoAssignThreshold": -1.0, "suggestionThreshold": -1.0},
    ).raise_for_status()
    run_assignment(api)
    assert api.get(f"/api/v1/faces/{face_id}")["personId"] != pid
    suggested = api.get(
        "/api/v1/faces/suggestions", params={"personId": pid, "status": "all", "pageSize": 200}
    )
    assert face_id not in {s["faceInstanceId"] for s in suggested["items"]}
    # An explicit assignment by a user lifts the rejection.
    api.post("/api/v1/faces/assign", {"faceIds": [face_id], "personId": pid})
    with api.factory() as session:
        assert session.get(FaceRejection, (face_id, pid)) is None


def test_delete_releases_the_faces(api: ApiLibrary) -> None:
    (a,) = name_largest_clusters(api, 1)
    pid = a["personId"]
    count = api.get(f"/api/v1/persons/{pid}")["faceCount"]
    deleted = api.client.delete(f"/api/v1/persons/{pid}").json()
    assert deleted == {"id": pid, "facesReleased": count}
    assert api.client.get(f"/api/v1/persons/{pid}").status_code == 404
    assert api.client.delete(f"/api/v1/persons/{pid}").status_code == 404
    with api.factory() as session:
        assert session.scalar(select(func.count(Face.id)).where(Face.person_id == pid)) == 0
        assert session.scalar(select(func.count(PersonPrototype.id))) == 0


def test_pinning_a_prototype(api: ApiLibrary) -> None:
    a, b = name_largest_clusters(api, 2)
    pid = a["personId"]
    faces = api.get(f"/api/v1/persons/{pid}/faces")["items"]
    worst = faces[-1]["id"]  # lowest quality: never the first automatic pick
    detail = api.client.put(
        f"/api/v1/persons/{pid}/prototypes/{worst}", json={"pinned": True}
    ).json()
    roles = {p["faceId"]: p["role"] for p in detail["prototypes"]}
    assert roles[worst] == "pinned"
    assert list(roles.values()).count("pinned") == 1
    other = api.get(f"/api/v1/persons/{b['personId']}/faces")["items"][0]["id"]
    assert (
        api.client.put(
            f"/api/v1/persons/{pid}/prototypes/{other}", json={"pinned": True}
        ).status_code
        == 422
    )
    assert (
        api.client.put(
            f"/api/v1/persons/{pid}/prototypes/999999", json={"pinned": True}
        ).status_code
        == 404
    )
    unpinned = api.client.put(
        f"/api/v1/persons/{pid}/prototypes/{worst}", json={"pinned": False}
    ).json()
    assert "pinned" not in {p["role"] for p in unpinned["prototypes"]}


def test_create_list_and_page_persons(api: ApiLibrary) -> None:
    created = api.post("/api/v1/persons", {"name": "Empty"}, expect=201)
    assert created["faceCount"] == 0 and created["prototypes"] == []
    name_largest_clusters(api, 3)
    page1 = api.get("/api/v1/persons", params={"pageSize": 2})
    page2 = api.get("/api/v1/persons", params={"pageSize": 2, "page": 2})
    page9 = api.get("/api/v1/persons", params={"pageSize": 2, "page": 9})
    assert page1["total"] == 4 and len(page1["items"]) == 2 and len(page2["items"]) == 2
    assert page9["items"] == []
    counts = [p["faceCount"] for p in page1["items"] + page2["items"]]
    assert counts == sorted(counts, reverse=True) and counts[-1] == 0
    assert api.client.get("/api/v1/persons", params={"page": 0}).status_code == 422
    assert api.client.get("/api/v1/persons/abc").status_code == 422


def test_a_cluster_emptied_by_assigning_its_faces_disappears(api: ApiLibrary) -> None:
    cluster = api.get("/api/v1/clusters")["items"][0]
    faces = [f["id"] for f in api.get(f"/api/v1/clusters/{cluster['id']}/faces")["items"]]
    api.post("/api/v1/faces/assign", {"faceIds": faces[:-1], "newPersonName": "Most"})
    assert api.get(f"/api/v1/clusters/{cluster['id']}/faces")["total"] == 1
    api.post("/api/v1/faces/assign", {"faceIds": faces[-1:], "newPersonName": "Last"})
    assert api.client.get(f"/api/v1/clusters/{cluster['id']}/faces").status_code == 404
    assert cluster["id"] not in {c["id"] for c in api.get("/api/v1/clusters")["items"]}


def _cluster_faces(api: ApiLibrary) -> dict[int, set[int]]:
    """cluster id -> its face ids, for every cluster GET /clusters lists."""
    clusters = api.get("/api/v1/clusters", params={"pageSize": 500})["items"]
    return {
        c["id"]: {
            f["id"]
            for f in api.get(f"/api/v1/clusters/{c['id']}/faces", params={"pageSize": 500})["items"]
        }
        for c in clusters
    }


def test_undoing_a_naming_with_regroup_brings_the_cluster_back(api: ApiLibrary) -> None:
    before = _cluster_faces(api)
    cluster = api.get("/api/v1/clusters")["items"][0]
    named = api.post(f"/api/v1/clusters/{cluster['id']}/name", {"name": "Undone"})
    face_ids = set(named["assignedFaceIds"])
    assert face_ids == before[cluster["id"]] and cluster["id"] not in _cluster_faces(api)

    undone = api.post("/api/v1/faces/unassign", {"faceIds": [*face_ids, 999999], "regroup": True})
    assert undone["processed"] == len(face_ids) and undone["failed"] == 1
    after = _cluster_faces(api)
    regrouped = [c for c, faces in after.items() if faces == face_ids]
    assert len(regrouped) == 1 and regrouped[0] not in before  # a new cluster, same faces
    assert {c: f for c, f in after.items() if c != regrouped[0]} == {
        c: f for c, f in before.items() if c != cluster["id"]
    }
    listed = next(c for c in api.get("/api/v1/clusters")["items"] if c["id"] == regrouped[0])
    assert listed["faceCount"] == len(face_ids)
    assert api.get(f"/api/v1/persons/{named['personId']}")["faceCount"] == 0
    with api.factory() as session:
        packs = set(session.scalars(select(Face.model_pack).where(Face.id.in_(face_ids))))
        cluster_row = session.get(Cluster, regrouped[0])
        assert cluster_row is not None and {cluster_row.model_pack} == packs
    # The regrouped cluster can be named again.
    again = api.post(f"/api/v1/clusters/{regrouped[0]}/name", {"personId": named["personId"]})
    assert set(again["assignedFaceIds"]) == face_ids


def test_unassign_without_regroup_leaves_the_faces_unclustered(api: ApiLibrary) -> None:
    cluster = api.get("/api/v1/clusters")["items"][0]
    named = api.post(f"/api/v1/clusters/{cluster['id']}/name", {"name": "Gone"})
    clusters_before = _cluster_faces(api)
    api.post("/api/v1/faces/unassign", {"faceIds": named["assignedFaceIds"]})
    assert _cluster_faces(api) == clusters_before
    for face_id in named["assignedFaceIds"]:
        face = api.get(f"/api/v1/faces/{face_id}")
        assert face["personId"] is None and face["clusterId"] is None
