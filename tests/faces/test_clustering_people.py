"""The 8 people of people-small plus the faceapi_bbt group photos form 8 clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.evaluation.metrics import clustering_scores
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from tests.conftest import link_tree, make_settings


def test_people_small_and_bbt_group_photos_form_one_cluster_per_person(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    people = sorted((faces_dir / "people-small").iterdir())
    sources = {f"people/{p.name}": sorted(p.glob("*.png")) for p in people}
    sources["group"] = sorted((faces_dir / "group").glob("faceapi_bbt*.jpg"))
    root = link_tree(tmp_path / "library", sources)
    service = IndexService(make_settings(tmp_path / "data", models_dir))
    summary = service.index([root])
    assert summary.pipeline.failed == 0

    with session_scope(service.factory) as session:
        rows = session.execute(
            select(Asset.path, Face.cluster_id).join(Face, Face.asset_id == Asset.id)
        ).all()
    labelled = [(Path(path).parent.name, cluster) for path, cluster in rows if "/people/" in path]
    assert len(labelled) == 40
    names = sorted({name for name, _ in labelled})
    truth = np.array([names.index(name) for name, _ in labelled])
    predicted = np.array([-1 if c is None else c for _, c in labelled])
    scores = clustering_scores(predicted, truth)
    assert scores.bcubed_f >= 0.95, scores
    clusters = {c for _, c in rows if c is not None}
    assert len(clusters) == 8
    # Each person's faces sit in their own cluster.
    per_person = {name: {c for n, c in labelled if n == name} - {None} for name in names}
    majority = [
        max(cs, key=lambda c: sum(1 for n, x in labelled if n == name and x == c))
        for name, cs in per_person.items()
    ]
    assert len(set(majority)) == 8
    # Group photos add faces to the people's clusters.
    group_faces = [c for path, c in rows if "/group/" in path and c is not None]
    assert len(group_faces) >= 10 and set(group_faces) <= clusters
