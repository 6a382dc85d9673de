"""Search filters and their SQL: people (all of them or any), capture date range, camera,
place (a latitude/longitude box or a radius), folder (with or without subfolders), media type
and has-unnamed-faces. Every filter narrows; they combine with AND."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError, NotFoundError
from image_search.faces.models import Face
from image_search.library.models import Asset, AssetKind, AssetStatus
from image_search.library.repository import folder_prefix, path_below, path_directly_in
from image_search.people.models import Person

# Mean Earth radius (IUGG), km: the haversine distance's sphere.
EARTH_RADIUS_KM = 6371.0088
MAX_PEOPLE = 20

PersonMode = Literal["all", "any"]


@dataclass(frozen=True, slots=True)
class GeoBox:
    """Latitude/longitude box in degrees (WGS84). ``west > east`` crosses the antimeridian."""

    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True, slots=True)
class GeoCircle:
    """Everything within ``radius_km`` (great-circle distance) of (latitude, longitude)."""

    latitude: float
    longitude: float
    radius_km: float


@dataclass(slots=True)
class SearchFilters:
    person_ids: list[int] = field(default_factory=list)
    person_mode: PersonMode = "all"
    taken_from: datetime | None = None
    taken_to: datetime | None = None
    camera_make: str | None = None  # exact, ignoring case
    camera_model: str | None = None  # exact, ignoring case
    box: GeoBox | None = None
    circle: GeoCircle | None = None
    folder: str | None = None  # absolute
    recursive: bool = True
    kind: str | None = None  # "image" / "video"
    has_unnamed_faces: bool | None = None


def validate(filters: SearchFilters, session: Session) -> None:
    """Raises ``InvalidInputError`` (422) for contradictory or out-of-range filters and
    ``NotFoundError`` (404) for a person id that does not exist."""
    if len(filters.person_ids) > MAX_PEOPLE:
        raise InvalidInputError(f"at most {MAX_PEOPLE} people per search")
    if filters.person_mode not in ("all", "any"):
        raise InvalidInputError("personMode must be 'all' or 'any'")
    if filters.person_ids:
        wanted = set(filters.person_ids)
        found = set(session.scalars(select(Person.id).where(Person.id.in_(wanted))))
        missing = sorted(wanted - found)
        if missing:
            raise NotFoundError(f"unknown person id(s): {', '.join(map(str, missing))}")
    if filters.taken_from and filters.taken_to and filters.taken_from > filters.taken_to:
        raise InvalidInputError(
            f"the date range is inverted: from {filters.taken_from.isoformat()} is after "
            f"to {filters.taken_to.isoformat()}"
        )
    if filters.kind is not None and filters.kind not in set(AssetKind):
        raise InvalidInputError(f"unknown media type {filters.kind!r}: use image or video")
    if filters.box is not None:
        box = filters.box
        _check_latitude(box.south, "south")
        _check_latitude(box.north, "north")
        _check_longitude(box.west, "west")
        _check_longitude(box.east, "east")
        if box.south > box.north:
            raise InvalidInputError("the place box is inverted: south lies north of north")
    if filters.circle is not None:
        _check_latitude(filters.circle.latitude, "latitude")
        _check_longitude(filters.circle.longitude, "longitude")
        if not 0 < filters.circle.radius_km <= 20_000:
            raise InvalidInputError("the radius must be between 0 and 20,000 km")
    if filters.folder is not None and not filters.folder.startswith("/"):
        raise InvalidInputError(f"folder must be an absolute path, got {filters.folder!r}")


def _check_latitude(value: float, name: str) -> None:
    if not -90 <= value <= 90:
        raise InvalidInputError(f"{name} must be a latitude between -90 and 90, got {value}")


def _check_longitude(value: float, name: str) -> None:
    if not -180 <= value <= 180:
        raise InvalidInputError(f"{name} must be a longitude between -180 and 180, got {value}")


def conditions(filters: SearchFilters, dialect: str) -> list[ColumnElement[bool]]:
    """SQL conditions on ``Asset`` for ``filters`` (already validated). Missing assets (files
    gone from disk) are never search results."""
    where: list[ColumnElement[bool]] = [Asset.status != AssetStatus.MISSING]
    if filters.person_ids:
        where.append(_people(filters.person_ids, filters.person_mode))
    if filters.taken_from is not None:
        where.append(Asset.taken_at >= filters.taken_from)
    if filters.taken_to is not None:
        where.append(Asset.taken_at <= filters.taken_to)
    if filters.camera_make:
        where.append(func.lower(Asset.camera_make) == filters.camera_make.strip().lower())
    if filters.camera_model:
        where.append(func.lower(Asset.camera_model) == filters.camera_model.strip().lower())
    if filters.box is not None:
        where.append(_in_box(filters.box))
    if filters.circle is not None:
        where.append(_in_circle(filters.circle))
    if filters.folder:
        prefix = folder_prefix(filters.folder)
        below = path_below if filters.recursive else path_directly_in
        where.append(below(prefix, dialect))
    if filters.kind is not None:
        where.append(Asset.kind == filters.kind)
    if filters.has_unnamed_faces is not None:
        unnamed = Asset.id.in_(select(Face.asset_id).where(Face.person_id.is_(None)))
        where.append(unnamed if filters.has_unnamed_faces else ~unnamed)
    return where


def _people(person_ids: list[int], mode: PersonMode) -> ColumnElement[bool]:
    """Assets with a face of every one (``all``) or of any (``any``) of ``person_ids``
    (ix_faces_person_asset)."""
    ids = sorted(set(person_ids))
    with_any = select(Face.asset_id).where(Face.person_id.in_(ids))
    if mode == "any" or len(ids) == 1:
        return Asset.id.in_(with_any)
    with_all = with_any.group_by(Face.asset_id).having(
        func.count(func.distinct(Face.person_id)) == len(ids)
    )
    return Asset.id.in_(with_all)


def _in_box(box: GeoBox) -> ColumnElement[bool]:
    latitude = Asset.gps_latitude.between(box.south, box.north)
    if box.west <= box.east:
        return and_(latitude, Asset.gps_longitude.between(box.west, box.east))
    return and_(latitude, or_(Asset.gps_longitude >= box.west, Asset.gps_longitude <= box.east))


def bounding_box(circle: GeoCircle) -> GeoBox:
    """A box containing the circle (for the index); longitudes widen towards the poles."""
    delta_lat = math.degrees(circle.radius_km / EARTH_RADIUS_KM)
    south = max(-90.0, circle.latitude - delta_lat)
    north = min(90.0, circle.latitude + delta_lat)
    if south <= -90 or north >= 90:
        return GeoBox(south, -180.0, north, 180.0)
    cos_lat = math.cos(math.radians(max(abs(south), abs(north))))
    delta_lon = math.degrees(circle.radius_km / (EARTH_RADIUS_KM * max(cos_lat, 1e-9)))
    if delta_lon >= 180:
        return GeoBox(south, -180.0, north, 180.0)
    west = circle.longitude - delta_lon
    east = circle.longitude + delta_lon
    west = west + 360 if west < -180 else west
    east = east - 360 if east > 180 else east
    return GeoBox(south, west, north, east)


def _in_circle(circle: GeoCircle) -> ColumnElement[bool]:
    """Haversine distance <= radius (SQLite's math functions, PostgreSQL's built-ins), after
    a bounding box the GPS index can answer."""
    lat1 = math.radians(circle.latitude)
    lat2 = func.radians(Asset.gps_latitude)
    dlat = func.radians(Asset.gps_latitude - circle.latitude)
    dlon = func.radians(Asset.gps_longitude - circle.longitude)
    a = func.pow(func.sin(dlat / 2), 2) + math.cos(lat1) * func.cos(lat2) * func.pow(
        func.sin(dlon / 2), 2
    )
    limit = math.sin(min(circle.radius_km / EARTH_RADIUS_KM, math.pi) / 2) ** 2
    return and_(_in_box(bounding_box(circle)), a <= limit)


def parse_date_bound(value: str | None, end: bool, name: str) -> datetime | None:
    """``YYYY-MM-DD`` (a whole day: its start, or with ``end`` its last microsecond) or an ISO
    8601 date-time, as a naive datetime in the photos' local time (how EXIF stores capture
    times). Raises ``InvalidInputError`` naming the parameter for anything else."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d")
            return day.replace(hour=23, minute=59, second=59, microsecond=999999) if end else day
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise InvalidInputError(
            f"{name}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time"
        ) from None


def place_filters(
    box: tuple[float | None, float | None, float | None, float | None],
    circle: tuple[float | None, float | None, float | None],
) -> tuple[GeoBox | None, GeoCircle | None]:
    """(south, west, north, east) and (latitude, longitude, radius km) as filters: each all
    given or all absent. Raises ``InvalidInputError`` for a partial one."""
    geo_box = geo_circle = None
    if any(v is not None for v in box):
        if any(v is None for v in box):
            raise InvalidInputError("a place box needs south, west, north and east")
        south, west, north, east = (float(v) for v in box)  # type: ignore[arg-type]
        geo_box = GeoBox(south, west, north, east)
    if any(v is not None for v in circle):
        if any(v is None for v in circle):
            raise InvalidInputError("a place radius needs latitude, longitude and radiusKm")
        latitude, longitude, radius = (float(v) for v in circle)  # type: ignore[arg-type]
        geo_circle = GeoCircle(latitude, longitude, radius)
    return geo_box, geo_circle
