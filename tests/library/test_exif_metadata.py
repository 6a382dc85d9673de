"""Capture metadata written into a real photo's EXIF ends up on the asset."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from tests.conftest import make_settings


def test_date_camera_lens_and_gps_are_read(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    root = tmp_path / "library"
    root.mkdir()
    with Image.open(faces_dir / "group" / "dlib_2008_002470.jpg") as source:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "Fujifilm"
        exif[ExifTags.Base.Model] = "X-T5"
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.DateTimeOriginal] = "2021:07:14 18:30:05"
        sub[ExifTags.Base.LensModel] = "XF23mmF1.4 R LM WR"
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "S"
        gps[ExifTags.GPS.GPSLatitude] = (33.0, 51.0, 54.0)
        gps[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps[ExifTags.GPS.GPSLongitude] = (151.0, 12.0, 36.0)
        gps[ExifTags.GPS.GPSAltitudeRef] = 0
        gps[ExifTags.GPS.GPSAltitude] = 58.5
        source.save(root / "beach.jpg", exif=exif, quality=95)

    service = IndexService(make_settings(tmp_path / "data", models_dir, workers=1))
    service.index([root])
    with session_scope(service.factory) as session:
        asset = session.scalars(select(Asset)).one()
        assert asset.taken_at == datetime(2021, 7, 14, 18, 30, 5)
        assert (asset.camera_make, asset.camera_model) == ("Fujifilm", "X-T5")
        assert asset.lens == "XF23mmF1.4 R LM WR"
        assert asset.gps_latitude == pytest.approx(-(33 + 51 / 60 + 54 / 3600))
        assert asset.gps_longitude == pytest.approx(151 + 12 / 60 + 36 / 3600)
        assert asset.gps_altitude == pytest.approx(58.5)
        assert (asset.width, asset.height, asset.orientation) == (500, 332, 1)
