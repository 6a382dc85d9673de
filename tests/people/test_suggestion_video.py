"""Suggestions of faces found in videos carry the face's time in the video (``videoTimestamp``,
what the review page's play button needs), null for photos; the narrow face reads of the
review pages stay covered by ``ix_faces_review``. A real library: four clips of one actor
(LivePortrait driving videos) and photos of two people, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from image_search.api.app import create_app
from image_search.db.engine import make_engine, make_session_factory
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from image_search.people.suggestion_repository import SuggestionRepository
from image_search.people.suggestions import SuggestionService
from tests.api.conftest import ApiLibrary, _pg_url, pg_server  # noqa: F401 (fixture by name)
from tests.api.helpers import run_assignment, set_thresholds
from tests.conftest import link_tree, make_settings

SUGGESTIONS = "/api/v1/faces/suggestions"
CLIPS = [f"liveportrait_driving_{n}.mp4" for n in ("d0", "d12", "d13", "d9")]  # one actor
PACK = "yunet-dlib"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def library(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    video_dir: Path,
    faces_dir: Path,
    models_dir: Path,
) -> Iterator[ApiLibrary]:
    """The clips and photos indexed, the face of the first clip named "Actor" and the first
    photo of penny named "Penny", then assignment run with suggestions only (no auto-assign)."""
    base = tmp_path_factory.mktemp(f"suggestion-video-{request.param}")
    people = faces_dir / "people-small"
    root = link_tree(
        base / "library",
        {
            "videos": [video_dir / "faces" / clip for clip in CLIPS],
            "photos": sorted((people / "penny").glob("*.png"))[:3]
            + sorted((people / "raj").glob("*.png"))[:3],
        },
    )
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        server.psql("CREATE DATABASE suggestion_video;")
        overrides["database_url"] = _pg_url(server, "suggestion_video")
    settings = make_settings(base / "data", models_dir, **overrides)
    service = IndexService(settings)
    service.index([root])
    service.factory.kw["bind"].dispose()
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    with TestClient(create_app(settings)) as client:
        api = ApiLibrary(client, factory, settings, request.param)
        faces = _faces_by_file(api)
        for file, name in ((CLIPS[0], "Actor"), ("penny1.png", "Penny")):
            api.post("/api/v1/faces/assign", {"faceIds": [faces[file][0]], "newPersonName": name})
        set_thresholds(api, auto=1.0, suggest=0.5)
        job = run_assignment(api)
        assert job["result"]["autoAssigned"] == 0
        yield api
    engine.dispose()


def _faces_by_file(api: ApiLibrary) -> dict[str, list[int]]:
    """File name -> its face ids."""
    found: dict[str, list[int]] = {}
    with api.factory() as session:
        for face_id, path in session.execute(
            select(Face.id, Asset.path).join(Asset, Asset.id == Face.asset_id).order_by(Face.id)
        ):
            found.setdefault(Path(path).name, []).append(face_id)
    return found


def _timestamps(api: ApiLibrary) -> dict[int, float | None]:
    """Face id -> its video timestamp in the database."""
    with api.factory() as session:
        return {f: t for f, t in session.execute(select(Face.id, Face.video_timestamp))}


def test_suggestions_carry_the_video_time_of_their_face(library: ApiLibrary) -> None:
    times = _timestamps(library)
    files = {f: name for name, ids in _faces_by_file(library).items() for f in ids}
    grouped = library.get(SUGGESTIONS, params={"grouped": "true"})
    shown = [s for g in grouped["groups"] for s in g["suggestions"]]
    flat = library.get(SUGGESTIONS, params={"status": "pending", "pageSize": 200})["items"]
    assert {s["id"] for s in shown} == {s["id"] for s in flat}
    by_name = {g["personName"]: g["suggestions"] for g in grouped["groups"]}
    # The actor's other clips are suggested for "Actor", penny's other photos for "Penny".
    actor = {files[s["faceInstanceId"]] for s in by_name["Actor"]}
    assert actor & set(CLIPS[1:])
    assert {"penny2.png", "penny3.png"} & {files[s["faceInstanceId"]] for s in by_name["Penny"]}
    for suggestion in [*shown, *flat]:
        face = suggestion["faceInstanceId"]
        assert "videoTimestamp" in suggestion
        assert suggestion["videoTimestamp"] == times[face]
        if files[face].endswith(".mp4"):
            assert isinstance(suggestion["videoTimestamp"], float)
            # the play button's request: the clip around the face
            snippet = library.get(f"/api/v1/faces/{face}/snippet")
            assert snippet["timestamp"] == suggestion["videoTimestamp"]
        else:
            assert suggestion["videoTimestamp"] is None
    video = next(s for s in flat if s["videoTimestamp"] is not None)
    photo = next(s for s in flat if s["videoTimestamp"] is None)
    for one in (video, photo):
        assert library.get(f"{SUGGESTIONS}/{one['id']}")["videoTimestamp"] == one["videoTimestamp"]
    accepted = library.post(f"{SUGGESTIONS}/{video['id']}/accept")
    assert accepted["videoTimestamp"] == video["videoTimestamp"]


def _face_reads(engine: Engine, session: Session) -> list[tuple[str, Any]]:
    """The statements the review pages read face columns with (the grouped page, the flat
    list, one suggestion and the joined review rows), as run on this database."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "faces.video_timestamp" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        service = SuggestionService(session, PACK)
        views = service.grouped(status=None)
        ids = [v.suggestion.id for g in views.groups for v in g.suggestions]
        service.flat(status=None)
        service.view(ids[0])
        SuggestionRepository(session).review_rows(ids)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def test_review_face_reads_stay_covered_by_the_review_index(library: ApiLibrary) -> None:
    """Every face column the review pages read (video time included) is in ix_faces_review,
    so reads through it never touch the wide face rows (embeddings). On SQLite, with the
    index named (the planner itself prefers rowid lookups by id): COVERING INDEX, where a
    missing column would show a plain INDEX. On PostgreSQL, the plans of the real
    statements with sequential and bitmap scans off: index-only scans of it."""
    engine = library.factory.kw["bind"]
    with library.factory() as session:
        reads = _face_reads(engine, session)
        # The narrow face read of _views and the joined read of review rows.
        assert any(re.search(r"\bFROM faces\b", s) for s, _ in reads)
        assert any(re.search(r"\bJOIN faces\b", s) for s, _ in reads)
        connection = session.connection()
        if library.backend == "sqlite":
            for statement, params in reads:
                forced = re.sub(
                    r"\b(FROM|JOIN) faces\b", r"\1 faces INDEXED BY ix_faces_review", statement
                )
                plan = [
                    row[3]
                    for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {forced}", params)
                ]
                on_faces = [step for step in plan if re.search(r"\bfaces\b", step)]
                assert on_faces, plan
                for step in on_faces:
                    assert "USING COVERING INDEX ix_faces_review" in step, plan
        else:
            with engine.connect() as vacuum:  # pages all-visible: index-only scans pay off
                vacuum.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE faces"
                )
            for setting in ("enable_seqscan", "enable_bitmapscan"):
                connection.exec_driver_sql(f"SET LOCAL {setting} = off")
            for statement, params in reads:
                plan = [
                    row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", params)
                ]
                on_faces = [step for step in plan if re.search(r"\bon faces\b", step)]
                assert on_faces, plan
                for step in on_faces:
                    assert "Index Only Scan using ix_faces_review on faces" in step, plan
        session.rollback()
