"""First screen of the library grid and the people page at 100,000 assets and 5,000 persons.

What is measured
----------------
A SQLite library is built with the synthetic data of ``bench/suggestions_query.py`` (same
generator, same loader, real schema with its triggers): ``--assets`` assets (default 100,000),
``--faces`` faces (default 150,000, one in five labelled), ``--persons`` persons (default 5,000,
skewed face counts) and ``--suggestions`` suggestions. Then it is made browsable: each asset gets
a capture time, a folder (``/photos/<year>/<month>``) and one of ``--distinct-images`` real
thumbnails, each face one of as many real face crops, each person a cover face. The thumbnails
and crops are written by the product's own ``write_thumbnails`` / ``write_face_crop`` from
lfw-dev photos (``$IMAGE_SEARCH_TEST_ASSETS/data/faces/lfw-dev``), so every image the browser
asks for is a real file of the real size and format.

``image-search serve`` (the real server, with the built UI of ``src/image_search/web`` or
``--web-dir``) is started on that library, and ``ui/bench/first-screen.mjs`` opens ``/library``
and ``/people`` in Debian's Chromium through playwright-core, ``--runs`` times each, each time in
a fresh browser context (empty cache: a first visit). A run ends when the viewport holds at least
12 images, all decoded, and no loading spinner: the first screen, as a user sees it. Reported:
milliseconds from the start of the navigation (``performance.now()`` in the page), per run, with
median and max, against the 1,000 ms target of issue 4.

Usage::

    .venv/bin/python bench/ui_first_screen.py [--assets 100000] [--persons 5000] [--runs 7]
        [--web-dir DIR] [--work-dir DIR] [--output bench/results/ui-first-screen.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from common import log  # noqa: E402
from suggestions_query import generate, load_sqlite  # noqa: E402

from image_search.db.engine import make_engine  # noqa: E402
from image_search.db.migrate import upgrade_to_head  # noqa: E402
from image_search.library.media import (  # noqa: E402
    decode_image,
    sharded_path,
    write_face_crop,
    write_thumbnails,
)

TARGET_MS = 1000


def shared_assets() -> Path:
    env = os.environ.get("IMAGE_SEARCH_TEST_ASSETS")
    return Path(env) if env else REPO.parent / "shared"


def write_images(data_dir: Path, count: int) -> None:
    """``count`` real thumbnails (content hash ``%064x`` of 0..count-1) and face crops
    (``faces/bench/<k>.jpg``) from the first lfw-dev photos."""
    photos = sorted((shared_assets() / "data" / "faces" / "lfw-dev").glob("*/*.jpg"))[:count]
    if len(photos) < count:
        raise SystemExit(f"need {count} lfw-dev photos under {shared_assets()}")
    for k, photo in enumerate(photos):
        decoded = decode_image(photo)
        content_hash = f"{k:064x}"
        if not sharded_path(data_dir / "thumbnails", content_hash, "-small.webp").exists():
            write_thumbnails(decoded, data_dir / "thumbnails", content_hash)
        # lfw deep-funneled photos are 250 x 250 with the face in the middle
        crop = data_dir / "faces" / "bench" / f"{k}.jpg"
        write_face_crop(decoded, (75.0, 70.0, 100.0, 110.0), crop)


def make_browsable(db: Path, distinct: int, seed: int) -> None:
    """Capture times, folders, thumbnails, crops and covers on the synthetic rows."""
    rng = np.random.default_rng(seed)
    connection = sqlite3.connect(db)
    try:
        assets = connection.execute("SELECT count(*) FROM assets").fetchone()[0]
        taken = np.datetime64("2010-01-01T00:00:00") + rng.integers(
            0, 15 * 365 * 86400, assets
        ).astype("timedelta64[s]")
        rows = []
        for i, moment in enumerate(taken.astype("datetime64[s]").tolist(), start=1):
            path = f"/photos/{moment.year}/{moment.month:02d}/IMG_{i:07d}.jpg"
            rows.append((moment.isoformat(sep=" "), path, f"{i % distinct:064x}", i))
        connection.execute("BEGIN")
        connection.executemany(
            "UPDATE assets SET taken_at = ?, path = ?, content_hash = ? WHERE id = ?", rows
        )
        connection.execute(
            "UPDATE faces SET crop_path = 'faces/bench/' || (id % ?) || '.jpg'", (distinct,)
        )
        connection.execute(
            "UPDATE persons SET cover_face_id = "
            "(SELECT min(f.id) FROM faces f WHERE f.person_id = persons.id)"
        )
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def build_library(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    db = data_dir / "image-search.db"
    if db.exists():
        log(f"reusing {db}")
        return {"reused": True}
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = generate(args.suggestions, args.persons, args.faces, args.assets, args.seed)
    engine = make_engine(f"sqlite:///{db}")
    upgrade_to_head(engine)
    load_sqlite(engine, data)
    engine.dispose()
    make_browsable(db, args.distinct_images, args.seed)
    write_images(data_dir, args.distinct_images)
    seconds = time.perf_counter() - started
    log(f"library built in {seconds:.0f} s")
    return {"reused": False, "seconds": round(seconds, 1), "dataset": data.describe()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("image-search serve exited early")
        try:
            with urllib.request.urlopen(url + "/api/v1/status", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("image-search serve did not answer")


def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, IMAGE_SEARCH_DATA_DIR=str(data_dir), IMAGE_SEARCH_OFFLINE="1")
    if args.web_dir:
        env["IMAGE_SEARCH_WEB_DIR"] = str(args.web_dir)
    server = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "image-search"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, server)
        output = subprocess.run(
            ["node", str(REPO / "ui" / "bench" / "first-screen.mjs")],
            env=dict(os.environ, BASE_URL=base, RUNS=str(args.runs)),
            cwd=REPO / "ui",
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(30)
    pages: dict[str, Any] = {}
    for page, result in json.loads(output.strip().splitlines()[-1]).items():
        runs = result["runs"]
        pages[page] = {
            "runsMs": runs,
            "medianMs": statistics.median(runs),
            "maxMs": max(runs),
            "imagesOnFirstScreen": result["images"],
            "underTarget": max(runs) < TARGET_MS,
        }
    return pages


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--faces", type=int, default=150_000)
    parser.add_argument("--persons", type=int, default=5_000)
    parser.add_argument("--suggestions", type=int, default=50_000)
    parser.add_argument("--distinct-images", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--web-dir", type=Path, help="built UI (default: the package's web/)")
    parser.add_argument(
        "--work-dir", type=Path, help="library folder, reused when it exists (default: temporary)"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "results" / "ui-first-screen.json"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        data_dir = (args.work_dir or Path(tmp)).resolve()
        build = build_library(args, data_dir)
        pages = measure(args, data_dir)
    report = {
        "benchmark": "ui-first-screen",
        "targetMs": TARGET_MS,
        "library": {
            "assets": args.assets,
            "faces": args.faces,
            "persons": args.persons,
            "suggestions": args.suggestions,
        },
        "build": build,
        "pages": pages,
        "browser": "Debian chromium, headless, 1440x900, fresh context per run",
        "command": "bench/ui_first_screen.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(report, indent=2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
