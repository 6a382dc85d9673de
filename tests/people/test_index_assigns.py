"""Every index run matches new faces against the named persons: real photos, real models."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.faces.repository import FaceRepository
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from image_search.people.models import FaceSuggestion, Person
from image_search.people.service import PersonService
from tests.conftest import make_settings

PEOPLE = ("raj", "penny", "sheldon", "howard")


def test_second_index_run_assigns_or_suggests_new_photos_of_named_people(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    root = tmp_path / "photos"
    for person in PEOPLE:
        (root / person).mkdir(parents=True)
        for photo in sorted((faces_dir / "people-small" / person).glob("*.png"))[:3]:
            (root / person / photo.name).symlink_to(photo)
    settings = make_settings(tmp_path / "data", models_dir)
    service = IndexService(settings)
    first = service.index([root])
    assert first.assignment.status == "no_prototypes"

    with session_scope(service.factory) as session:
        faces = FaceRepository(session)
        people = PersonService(session, settings.model_pack)
        for cluster_id, _ in faces.cluster_sizes(settings.model_pack):
            paths = [p for _, p in faces.cluster_samples(cluster_id, 10)]
            people.name_cluster(cluster_id, name=Path(paths[0]).parent.name)

    for person in PEOPLE:
        for photo in sorted((faces_dir / "people-small" / person).glob("*.png"))[3:]:
            (root / person / photo.name).symlink_to(photo)
    second = service.index([root])
    report = second.assignment
    assert report.status == "ok" and report.processed == 2 * len(PEOPLE)
    assert report.auto_assigned + report.suggested > 0

    with session_scope(service.factory) as session:
        named = {p.id: p.name for p in session.scalars(select(Person))}
        auto = session.execute(
            select(Face.person_id, Asset.path)
            .join(Asset, Asset.id == Face.asset_id)
            .where(Face.assigned_by == "auto")
        ).all()
        suggested = session.execute(
            select(FaceSuggestion.suggested_person_id, Asset.path)
            .join(Face, Face.id == FaceSuggestion.face_id)
            .join(Asset, Asset.id == Face.asset_id)
        ).all()
    assert len(auto) == report.auto_assigned
    # Auto-assignment is the high-precision tier: every one is right.
    assert all(named[p] == Path(path).parent.name for p, path in auto)
    # Suggestions are for review, but most must be right to be worth a reviewer's time.
    right = sum(named[p] == Path(path).parent.name for p, path in suggested)
    assert right >= 0.5 * len(suggested)
    # Every new photo was matched to its person one way or the other.
    matched = {path for _, path in auto} | {path for _, path in suggested}
    assert len(matched) == 2 * len(PEOPLE)
