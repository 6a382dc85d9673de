"""The people commands (cli_people.py) on a real library: people-small and group indexed once;
each test works on its own copy of the database (the data dir stays shared) and checks what
the commands did in the database, not only what they printed."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from image_search.cli import app
from image_search.cli_people import app as people_app
from image_search.config import get_settings
from image_search.db.engine import make_engine, make_session_factory, session_scope
from image_search.faces.models import Cluster, Face, ModelPackSettings
from image_search.faces.pack_settings import PACK_DEFAULTS
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from image_search.people.models import (
    FaceRejection,
    FaceSuggestion,
    Person,
    PersonPrototype,
    SuggestionStatus,
)
from tests.conftest import make_settings

PACK = "yunet-dlib"
runner = CliRunner()


@dataclass
class Indexed:
    data_dir: Path
    database: Path


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, models_dir: Path) -> Indexed:
    """people-small (8 people x 5) and the group photos, indexed and clustered once."""
    data_dir = tmp_path_factory.mktemp("cli-people") / "data"
    service = IndexService(make_settings(data_dir, models_dir, model_pack=PACK))
    summary = service.index([faces_dir / "people-small", faces_dir / "group"])
    assert summary.pipeline.failed == 0 and summary.clustering.clusters >= 8
    service.factory.kw["bind"].dispose()
    database = data_dir / "image-search.db"
    with sqlite3.connect(database) as connection:  # everything in the main file: copyable
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Indexed(data_dir, database)


@dataclass
class Library:
    factory: sessionmaker[Session]

    def run(self, *args: object, input: str | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], input=input)

    def ok(self, *args: object) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    def scalar(self, query: Any) -> Any:
        with session_scope(self.factory) as session:
            return session.scalar(query)

    def rows(self, query: Any) -> list[Any]:
        with session_scope(self.factory) as session:
            return list(session.execute(query).all())

    def cluster_of(self, person: str) -> int:
        """The cluster holding most of a people-small person's faces."""
        return int(
            self.scalar(
                select(Face.cluster_id)
                .join(Asset, Asset.id == Face.asset_id)
                .where(Asset.path.contains(f"/people-small/{person}/"), Face.cluster_id.isnot(None))
                .group_by(Face.cluster_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        )

    def cluster_faces(self, cluster_id: int) -> list[int]:
        return [r[0] for r in self.rows(select(Face.id).where(Face.cluster_id == cluster_id))]

    def person_faces(self, person_id: int) -> set[int]:
        return {r[0] for r in self.rows(select(Face.id).where(Face.person_id == person_id))}

    def unassigned(self) -> set[int]:
        return {r[0] for r in self.rows(select(Face.id).where(Face.person_id.is_(None)))}

    def person_id(self, name: str) -> int:
        return int(self.scalar(select(Person.id).where(Person.name == name)))

    def persons(self) -> int:
        return int(self.scalar(select(func.count(Person.id))))

    def name(self, person: str, name: str) -> int:
        self.ok("name", self.cluster_of(person), name)
        return self.person_id(name)

    def suggestions(self, **where: Any) -> list[FaceSuggestion]:
        with session_scope(self.factory) as session:
            query = select(FaceSuggestion).filter_by(**where).order_by(FaceSuggestion.id)
            return list(session.scalars(query))

    def rejected(self, face_id: int, person_id: int) -> bool:
        return (
            self.scalar(
                select(func.count())
                .select_from(FaceRejection)
                .where(FaceRejection.face_id == face_id, FaceRejection.person_id == person_id)
            )
            == 1
        )


@pytest.fixture
def lib(
    indexed: Indexed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir: Path
) -> Iterator[Library]:
    """A private copy of the indexed database behind the CLI's settings."""
    database = tmp_path / "library.db"
    shutil.copyfile(indexed.database, database)
    url = f"sqlite:///{database}"
    monkeypatch.setenv("IMAGE_SEARCH_DATA_DIR", str(indexed.data_dir))
    monkeypatch.setenv("IMAGE_SEARCH_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("IMAGE_SEARCH_DATABASE_URL", url)
    monkeypatch.setenv("IMAGE_SEARCH_MODEL_PACK", PACK)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    engine = make_engine(url)
    yield Library(make_session_factory(engine))
    engine.dispose()
    get_settings.cache_clear()


def test_every_people_command_has_help() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    names = {c.name for c in people_app.registered_commands}
    assert {"people", "name", "suggest", "suggestions", "find-more", "thresholds"} <= names
    for name in names:
        assert name in commands, name  # flat: image-search <command>
        assert (commands[name].help or "").strip(), name


def test_name_cluster_new_person_join_and_bad_input(lib: Library) -> None:
    assert "No persons" in lib.ok("people")
    amy_cluster, raj_cluster = lib.cluster_of("amy"), lib.cluster_of("raj")
    amy_faces = lib.cluster_faces(amy_cluster)

    out = lib.ok("name", amy_cluster, "Amy")
    amy = lib.person_id("Amy")
    assert f"Amy (person {amy}) (new): {len(amy_faces)} faces assigned" in out
    assert lib.person_faces(amy) == set(amy_faces)
    assert (
        lib.scalar(select(func.count()).select_from(Cluster).where(Cluster.id == amy_cluster)) == 0
    )
    assert {r[0] for r in lib.rows(select(Face.assigned_by).where(Face.person_id == amy))} == {
        "cluster"
    }

    # bad input: exit 2, nothing changed
    raj_faces = lib.cluster_faces(raj_cluster)
    for args in (
        ("name", 999999, "Nobody"),  # no such cluster
        ("name", raj_cluster),  # neither name nor person
        ("name", raj_cluster, "Raj", "--person", amy),  # both
        ("name", raj_cluster, "--person", 999999),  # no such person
        ("name", raj_cluster, "   "),  # empty name
    ):
        result = lib.run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "error" in result.stderr.lower() or "Usage" in result.output
    assert lib.persons() == 1
    assert lib.cluster_faces(raj_cluster) == raj_faces
    assert lib.person_faces(amy) == set(amy_faces)

    # an existing name (any case) joins that person; --exclude leaves a face out
    left_out = raj_faces[0]
    out = lib.ok("name", raj_cluster, "aMY", "--exclude", left_out)
    assert "(new)" not in out and "1 left unassigned" in out
    assert lib.persons() == 1
    assert lib.person_faces(amy) == set(amy_faces) | set(raj_faces[1:])
    assert left_out in lib.unassigned()

    listed = lib.ok("people")
    assert "Amy" in listed and str(len(amy_faces) + len(raj_faces) - 1) in listed
    detail = lib.ok("person", amy, "--faces")
    assert "auto prototypes" in detail and f"centroid from {len(lib.person_faces(amy))}" in detail
    assert "people-small/amy/amy1.png" in detail


def test_person_edits(lib: Library) -> None:
    amy, penny = lib.name("amy", "Amy"), lib.name("penny", "Penny")
    assert lib.persons() == 2

    lib.ok("rename", amy, "Amy Farrah Fowler")
    assert lib.run("rename", amy, "  ").exit_code == 2
    assert lib.run("rename", 999999, "X").exit_code == 2
    assert lib.scalar(select(Person.name).where(Person.id == amy)) == "Amy Farrah Fowler"

    lib.ok("hide", amy)
    assert "Amy" not in lib.ok("people") and "Penny" in lib.ok("people")
    assert "Amy Farrah Fowler" in lib.ok("people", "--hidden", "--search", "farrah")
    lib.ok("show", amy)
    assert lib.scalar(select(Person.hidden).where(Person.id == amy)) is False

    lib.ok("birth-date", amy, "1979-12-17")
    for args in (("2999-01-01",), ("1979-13-01",), (), ("1979-12-17", "--clear")):
        result = lib.run("birth-date", amy, *args)
        assert result.exit_code == 2, (args, result.output)
    assert str(lib.scalar(select(Person.birth_date).where(Person.id == amy))) == "1979-12-17"
    assert "1979-12-17" in lib.ok("people")
    lib.ok("birth-date", amy, "--clear")
    assert lib.scalar(select(Person.birth_date).where(Person.id == amy)) is None

    amy_face, penny_face = min(lib.person_faces(amy)), min(lib.person_faces(penny))
    lib.ok("cover", amy, amy_face)
    assert lib.run("cover", amy, penny_face).exit_code == 2  # not one of Amy's faces
    assert lib.scalar(select(Person.cover_face_id).where(Person.id == amy)) == amy_face

    def pinned() -> set[int]:
        return {
            r[0]
            for r in lib.rows(
                select(PersonPrototype.face_id).where(
                    PersonPrototype.person_id == amy, PersonPrototype.role == "pinned"
                )
            )
        }

    assert f"pinned prototypes (1): {amy_face}" in lib.ok("pin", amy, amy_face)
    assert pinned() == {amy_face}
    assert lib.run("pin", amy, penny_face).exit_code == 2
    assert lib.run("pin", amy, 999999).exit_code == 2
    lib.ok("pin", amy, amy_face, "--unpin")
    assert pinned() == set()

    faces = lib.person_faces(amy)
    declined = lib.run("delete-person", amy, input="n\n")
    assert declined.exit_code == 1 and lib.persons() == 2
    assert lib.run("delete-person", 999999, "--yes").exit_code == 2
    out = lib.ok("delete-person", amy, "--yes")
    assert f"{len(faces)} faces are unassigned" in out
    assert lib.persons() == 1 and faces <= lib.unassigned()


def test_merge_assign_unassign(lib: Library) -> None:
    amy, penny = lib.name("amy", "Amy"), lib.name("penny", "Penny")
    amy_faces, penny_faces = lib.person_faces(amy), lib.person_faces(penny)

    for args in (("merge", amy, "--into", amy), ("merge", 999999, "--into", amy)):
        assert lib.run(*args).exit_code == 2, args
    assert lib.persons() == 2 and lib.person_faces(amy) == amy_faces

    out = lib.ok("merge", penny, "--into", amy)
    assert f"{len(amy_faces) + len(penny_faces)} faces" in out
    assert lib.persons() == 1 and lib.person_faces(amy) == amy_faces | penny_faces

    first, second, third = sorted(penny_faces)[:3]
    out = lib.ok("assign", first, second, "--new", "Penny")
    penny = lib.person_id("Penny")
    assert lib.person_faces(penny) == {first, second}
    assert f"face {first}: assigned" in out

    result = lib.run("assign", third, 999999, "--person", penny)  # one unknown face
    assert result.exit_code == 1
    assert "face 999999: not_found" in result.stdout and f"face {third}: assigned" in result.stdout
    assert lib.person_faces(penny) == {first, second, third}

    for args in (
        ("assign", first),  # neither --person nor --new
        ("assign", first, "--person", amy, "--new", "X"),
        ("assign", first, "--person", 999999),
    ):
        assert lib.run(*args).exit_code == 2, args
    assert lib.person_faces(penny) == {first, second, third} and lib.persons() == 2

    loose = min(lib.unassigned())
    result = lib.run("unassign", first, loose)  # the second face has no person
    assert result.exit_code == 1 and f"face {loose}: conflict" in result.stdout
    assert first in lib.unassigned() and not lib.rejected(first, penny)


def test_not_this_person_is_never_suggested_or_assigned_again(lib: Library) -> None:
    amy = lib.name("amy", "Amy")
    face = min(lib.person_faces(amy))
    out = lib.ok("unassign", face, "--not-this-person")
    assert f"face {face}: unassigned" in out
    assert lib.rejected(face, amy) and face in lib.unassigned()

    # everything above -1 is suggested, nothing is auto-assigned
    lib.ok("thresholds", "--auto", 1.0, "--suggest", -1.0)
    assert "new suggestions" in lib.ok("suggest")
    pending = lib.suggestions(suggested_person_id=amy, status=SuggestionStatus.PENDING)
    assert len(pending) >= len(lib.unassigned()) - 1
    assert face not in {s.face_id for s in pending}

    # everything above -1 is assigned: still not the rejected face
    lib.ok("thresholds", "--auto", -1.0, "--suggest", -1.0)
    lib.ok("suggest")
    assert lib.unassigned() == {face}
    assert not lib.suggestions(face_id=face, suggested_person_id=amy)

    # a user's own assignment lifts the mark
    lib.ok("assign", face, "--person", amy)
    assert not lib.rejected(face, amy) and face in lib.person_faces(amy)


def test_review_suggestions(lib: Library) -> None:
    amy, penny = lib.name("amy", "Amy"), lib.name("penny", "Penny")
    lib.ok("thresholds", "--auto", 1.0, "--suggest", -1.0)  # two persons: never auto-assigned
    lib.ok("suggest")
    amy_pending = lib.suggestions(suggested_person_id=amy, status=SuggestionStatus.PENDING)
    assert amy_pending and lib.suggestions(suggested_person_id=penny)

    listing = lib.ok("suggestions", "--per-group", 3)
    assert f"Amy (person {amy})" in listing and f"Penny (person {penny})" in listing
    best = max(amy_pending, key=lambda s: (s.confidence, -s.id))
    assert f"suggestion {best.id}  {best.confidence:.3f}  face {best.face_id}" in listing
    assert f"(person {amy})" not in lib.ok("suggestions", "--person", penny)

    take, drop = amy_pending[0], amy_pending[1]
    out = lib.ok("accept", take.id)
    assert f"suggestion {take.id}: accepted" in out
    assert take.face_id in lib.person_faces(amy)
    others = lib.suggestions(face_id=take.face_id, suggested_person_id=penny)
    assert others and all(s.status == SuggestionStatus.EXPIRED for s in others)

    lib.ok("reject", drop.id)
    assert lib.rejected(drop.face_id, amy)
    assert lib.suggestions(id=drop.id)[0].status == SuggestionStatus.REJECTED
    assert f"suggestion {drop.id}" in lib.ok("suggestions", "--status", "rejected")

    out = lib.ok("undo", take.id, drop.id)
    assert out.count(": undone") == 2
    assert take.face_id in lib.unassigned() and not lib.rejected(drop.face_id, amy)
    statuses = {s.id: s.status for s in lib.suggestions(suggested_person_id=amy)}
    assert statuses[take.id] == statuses[drop.id] == SuggestionStatus.PENDING

    result = lib.run("accept", take.id, 999999, take.id)  # one line per distinct id
    assert result.exit_code == 1
    assert f"suggestion {take.id}: accepted" in result.stdout
    assert "suggestion 999999: not_found" in result.stdout
    assert "1 accepted, 1 failed" in result.stdout
    assert take.face_id in lib.person_faces(amy)
    assert lib.run("accept", take.id).exit_code == 1  # not pending any more: conflict

    for args in (("suggestions", "--status", "bogus"), ("suggestions", "--page", 0), ("accept",)):
        assert lib.run(*args).exit_code == 2, args


def test_find_more(lib: Library) -> None:
    amy = lib.name("amy", "Amy")
    out = lib.ok("find-more", amy, "--max", 5, "--min-confidence", -1.0)
    assert "Searching faces" in out and "5 new suggestions" in out
    found = lib.suggestions(suggested_person_id=amy, source="find_more")
    assert len(found) == 5 and all(s.status == SuggestionStatus.PENDING for s in found)

    out = lib.ok("find-more", amy, "--centroid", "--max", 3, "--min-confidence", -1.0)
    assert "with the centroid" in out and "3 new suggestions" in out
    centroid = lib.suggestions(suggested_person_id=amy, source="find_more_centroid")
    assert len(centroid) == 3
    assert not {s.face_id for s in centroid} & {s.face_id for s in found}

    for args in (
        (999999,),
        (amy, "--include-assigned"),  # only with --centroid
        (amy, "--centroid", "--prototypes", 5),
        (amy, "--min-confidence", 2),
    ):
        result = lib.run("find-more", *args)
        assert result.exit_code == 2, (args, result.output)
    assert len(lib.suggestions(suggested_person_id=amy)) == 8


def test_thresholds(lib: Library) -> None:
    def current() -> tuple[float | None, float | None]:
        row = lib.rows(
            select(
                ModelPackSettings.auto_assign_threshold, ModelPackSettings.suggestion_threshold
            ).where(ModelPackSettings.model_pack == PACK)
        )
        return row[0][0], row[0][1]

    out = lib.ok("thresholds")
    assert "calibrated" in out and "auto-assign" in out
    lib.ok("thresholds", "--auto", 0.9, "--suggest", 0.8)
    assert current() == (0.9, 0.8)
    for args in (("--suggest", 0.95), ("--auto", 1.5), ("--reset", "--auto", 0.5)):
        result = lib.run("thresholds", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "error" in result.stderr
    assert current() == (0.9, 0.8)
    lib.ok("thresholds", "--reset")
    defaults = PACK_DEFAULTS[PACK]
    assert current() == (defaults.auto_assign_threshold, defaults.suggestion_threshold)


# search ------------------------------------------------------------------------------------
def test_search_by_several_people_names_and_date(lib: Library) -> None:
    import json

    amy, penny = lib.name("amy", "Friends/Amy"), lib.name("penny", "Friends/Penny")
    together = {
        r[0]
        for r in lib.rows(
            select(Face.asset_id)
            .where(Face.person_id.in_([amy, penny]))
            .group_by(Face.asset_id)
            .having(func.count(func.distinct(Face.person_id)) == 2)
        )
    }
    assert together, "amy and penny share no group photo"
    answer = json.loads(lib.ok("search", "--person", "Amy", "--person", "penny", "--json"))
    assert answer["mode"] == "filters" and answer["total"] == len(together)
    assert {item["id"] for item in answer["items"]} == together
    either = json.loads(lib.ok("search", "-p", str(amy), "-p", "Friends/Penny", "--any", "--json"))
    assert either["total"] > len(together)
    # The photos carry no capture date: a date range leaves none.
    dated = json.loads(lib.ok("search", "-p", "Amy", "--from", "2020-01-01", "--json"))
    assert dated["total"] == 0
    table = lib.ok("search", "--person", "Amy", "--person", "Penny")
    assert f"{len(together)} matching" in table and "faceapi_bbt" in table

    unknown = lib.run("search", "--person", "Nobody")
    assert unknown.exit_code == 2 and "no person matches 'Nobody'" in unknown.output
    inverted = lib.run("search", "--from", "2021-01-01", "--to", "2020-01-01")
    assert inverted.exit_code == 2 and "inverted" in inverted.output
    ambiguous = lib.run("search", "--person", "Friends")
    assert ambiguous.exit_code == 2 and "several persons" in ambiguous.output
    bad_place = lib.run("search", "--near", "48.8,2.3")
    assert bad_place.exit_code == 2 and "--near takes 3 numbers" in bad_place.output
