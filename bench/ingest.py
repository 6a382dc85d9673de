"""Ingest throughput: ``image-search index`` against the ``face_recognition`` command line.

What is measured
----------------
Both tools are run, one after the other in the same run, on the same folder of images, each
as a fresh subprocess with the same number of worker processes (``--cpus``, default 2). For each
the wall-clock time of the whole command is taken, so it includes interpreter start-up, imports
and model loading, not only the per-image work. From it come images/s and faces/s, and the
ratios ours / baseline (above 1 means we are faster).

- Ours: ``image-search index FOLDER --workers N --pack PACK`` with a fresh, empty
  ``IMAGE_SEARCH_DATA_DIR`` (so every image is new) and ``IMAGE_SEARCH_MODELS_DIR=<shared>/models``.
  It scans, hashes, reads metadata, writes thumbnails, detects faces (YuNet for ``yunet-dlib``),
  embeds them (dlib ResNet), saves face crops, writes everything to SQLite and clusters the
  faces. Faces are counted with ``select count(*) from faces``, images with
  ``select count(*) from assets where status = 'done'``.
- Baseline: ``face_recognition KNOWN UNKNOWN --cpus N`` (PyPI ``face_recognition``, installed with
  ``--no-deps`` on top of ``dlib-bin`` and ``face-recognition-models``). For every image of
  UNKNOWN it runs dlib's HOG detector (after shrinking images above 1600 px) and the same dlib
  ResNet embedder, compares with the faces of KNOWN (one image here), and prints one line
  ``path,name`` per face found, or ``path,no_persons_found`` for an image without faces. Nothing
  is stored. Faces are counted from those lines; images are the distinct paths printed.

The baseline reads only ``*.jpg``, ``*.jpeg`` and ``*.png`` directly inside the folder (no
recursion), so the benchmark folder is a temporary flat folder of symbolic links to exactly those
files, which both tools read. Files are read once before timing so both start from a warm page
cache.

Usage::

    .venv/bin/python bench/ingest.py [--lfw-sample 200] [--folder DIR] [--output FILE]

It prints one JSON object and writes it to ``--output`` (default ``bench/results/ingest.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SUBFOLDERS = ("people-small", "group", "no-faces", "edge-cases")
# The files face_recognition_cli.image_files_in_folder accepts.
BASELINE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
KNOWN_NAME = "known"
NO_FACE = "no_persons_found"


@dataclass(frozen=True)
class Result:
    """One tool's timing and counts (seconds is the median over the runs)."""

    runs: list[float]
    images: int
    faces: int

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "runs": [round(run, 3) for run in self.runs],
            "images": self.images,
            "faces": self.faces,
            "imagesPerSecond": round(self.images / self.seconds, 3),
            "facesPerSecond": round(self.faces / self.seconds, 3),
        }


def default_shared() -> Path:
    env = os.environ.get("IMAGE_SEARCH_TEST_ASSETS")
    return Path(env) if env else (REPO.parent / "shared")


def find_command(name: str) -> str:
    """The console script next to this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"command not found: {name}")
    return found


def baseline_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (nested) that the baseline can read, sorted."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in BASELINE_SUFFIXES and path.is_file()
    )


def collect_images(args: argparse.Namespace) -> tuple[list[Path], str]:
    """The source images and a description of the folder they make up."""
    faces_dir = args.shared / "data" / "faces"
    if args.folder is not None:
        images = baseline_images(args.folder)
        description = str(args.folder)
    else:
        images = [
            image for name in DEFAULT_SUBFOLDERS for image in baseline_images(faces_dir / name)
        ]
        description = f"{faces_dir}: {', '.join(DEFAULT_SUBFOLDERS)}"
    if args.lfw_sample:
        lfw = baseline_images(faces_dir / "lfw-dev")[: args.lfw_sample]
        images += lfw
        description += f" + first {len(lfw)} images (sorted) of lfw-dev"
    if not images:
        raise SystemExit("no .jpg/.jpeg/.png images found")
    return images, description


def link_name(index: int, image: Path) -> str:
    """A unique link name with no comma or newline, so baseline output parses unambiguously."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", image.stem)[:80]
    return f"{index:06d}_{stem}{image.suffix.lower()}"


def build_folder(images: list[Path], target: Path) -> None:
    target.mkdir(parents=True)
    for index, image in enumerate(images):
        (target / link_name(index, image)).symlink_to(image.resolve())


def warm_cache(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.read_bytes()


def run_timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run ``command``; return its wall-clock seconds and stdout, or exit with its stderr."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{command[0]} exited with {done.returncode}")
    return seconds, done.stdout


def run_ours(args: argparse.Namespace, folder: Path, work: Path, attempt: int) -> Result:
    data_dir = work / f"data-{attempt}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGE_SEARCH_")}
    env |= {
        "IMAGE_SEARCH_DATA_DIR": str(data_dir),
        "IMAGE_SEARCH_MODELS_DIR": str(args.shared / "models"),
        "IMAGE_SEARCH_MODEL_PACK": args.pack,
    }
    command = [find_command("image-search"), "index", str(folder)]
    command += ["--workers", str(args.cpus), "--pack", args.pack]
    seconds, _ = run_timed(command, env)
    with contextlib.closing(sqlite3.connect(data_dir / "image-search.db")) as db:
        faces = db.execute("select count(*) from faces").fetchone()[0]
        images = db.execute("select count(*) from assets where status = 'done'").fetchone()[0]
    shutil.rmtree(data_dir, ignore_errors=True)
    return Result([seconds], images, faces)


