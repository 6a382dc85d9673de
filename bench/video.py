"""Video indexing throughput: seconds of video indexed per second of wall time.

What is measured
----------------
``image-search index FOLDER`` runs as a fresh subprocess with an empty data dir, ``--workers``
worker processes (default 2, the CI machine's cores), the default model pack (YuNet + dlib)
and CLIP off (text search is a separate stage with its own cost). The wall-clock time of the
whole command is taken: scanning, hashing, container probing, decoding every frame once,
sampling (one frame a second, at most ``--max-frames`` per video, plus scene changes), face
detection and embedding on the sampled frames, tracking, poster thumbnails, face crops,
SQLite writes, assignment and clustering, plus interpreter start-up and model loading.

From the database afterwards: the summed ``duration`` of the videos indexed, their count, the
faces kept (one per face track) and the detections behind them (``video_track_size``).

For context, the same videos are also decoded and sampled in this process without face work
(one core, ``decode_only``): the floor the decoder sets.

``--repeat N`` links every video N times under distinct names (a bigger batch of the same
clips, so start-up costs weigh less); the clips of ../shared are short (1-34 s).

Usage::

    .venv/bin/python bench/video.py [--folder DIR] [--repeat 3] [--workers 2]
        [--interval 1.0] [--max-frames 120] [--output bench/results/video.json]

It prints one JSON object and writes it to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import log, wait_for_quiet  # noqa: E402

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".gif", ".h264", ".h265"})


def _shared() -> Path:
    return Path(os.environ.get("IMAGE_SEARCH_TEST_ASSETS", REPO.parent / "shared"))


def _link_batch(source: Path, target: Path, repeat: int) -> list[Path]:
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    target.mkdir(parents=True)
    for copy in range(repeat):
        for file in files:
            (target / f"{file.stem}-{copy}{file.suffix}").symlink_to(file.resolve())
    return files


def _decode_only(files: list[Path], interval: float, max_frames: int) -> dict[str, Any]:
    from image_search.library.video import (
        SamplingSettings,
        open_container,
        probe_video,
        sample_frames,
    )

    settings = SamplingSettings(interval_s=interval, max_interval_frames=max_frames)
    seconds = frames = 0.0
    start = time.perf_counter()
    for file in files:
        try:
            with open_container(file) as container:
                info = probe_video(container)
                frames += sum(1 for _ in sample_frames(container, info, settings))
                seconds += info.duration or 0.0
        except Exception as exc:  # the benchmark folder may hold broken files
            log(f"decode-only: {file.name}: {exc}")
    wall = time.perf_counter() - start
    return {
        "videoSeconds": round(seconds, 2),
        "wallSeconds": round(wall, 2),
        "videoSecondsPerWallSecond": round(seconds / wall, 2),
        "sampledFrames": int(frames),
    }


def _index(folder: Path, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(data_dir),
        "IMAGE_SEARCH_MODELS_DIR": str(_shared() / "models"),
        "IMAGE_SEARCH_CLIP_MODEL": "none",
        "IMAGE_SEARCH_OFFLINE": "1",
        "IMAGE_SEARCH_VIDEO_FRAME_INTERVAL": str(args.interval),
        "IMAGE_SEARCH_VIDEO_MAX_FRAMES": str(args.max_frames),
    }
    command = [
        str(REPO / ".venv" / "bin" / "image-search"),
        "index",
        str(folder),
        "--workers",
        str(args.workers),
    ]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    with sqlite3.connect(data_dir / "image-search.db") as db:
        videos, seconds = db.execute(
            "select count(*), coalesce(sum(duration), 0) from assets "
            "where kind = 'video' and status = 'done'"
        ).fetchone()
        failed = db.execute(
            "select count(*) from assets where kind = 'video' and status = 'failed'"
        ).fetchone()[0]
        faces, detections = db.execute(
            "select count(*), coalesce(sum(video_track_size), 0) from faces "
            "where video_timestamp is not null"
        ).fetchone()
    return {
        "videos": videos,
        "failed": failed,
        "videoSeconds": round(seconds, 2),
        "wallSeconds": round(wall, 2),
        "videoSecondsPerWallSecond": round(seconds / wall, 2),
        "facesKept": faces,
        "detectionsInTracks": detections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=_shared() / "data" / "video" / "faces")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--max-frames", type=int, default=120)
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--load-wait", type=float, default=600.0)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "video.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-video-") as temporary:
        base = Path(temporary)
        files = _link_batch(args.folder, base / "videos", args.repeat)
        for file in files:
            file.read_bytes()  # warm page cache: both runs read from memory
        load = wait_for_quiet(args.max_load, args.load_wait)
        log(f"decoding {len(files)} videos without face work")
        decode = _decode_only(files, args.interval, args.max_frames)
        log(f"indexing {len(files) * args.repeat} videos with {args.workers} workers")
        indexed = _index(base / "videos", base / "data", args)
        shutil.rmtree(base / "data", ignore_errors=True)
    result = {
        "benchmark": "video",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadAverageAtStart": load,
        },
        "settings": {
            "folder": str(args.folder),
            "repeat": args.repeat,
            "workers": args.workers,
            "modelPack": "yunet-dlib",
            "frameIntervalSeconds": args.interval,
            "maxIntervalFrames": args.max_frames,
            "maxSceneFrames": max(1, args.max_frames // 4),
            "frameLongestSidePx": 1280,
        },
        "index": indexed,
        "decodeOnly": decode,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
