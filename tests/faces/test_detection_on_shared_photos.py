"""Detection quality of the default pack on the real photos of ../shared/data/faces."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.library.models import Asset, AssetStatus
from tests.conftest import IndexedLibrary


def _boxes_by_path(library: IndexedLibrary) -> dict[str, list[tuple[float, float, float, float]]]:
    with session_scope(library.factory) as session:
        rows = session.execute(
            select(Asset.path, Face.box_x, Face.box_y, Face.box_width, Face.box_height).join(
                Face, Face.asset_id == Asset.id
            )
        ).all()
    boxes: dict[str, list[tuple[float, float, float, float]]] = {}
    for path, *box in rows:
        boxes.setdefault(path, []).append(tuple(box))  # type: ignore[arg-type]
    return boxes


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_every_people_small_image_has_a_face(indexed_faces: IndexedLibrary) -> None:
    boxes = _boxes_by_path(indexed_faces)
    images = sorted((indexed_faces.root / "people-small").glob("*/*.png"))
    assert len(images) == 40
    without = [p.name for p in images if not boxes.get(str(p))]
    assert without == []


def test_dlib_labelled_boxes_are_found(indexed_faces: IndexedLibrary) -> None:
    """At least 95% of the hand-labelled boxes of dlib_testing.xml and dlib_training.xml are
    matched by a detection with IoU >= 0.4."""
    boxes = _boxes_by_path(indexed_faces)
    group = indexed_faces.root / "group"
    labelled = matched = 0
    for xml_name in ("dlib_testing.xml", "dlib_training.xml"):
        for image in ET.parse(group / xml_name).getroot().iter("image"):
            detected = boxes.get(str(group / f"dlib_{image.get('file')}"), [])
            for box in image.iter("box"):
                truth = tuple(float(box.get(k, 0)) for k in ("left", "top", "width", "height"))
                labelled += 1
                matched += any(_iou(truth, d) >= 0.4 for d in detected)
    assert labelled >= 40
    assert matched / labelled >= 0.95, f"{matched} of {labelled} labelled faces found"


def test_no_faces_folder_yields_at_most_one_face(indexed_faces: IndexedLibrary) -> None:
    boxes = _boxes_by_path(indexed_faces)
    no_faces = sorted((indexed_faces.root / "no-faces").iterdir())
    assert len(no_faces) >= 5
    assert sum(len(boxes.get(str(p), [])) for p in no_faces) <= 1


def test_edge_cases_are_indexed_without_failure(indexed_faces: IndexedLibrary) -> None:
    edge = indexed_faces.root / "edge-cases"
    with session_scope(indexed_faces.factory) as session:
        rows = session.execute(
            select(Asset.path, Asset.status, Asset.error).where(
                Asset.path.startswith(str(edge) + "/")
            )
        ).all()
    assert len(rows) == len(list(edge.iterdir()))
    assert [(Path(p).name, e) for p, s, e in rows if s != AssetStatus.DONE] == []
    boxes = _boxes_by_path(indexed_faces)
    # The large and small copies of the same portrait both give one face.
    assert len(boxes[str(edge / "fr_obama-1080p.jpg")]) == 1
    assert len(boxes[str(edge / "fr_obama-240p.jpg")]) == 1


def test_faces_have_landmarks_quality_embedding_and_crop(indexed_faces: IndexedLibrary) -> None:
    with session_scope(indexed_faces.factory) as session:
        faces = session.scalars(select(Face)).all()
        assert len(faces) >= 100
        for face in faces:
            assert len(face.landmarks) == 5
            assert 0.0 <= face.quality <= 1.0
            assert 0.0 < face.detector_score <= 1.0
            assert face.embedding_dim == 128 and len(face.embedding) == 128 * 4
            assert face.crop_path and (indexed_faces.settings.data_dir / face.crop_path).is_file()
            x, y, w, h = face.box_x, face.box_y, face.box_width, face.box_height
            asset = session.get(Asset, face.asset_id)
            assert asset is not None and asset.width and asset.height
            assert x >= 0 and y >= 0 and x + w <= asset.width + 1 and y + h <= asset.height + 1