def count_baseline(stdout: str, folder: Path) -> tuple[int, int]:
    """Images and faces in the baseline's output.

    ``face_recognition_cli.test_image`` prints, for each face, one ``path,name`` line per
    matching known person or ``path,unknown_person``; with one known person that is exactly one
    line per face. An image without faces gives one ``path,no_persons_found`` line. Its pool
    workers may interleave their writes, so whole ``path,name`` tokens are matched rather than
    lines (each is one small write, which the pipe keeps whole). ``WARNING`` lines about the
    known image are ignored.
    """
    names = "|".join(re.escape(name) for name in (KNOWN_NAME, "unknown_person", NO_FACE))
    pattern = re.compile(re.escape(f"{folder}{os.sep}") + rf"([A-Za-z0-9._-]+),({names})")
    paths: set[str] = set()
    faces = 0
    for match in pattern.finditer(stdout):
        paths.add(match.group(1))
        faces += match.group(2) != NO_FACE
    return len(paths), faces


def run_baseline(args: argparse.Namespace, folder: Path, known: Path) -> Result:
    # Unbuffered output: the CLI never closes its process pool, so workers are terminated at
    # exit and anything left in a block buffer would be lost.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [find_command("face_recognition"), str(known), str(folder), "--cpus", str(args.cpus)]
    seconds, stdout = run_timed(command, env)
    images, faces = count_baseline(stdout, folder)
    return Result([seconds], images, faces)


def ratio(ours: Result, baseline: Result, field: str) -> float | None:
    """Ours / baseline for one throughput field; None when the baseline's is zero."""
    ours_count = ours.images if field == "imagesPerSecond" else ours.faces
    baseline_count = baseline.images if field == "imagesPerSecond" else baseline.faces
    if baseline_count == 0:
        return None
    return round((ours_count / ours.seconds) / (baseline_count / baseline.seconds), 3)


def merge(results: list[Result]) -> Result:
    counts = {(result.images, result.faces) for result in results}
    if len(counts) > 1:
        print(f"warning: counts differ between runs: {sorted(counts)}", file=sys.stderr)
    last = results[-1]
    return Result([run for result in results for run in result.runs], last.images, last.faces)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=default_shared(),
        help="Shared assets folder (default: $IMAGE_SEARCH_TEST_ASSETS or ../shared).",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        help="Benchmark these images (nested) instead of <shared>/data/faces/{"
        + ",".join(DEFAULT_SUBFOLDERS)
        + "}.",
    )
    parser.add_argument(
        "--lfw-sample",
        type=int,
        default=0,
        metavar="N",
        help="Also add the first N images (sorted) of <shared>/data/faces/lfw-dev.",
    )
    parser.add_argument(
        "--known-image",
        type=Path,
        help="The baseline's one known face (default: the first benchmark image).",
    )
    parser.add_argument("--cpus", type=int, default=2, help="Worker processes for both sides.")
    parser.add_argument("--pack", default="yunet-dlib", help="Our model pack.")
    parser.add_argument(
        "--repeat", type=int, default=1, help="Runs per side; seconds is their median."
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "bench" / "results" / "ingest.json",
        help="Also write the JSON here (default: bench/results/ingest.json).",
    )
    args = parser.parse_args(argv)
    args.shared = args.shared.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    images, description = collect_images(args)
    known_image = args.known_image or images[0]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        folder = work / "images"
        build_folder(images, folder)
        known = work / "known"
        known.mkdir()
        (known / f"{KNOWN_NAME}{known_image.suffix.lower()}").symlink_to(known_image.resolve())
        warm_cache([*images, *(args.shared / "models").rglob("*.onnx")])
        ours: list[Result] = []
        baseline: list[Result] = []
        for attempt in range(args.repeat):
            ours.append(run_ours(args, folder, work, attempt))
            baseline.append(run_baseline(args, folder, known))
    ours_result, baseline_result = merge(ours), merge(baseline)

    report = {
        "folder": description,
        "images": len(images),
        "command": {
            "ours": f"image-search index FOLDER --workers {args.cpus} --pack {args.pack}",
            "baseline": f"face_recognition KNOWN FOLDER --cpus {args.cpus}",
        },
        "ours": ours_result.to_json(),
        "baseline": baseline_result.to_json(),
        "ratio": {
            "imagesPerSecond": ratio(ours_result, baseline_result, "imagesPerSecond"),
            "facesPerSecond": ratio(ours_result, baseline_result, "facesPerSecond"),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadAverageBefore": [round(load, 2) for load in load_before],
            "loadAverageAfter": [round(load, 2) for load in os.getloadavg()],
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(report, indent=2)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
