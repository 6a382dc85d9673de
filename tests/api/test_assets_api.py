"""Assets, images, face crops, status, jobs and the OpenAPI document through the API."""

from __future__ import annotations

import base64
from io import BytesIO
from pathlib import Path

from PIL import Image

from tests.api.conftest import ApiLibrary
from tests.api.helpers import name_largest_clusters


def test_asset_list_pages_and_filters(api: ApiLibrary, faces_dir: Path) -> None:
    everything = api.get("/api/v1/assets", params={"pageSize": 500})
    total = everything["total"]
    assert total == len(everything["items"]) > 40
    first = api.get("/api/v1/assets", params={"pageSize": 10})
    second = api.get("/api/v1/assets", params={"pageSize": 10, "page": 2})
    assert {a["id"] for a in first["items"]}.isdisjoint({a["id"] for a in second["items"]})
    assert api.get("/api/v1/assets", params={"page": 999})["items"] == []

    folder = str((faces_dir / "people-small" / "raj").resolve())
    raj = api.get("/api/v1/assets", params={"folder": folder})
    assert raj["total"] == 5 and all(a["path"].startswith(folder + "/") for a in raj["items"])
    group = api.get(
        "/api/v1/assets", params={"folder": str(faces_dir / "group"), "hasFaces": "true"}
    )
    assert group["total"] > 0 and all(a["faceCount"] > 0 for a in group["items"])
    assert api.get("/api/v1/assets", params={"kind": "video"})["total"] == 0
    assert api.get("/api/v1/assets", params={"status": "done"})["total"] == total

    (named,) = name_largest_clusters(api, 1)
    person_assets = api.get("/api/v1/assets", params={"personId": named["personId"]})
    assert 0 < person_assets["total"] <= named["facesAssigned"]
    for asset in person_assets["items"]:
        detail = api.get(f"/api/v1/assets/{asset['id']}")
        assert named["personId"] in {f["personId"] for f in detail["faces"]}

    for params in ({"page": 0}, {"pageSize": 501}, {"kind": "audio"}, {"takenAfter": "yesterday"}):
        response = api.client.get("/api/v1/assets", params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "validation_error"


def test_asset_detail_images_and_crops(api: ApiLibrary, faces_dir: Path) -> None:
    folder = str((faces_dir / "group").resolve())
    asset = max(
        api.get("/api/v1/assets", params={"folder": folder})["items"],
        key=lambda a: a["faceCount"],
    )
    detail = api.get(f"/api/v1/assets/{asset['id']}")
    assert len(detail["faces"]) == asset["faceCount"] >= 2
    for face in detail["faces"]:
        assert 0 <= face["bboxX"] < detail["width"] and 0 <= face["bboxY"] < detail["height"]
        assert len(face["landmarks"]) == 5

    thumb = api.client.get(detail["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert max(Image.open(BytesIO(thumb.content)).size) <= 250
    preview = api.client.get(detail["thumbnailUrl"], params={"size": "preview"})
    assert preview.headers["content-type"] == "image/jpeg"
    full = api.client.get(detail["fullImageUrl"])
    assert full.status_code == 200
    assert full.content == Path(detail["path"]).read_bytes()
    crop = api.client.get(detail["faces"][0]["faceCropUrl"])
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert Image.open(BytesIO(crop.content)).size[0] > 10

    for url in (
        "/api/v1/assets/999999",
        "/api/v1/images/999999/thumbnail",
        "/api/v1/images/999999/full",
        "/api/v1/faces/999999/crop",
        "/api/v1/faces/999999",
    ):
        response = api.client.get(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert api.client.get(detail["thumbnailUrl"], params={"size": "huge"}).status_code == 422


def test_batch_thumbnails(api: ApiLibrary) -> None:
    ids = [a["id"] for a in api.get("/api/v1/assets", params={"pageSize": 3})["items"]]
    batch = api.post("/api/v1/images/thumbnails/batch", {"assetIds": [*ids, 999999]})
    assert batch["found"] == 3 and batch["notFound"] == 1
    assert batch["thumbnails"]["999999"] is None
    for asset_id in ids:
        uri = batch["thumbnails"][str(asset_id)]
        assert uri.startswith("data:image/webp;base64,")
        direct = api.client.get(f"/api/v1/images/{asset_id}/thumbnail").content
        assert base64.b64decode(uri.split(",", 1)[1]) == direct
    for body in ({"assetIds": []}, {"assetIds": list(range(201))}, {}):
        assert api.client.post("/api/v1/images/thumbnails/batch", json=body).status_code == 422


def test_status_and_unknown_routes(api: ApiLibrary) -> None:
    status = api.get("/api/v1/status")
    assert status["faces"] > 100 and status["assetsByStatus"]["image"]["done"] > 40
    assert status["failures"] == []
    missing = api.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = api.client.delete("/api/v1/status")
    assert wrong_method.status_code == 405


def test_openapi_documents_the_contract(api: ApiLibrary) -> None:
    spec = api.get("/openapi.json")
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/faces/suggestions", "get"),
        ("/api/v1/faces/suggestions/{suggestion_id}/accept", "post"),
        ("/api/v1/faces/suggestions/{suggestion_id}/reject", "post"),
        ("/api/v1/faces/suggestions/bulk-action", "post"),
        ("/api/v1/faces/suggestions/persons/{person_id}/find-more", "post"),
        ("/api/v1/faces/suggestions/persons/{person_id}/find-more-centroid", "post"),
        ("/api/v1/faces/suggestions/persons/{person_id}/find-more-events", "get"),
        ("/api/v1/faces/suggestions/settings", "get"),
        ("/api/v1/faces/suggestions/settings", "put"),
        ("/api/v1/images/thumbnails/batch", "post"),
        ("/api/v1/images/{asset_id}/thumbnail", "get"),
        ("/api/v1/images/{asset_id}/full", "get"),
        ("/api/v1/persons", "get"),
        ("/api/v1/clusters/{cluster_id}/name", "post"),
        ("/api/v1/faces/assign", "post"),
        ("/api/v1/faces/unassign", "post"),
        ("/api/v1/assets", "get"),
        ("/api/v1/status", "get"),
    ]:
        operation = paths[path][method]
        assert operation.get("description") or operation.get("summary"), path
    grouped = spec["components"]["schemas"]["GroupedSuggestionsResponse"]["properties"]
    assert {"groups", "totalGroups", "totalSuggestions", "page", "groupsPerPage"} <= grouped.keys()
    bulk = spec["components"]["schemas"]["BulkActionRequest"]["properties"]
    assert {"suggestionIds", "action", "autoFindMore", "findMorePrototypeCount"} <= bulk.keys()
