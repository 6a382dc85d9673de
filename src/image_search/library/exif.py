"""Read capture metadata (date, camera, lens, GPS) from EXIF with Pillow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image


@dataclass(slots=True)
class PhotoMetadata:
    """Capture metadata. ``taken_at`` is the camera's local time (EXIF has no zone by default);
    GPS in decimal degrees (WGS 84, north and east positive) and metres above sea level."""

    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None


def read_photo_metadata(image: Image.Image) -> PhotoMetadata:
    """Metadata of an opened Pillow image; missing or malformed tags become ``None``."""
    try:
        exif = image.getexif()
    except Exception:
        return PhotoMetadata()
    base = dict(exif)
    try:
        sub = dict(exif.get_ifd(ExifTags.IFD.Exif))
        gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        sub, gps = {}, {}
    taken = _parse_datetime(
        sub.get(ExifTags.Base.DateTimeOriginal)
        or sub.get(ExifTags.Base.DateTimeDigitized)
        or base.get(ExifTags.Base.DateTime)
    )
    return PhotoMetadata(
        taken_at=taken,
        camera_make=_text(base.get(ExifTags.Base.Make)),
        camera_model=_text(base.get(ExifTags.Base.Model)),
        lens=_text(sub.get(ExifTags.Base.LensModel)),
        gps_latitude=_gps_coordinate(
            gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S"
        ),
        gps_longitude=_gps_coordinate(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W"
        ),
        gps_altitude=_gps_altitude(
            gps.get(ExifTags.GPS.GPSAltitude), gps.get(ExifTags.GPS.GPSAltitudeRef)
        ),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\x00", "").strip()
    return text[:128] or None


def _parse_datetime(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M"):
        try:
            return datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
    return None


def _gps_coordinate(value: Any, ref: Any, negative_ref: str) -> float | None:
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60.0 + seconds / 3600.0
    if _text(ref) == negative_ref:
        result = -result
    limit = 90.0 if negative_ref == "S" else 180.0
    return result if -limit <= result <= limit else None


def _gps_altitude(value: Any, ref: Any) -> float | None:
    try:
        altitude = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    below_sea_level = ref in (1, b"\x01")
    return -altitude if below_sea_level else altitude
