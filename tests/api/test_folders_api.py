"""The folder tree (GET /api/v1/folders) and the folder filter of GET /api/v1/assets, on the
indexed people-small + group photos, plus synthetic paths for the edge cases (nested roots,
look-alike names, many subfolders) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert

from image_search.library.models import Asset
from image_search.library.repository import SEEK_SUBFOLDERS
from tests.api.conftest import ApiLibrary

FOLDERS = "/api/v1/folders"
PEOPLE = ("amy", "bernadette", "howard", "leonard", "penny", "raj", "sheldon", "stuart")


def _total(api: ApiLibrary, folder: str, recursive: bool | None = None) -> int:
    params: dict[str, Any] = {"folder": folder, "pageSize": 1}
    if recursive is not None:
        params["recursive"] = recursive
    return int(api.get("/api/v1/assets", params=params)["total"])


def _add_paths(api: ApiLibrary, root: str, paths: list[str]) -> None:
    with api.factory() as session:
        session.execute(
            insert(Asset),
            [
                {
                    "path": p,
                    "root": root,
                    "size": 1,
                    "mtime": 0.0,
                    "kind": "image",
                    "stage": "done",
                    "status": "done",
                    "attempts": 1,
                }
                for p in paths
            ],
        )
        session.commit()


def test_roots_are_the_indexed_folders_with_their_counts(api: ApiLibrary, faces_dir: Path) -> None:
    body = api.get(FOLDERS)
    assert body["parent"] is None
    group, people = body["folders"]
    assert people == {
        "path": str(faces_dir / "people-small"),
        "name": "people-small",
        "assetCount": 40,
        "directAssetCount": 0,
        "hasChildren": True,
    }
    group_files = len([p for p in (faces_dir / "group").iterdir() if p.is_file()])
    assert group["name"] == "group" and group["path"] == str(faces_dir / "group")
    assert group["assetCount"] == group["directAssetCount"] > 0
    assert group["assetCount"] == _total(api, group["path"]) <= group_files
    assert group["hasChildren"] is False


def test_subfolders_are_listed_by_name_and_match_the_asset_filter(
    api: ApiLibrary, faces_dir: Path
) -> None:
    parent = str(faces_dir / "people-small")
    body = api.get(FOLDERS, params={"parent": parent + "/"})  # a trailing slash is fine
    assert body["parent"] == parent
    assert [f["name"] for f in body["folders"]] == list(PEOPLE)
    for folder in body["folders"]:
        assert folder["path"] == f"{parent}/{folder['name']}"
        assert folder["assetCount"] == folder["directAssetCount"] == 5
        assert folder["hasChildren"] is False
        assert api.get(FOLDERS, params={"parent": folder["path"]})["folders"] == []
        assert _total(api, folder["path"], recursive=False) == 5

    assert _total(api, parent) == 40  # recursive by default, as before
    assert _total(api, parent, recursive=True) == 40
    assert _total(api, parent, recursive=False) == 0
    amy = api.get("/api/v1/assets", params={"folder": f"{parent}/amy", "recursive": False})
    assert sorted(Path(a["path"]).name for a in amy["items"]) == [
        f"amy{i}.png" for i in range(1, 6)
    ]


def test_unknown_and_look_alike_parents_are_404(api: ApiLibrary, faces_dir: Path) -> None:
    for parent in (
        "/nowhere",
        str(faces_dir / "no-faces"),  # exists on disk, not indexed
        str(faces_dir / "people-small" / "am"),  # a prefix of amy, not a folder
        str(faces_dir / "People-Small"),  # paths are case-sensitive, on SQLite too
        str(faces_dir / "people-small" / "amy" / "amy1.png"),  # a file
    ):
        response = api.client.get(FOLDERS, params={"parent": parent})
        assert response.status_code == 404, parent
        assert response.json()["error"]["code"] == "not_found"
    assert _total(api, str(faces_dir / "People-Small")) == 0
    relative = api.client.get(FOLDERS, params={"parent": "people-small"})
    assert relative.status_code == 422
    assert relative.json()["error"]["code"] == "invalid_input"


def test_edge_case_paths(api: ApiLibrary) -> None:
    root = "/lib/Photos"
    names = ["a", "a b", "a.b", "a0", "a_%", "Été", "b"]
    paths = [f"{root}/{n}/x.jpg" for n in names]
    paths += [f"{root}/a/deep/er/y.jpg", f"{root}/a/z.jpg", f"{root}/top.jpg", "/lib/Photos0/n.jpg"]
    _add_paths(api, root, paths)
    _add_paths(api, "/lib/Photos/a/deep", ["/lib/Photos/a/deep/w.jpg"])  # a root inside a root

    roots = {f["path"]: f for f in api.get(FOLDERS)["folders"]}
    assert "/lib/Photos/a/deep" not in roots  # shown inside /lib/Photos instead
    assert roots[root]["assetCount"] == 11  # not /lib/Photos0/n.jpg: another folder
    assert roots[root]["directAssetCount"] == 1 and roots[root]["hasChildren"] is True

    listed = api.get(FOLDERS, params={"parent": root})["folders"]
    assert [f["name"] for f in listed] == ["a", "a b", "a.b", "a0", "a_%", "b", "Été"]
    a = listed[0]
    assert (a["assetCount"], a["directAssetCount"], a["hasChildren"]) == (4, 2, True)
    deep = api.get(FOLDERS, params={"parent": f"{root}/a"})["folders"]
    assert [(f["name"], f["assetCount"], f["directAssetCount"]) for f in deep] == [("deep", 2, 1)]
    assert _total(api, f"{root}/a_%") == 1 and _total(api, f"{root}/a") == 4
    assert _total(api, root, recursive=False) == 1


def test_many_subfolders(api: ApiLibrary) -> None:
    root = "/lib/days"
    count = SEEK_SUBFOLDERS + 37  # past the index seeks, the rest is grouped in one scan
    paths = [f"{root}/{d:04d}/{i}.jpg" for d in range(count) for i in range(d % 3 + 1)]
    paths += [f"{root}/{d:04d}/sub/s.jpg" for d in range(0, count, 10)]
    _add_paths(api, root, paths)
    listed = api.get(FOLDERS, params={"parent": root})["folders"]
    assert [f["name"] for f in listed] == [f"{d:04d}" for d in range(count)]
    for d, folder in enumerate(listed):
        has_sub = d % 10 == 0
        assert folder["directAssetCount"] == d % 3 + 1, folder
        assert folder["assetCount"] == d % 3 + 1 + has_sub, folder
        assert folder["hasChildren"] is has_sub
