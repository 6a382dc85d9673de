"""GET /api/v1/search on the real indexed library (people-small + group photos), on SQLite and
PostgreSQL: several people (all of them / any), every filter alone and combined, name search
over nested names, and clear 4xx errors for bad queries."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from image_search.faces.models import Face
from image_search.library.models import Asset
from tests.api.conftest import ApiLibrary
from tests.api.helpers import name_largest_clusters


def _ids(api: ApiLibrary, **params: Any) -> set[int]:
    """Every asset id the search returns (all pages), checking total and page sizes agree."""
    found: list[int] = []
    page = 1
    while True:
        body = api.get("/api/v1/search", params={**params, "page": page, "pageSize": 7})
        found.extend(item["id"] for item in body["items"])
        if len(body["items"]) < 7:
            break
        page += 1
    assert len(found) == len(set(found)) == body["total"], (found, body["total"])
    return set(found)


def _persons_per_asset(api: ApiLibrary) -> dict[int, set[int]]:
    """asset id -> the persons of its faces, straight from the faces table."""
    owners: dict[int, set[int]] = defaultdict(set)
    with api.factory() as session:
        for asset_id, person_id in session.execute(select(Face.asset_id, Face.person_id)):
            if person_id is not None:
                owners[asset_id].add(person_id)
    return owners


def _paths(api: ApiLibrary, ids: set[int]) -> set[str]:
    with api.factory() as session:
        return set(session.scalars(select(Asset.path).where(Asset.id.in_(ids))))


@pytest.fixture
def named(api: ApiLibrary) -> ApiLibrary:
    name_largest_clusters(api, 8)
    return api


def test_several_people_all_of_them_and_any_of_them(named: ApiLibrary) -> None:
    api = named
    owners = _persons_per_asset(api)
    persons = sorted({p for ps in owners.values() for p in ps})
    assert len(persons) >= 6
    # The pair seen together most often (the group photos show the people-small people).
    pair = max(
        itertools.combinations(persons, 2),
        key=lambda ab: sum(set(ab) <= ps for ps in owners.values()),
    )
    both = {a for a, ps in owners.items() if set(pair) <= ps}
    either = {a for a, ps in owners.items() if set(pair) & ps}
    assert both, "no photo shows two named people together"
    assert all("/group/" in p for p in _paths(api, both))  # people-small photos show one person

    params = {"personId": list(pair)}
    assert _ids(api, **params) == both
    assert _ids(api, **params, personMode="any") == either
    assert both < either

    trio = max(
        itertools.combinations(persons, 3),
        key=lambda abc: sum(set(abc) <= ps for ps in owners.values()),
    )
    all_three = {a for a, ps in owners.items() if set(trio) <= ps}
    assert _ids(api, personId=list(trio)) == all_three
    assert all_three <= _ids(api, personId=list(trio[:2]))


def test_every_filter_narrows_and_they_combine(named: ApiLibrary) -> None:
    api = named
    with api.factory() as session:
        rows = session.execute(select(Asset.id, Asset.path).order_by(Asset.id)).all()
    every = {r.id for r in rows}
    group = {r.id for r in rows if "/group/" in r.path}
    people = every - group
    # Give the photos capture dates, cameras and places (the shared photos carry none).
    with api.factory.begin() as session:
        for index, row in enumerate(rows):
            session.execute(
                update(Asset)
                .where(Asset.id == row.id)
                .values(
                    taken_at=datetime(2018 + index % 4, 1 + index % 12, 10, 12, 0),
                    camera_make="Canon" if index % 3 == 0 else "FUJIFILM",
                    camera_model="EOS R6" if index % 3 == 0 else "X-T4",
                    # Odd photos in Paris (2.35 E, 48.86 N); every fourth 40 km east.
                    gps_latitude=48.86 if index % 2 else None,
                    gps_longitude=(2.35 + (0.545 if index % 4 == 1 else 0)) if index % 2 else None,
                )
            )
    with api.factory() as session:
        meta = {a.id: a for a in session.scalars(select(Asset))}
        for asset in meta.values():
            session.expunge(asset)
    in_2019 = {i for i, a in meta.items() if a.taken_at and a.taken_at.year == 2019}
    canon = {i for i, a in meta.items() if a.camera_make == "Canon"}
    paris_box = {i for i, a in meta.items() if a.gps_longitude is not None}
    near_centre = {i for i, a in meta.items() if a.gps_longitude == 2.35}
    unnamed = {
        a for (a,) in api.factory().execute(select(Face.asset_id).where(Face.person_id.is_(None)))
    }

    assert _ids(api) == every
    assert _ids(api, **{"from": "2019-01-01", "to": "2019-12-31"}) == in_2019
    assert _ids(api, cameraMake="canon") == canon
    assert _ids(api, cameraMake="Canon", cameraModel="EOS R6") == canon
    assert _ids(api, cameraModel="X-T4") == every - canon
    box = {"south": 48.0, "west": 2.0, "north": 49.5, "east": 3.5}
    assert _ids(api, **box) == paris_box
    # 40 km east of the centre: outside a 20 km radius, inside a 60 km one.
    assert _ids(api, latitude=48.86, longitude=2.35, radiusKm=20) == near_centre
    assert _ids(api, latitude=48.86, longitude=2.35, radiusKm=60) == paris_box
    group_folder = next(r.path for r in rows if "/group/" in r.path).rsplit("/", 1)[0]
    assert _ids(api, folder=group_folder) == group
    root = group_folder.rsplit("/", 1)[0]
    assert _ids(api, folder=root) == every
    assert _ids(api, folder=root, recursive=False) == set()
    assert _ids(api, kind="image") == every and _ids(api, kind="video") == set()
    assert _ids(api, hasUnnamedFaces=True) == unnamed
    assert _ids(api, hasUnnamedFaces=False) == every - unnamed

    owners = _persons_per_asset(api)
    person = max(
        {p for ps in owners.values() for p in ps},
        key=lambda p: sum(p in ps for ps in owners.values()),
    )
    with_person = {a for a, ps in owners.items() if person in ps}
    combined = _ids(
        api,
        personId=person,
        **{"from": "2018-01-01", "to": "2020-12-31"},
        cameraMake="FUJIFILM",
        **box,
    )
    in_range = {i for i, a in meta.items() if a.taken_at and a.taken_at.year <= 2020}
    expected = with_person & in_range & (every - canon) & paris_box
    assert combined == expected
    assert _ids(api, personId=person, folder=group_folder) == with_person & group
    assert people  # the people-small folder took part too


def test_bad_queries_get_clear_errors(api: ApiLibrary) -> None:
    def error(status: int, **params: Any) -> str:
        answer = api.client.get("/api/v1/search", params=params)
        assert answer.status_code == status, answer.text
        return str(answer.json()["error"]["message"])

    assert "999999" in error(404, personId=999999)
    assert "inverted" in error(422, **{"from": "2021-01-01", "to": "2020-01-01"})
    assert "not a date" in error(422, **{"from": "yesterday"})
    assert "empty" in error(422, q="   ")
    assert "south, west, north and east" in error(422, south=1, north=2)
    assert "radius" in error(422, latitude=48.0, longitude=2.0, radiusKm=-5)
    assert "latitude" in error(422, south=-100, west=0, north=0, east=1)
    assert "either a text or similarTo" in error(422, q="beach", similarTo=1)
    assert "absolute" in error(422, folder="photos/2020")
    # The library's settings switch CLIP off; the real model's files are absent here.
    assert "switched off" in error(503, q="a beach")


def test_text_search_with_missing_model_files_names_them(api: ApiLibrary) -> None:
    from fastapi.testclient import TestClient

    from image_search.api.app import create_app
    from image_search.ml.clip.registry import VIT_B_32_OPENAI

    settings = api.settings.model_copy(update={"clip_model": VIT_B_32_OPENAI.name})
    with TestClient(create_app(settings)) as client:
        answer = client.get("/api/v1/search", params={"q": "a beach"})
    assert answer.status_code == 503
    assert VIT_B_32_OPENAI.visual.filename in answer.json()["error"]["message"]


def test_name_search_handles_nested_names_accents_and_exact_first(api: ApiLibrary) -> None:
    made = {
        name: api.post("/api/v1/persons", {"name": name}, expect=201)
        for name in (
            "Family/Smith/Anna",
            "Family / Smith / John",
            "Ann",
            "Annabel Lee",
            "Jean-Pierre",
            "Jean",
            "Zoé Ångström",
            "Work/Zoe",
        )
    }
    assert made["Family / Smith / John"]["name"] == "Family/Smith/John"
    assert made["Family/Smith/Anna"]["shownName"] == "Anna"

    def found(query: str) -> list[str]:
        items = api.get("/api/v1/persons", params={"search": query, "pageSize": 50})["items"]
        return [p["name"] for p in items]

    assert set(found("Smith")) == {"Family/Smith/Anna", "Family/Smith/John"}
    assert found("Anna")[0] == "Family/Smith/Anna"
    assert found("ann")[0] == "Ann" and set(found("ann")) >= {"Family/Smith/Anna", "Annabel Lee"}
    assert found("Jean") == ["Jean", "Jean-Pierre"]
    assert found("smith/anna") == ["Family/Smith/Anna"]
    assert found("zoe")[0] == "Work/Zoe" and "Zoé Ångström" in found("zoe")
    assert found("ANGSTROM") == ["Zoé Ångström"]
    assert found("nobody-like-this") == []
    anna = made["Family/Smith/Anna"]["id"]
    renamed = api.client.patch(f"/api/v1/persons/{anna}", json={"displayName": "Granny"})
    assert renamed.status_code == 200 and renamed.json()["shownName"] == "Granny"
    assert found("granny") == ["Family/Smith/Anna"]
    bad = api.client.post("/api/v1/persons", json={"name": "Family//Anna"})
    assert bad.status_code == 422
