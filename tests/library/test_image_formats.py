"""Every supported photo format is recognised from its content and yields its face."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.models import Asset, AssetStatus
from tests.conftest import make_settings

# format name for Pillow -> (file name, expected sniffed MIME type)
FORMATS = {
    "JPEG": ("portrait.jpg", "image/jpeg"),
    "PNG": ("portrait.png", "image/png"),
    "WEBP": ("portrait.webp", "image/webp"),
    "HEIF": ("portrait.heic", "image/heic"),
    "TIFF": ("portrait.tiff", "image/tiff"),
    "GIF": ("portrait.gif", "image/gif"),
    "BMP": ("portrait.bmp", "image/bmp"),
}


def test_each_format_is_indexed_with_one_face(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    root = tmp_path / "library"
    root.mkdir()
    with Image.open(faces_dir / "edge-cases" / "fr_obama-240p.jpg") as source:
        photo = source.convert("RGB")
    for fmt, (name, _) in FORMATS.items():
        photo.save(root / name, fmt)
    # A format named with the wrong extension is still recognised by its content.
    photo.save(root / "mislabelled.png", "JPEG")

    service = IndexService(make_settings(tmp_path / "data", models_dir, workers=1))
    service.index([root])
    with session_scope(service.factory) as session:
        rows = session.execute(select(Asset.path, Asset.mime_type, Asset.status, Asset.error)).all()
        face_counts: dict[str, int] = {}
        for path, _ in session.execute(
            select(Asset.path, Face.id).join(Face, Face.asset_id == Asset.id)
        ).all():
            face_counts[Path(path).name] = face_counts.get(Path(path).name, 0) + 1
    by_name = {Path(path).name: (mime, status, error) for path, mime, status, error in rows}
    for name, mime in [*FORMATS.values(), ("mislabelled.png", "image/jpeg")]:
        assert by_name[name][:2] == (mime, AssetStatus.DONE), (name, by_name[name])
        assert face_counts.get(name) == 1, name
    assert len(face_counts) == len(FORMATS) + 1
