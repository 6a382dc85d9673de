"""Clustering after each run is incremental: clusters keep their ids, new faces of known people
join them, and a new person gets a new cluster."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from tests.conftest import make_settings


def _clusters_by_person(service: IndexService) -> dict[str, set[int | None]]:
    with session_scope(service.factory) as session:
        rows = session.execute(
            select(Asset.path, Face.cluster_id).join(Face, Face.asset_id == Asset.id)
        ).all()
    result: dict[str, set[int | None]] = {}
    for path, cluster in rows:
        result.setdefault(re.sub(r"\d+\.png$", "", Path(path).name), set()).add(cluster)
    return result


def test_new_faces_join_existing_clusters_and_new_people_get_new_ones(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    people = faces_dir / "people-small"
    root = tmp_path / "library"
    root.mkdir()
    for person in ("amy", "raj"):
        for image in sorted((people / person).glob("*.png"))[:3]:
            (root / image.name).symlink_to(image)
    service = IndexService(make_settings(tmp_path / "data", models_dir))
    first = service.index([root])
    assert first.clustering.new_clusters == 2
    before = _clusters_by_person(service)
    assert all(len(c) == 1 and None not in c for c in before.values())

    for image in sorted((people / "amy").glob("*.png"))[3:] + sorted(
        (people / "sheldon").glob("*.png")
    ):
        (root / image.name).symlink_to(image)
    second = service.index([root])
    after = _clusters_by_person(service)
    assert after["amy"] == before["amy"] and after["raj"] == before["raj"]  # ids kept
    assert second.clustering.attached == 2  # amy4, amy5 joined amy's cluster
    assert second.clustering.new_clusters == 1  # sheldon
    assert len(after["sheldon"]) == 1 and not after["sheldon"] & (after["amy"] | after["raj"])

    full = service.cluster(full=True)
    assert full.clusters == 3 and full.unclustered == 0
