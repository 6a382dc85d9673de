"""The command line on real photos: index, status, clusters, eval (text and JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import link_tree


def _cli(args: list[str], data_dir: Path, models_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(data_dir),
        "IMAGE_SEARCH_MODELS_DIR": str(models_dir),
        "IMAGE_SEARCH_WORKERS": "2",
        "COLUMNS": "160",
    }
    return subprocess.run(
        [sys.executable, "-m", "image_search.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_index_status_and_clusters(tmp_path: Path, faces_dir: Path, models_dir: Path) -> None:
    people = ("amy", "howard", "leonard")
    root = link_tree(
        tmp_path / "photos",
        {f"2024/{p}": sorted((faces_dir / "people-small" / p).glob("*.png")) for p in people},
    )
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    indexed = _cli(["index", str(root)], tmp_path / "data", models_dir)
    assert indexed.returncode == 0, indexed.stderr
    assert "Scanned 16 files: 16 new" in indexed.stdout
    assert "Processed 15 images" in indexed.stdout and "found 15 faces" in indexed.stdout
    assert "broken.jpg" in indexed.stdout and "not a supported image format" in indexed.stdout

    status = _cli(["status"], tmp_path / "data", models_dir)
    assert status.returncode == 0, status.stderr
    assert "Faces: 15; clusters: 3" in status.stdout

    clusters = _cli(["clusters"], tmp_path / "data", models_dir)
    assert clusters.returncode == 0, clusters.stderr
    assert "3 clusters" in clusters.stdout and clusters.stdout.count(": 5 faces") == 3

    again = _cli(["index", str(root)], tmp_path / "data", models_dir)
    assert "16 unchanged" in again.stdout and "Processed 0 images" in again.stdout


def test_index_of_a_missing_folder_is_a_clear_error(tmp_path: Path, models_dir: Path) -> None:
    result = _cli(["index", str(tmp_path / "nope")], tmp_path / "data", models_dir)
    assert result.returncode == 2
    assert "is not a folder" in result.stderr


def test_eval_json_on_people_small(tmp_path: Path, faces_dir: Path, models_dir: Path) -> None:
    result = _cli(
        ["eval", str(faces_dir / "people-small"), "--json", "--pack", "mobilefacenet"],
        tmp_path / "data",
        models_dir,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["images"] == 40 and report["people"] == 8
    assert report["detection"]["imagesWithFaceRate"] == 1.0
    verification = report["verification"]
    assert verification["folds"] == 8  # people-disjoint folds: one person per fold here
    assert verification["pairs"] >= 40
    assert verification["accuracy"] > 0.8
    chosen = report["clustering"]["chosen"]
    assert set(report["clustering"]["algorithms"]) == {
        "immich-dbscan",
        "hdbscan",
        "knn-components",
        "knn-chinese-whispers",
    }
    assert chosen["bcubed_f"] > 0.8


def test_eval_text_and_pairs_file(tmp_path: Path, faces_dir: Path, models_dir: Path) -> None:
    # An LFW-format pairs.txt over a folder of <name>/<name>_NNNN.jpg images.
    dataset = tmp_path / "dataset"
    for person in ("amy", "raj", "penny"):
        (dataset / person).mkdir(parents=True)
        for i, image in enumerate(sorted((faces_dir / "people-small" / person).glob("*.png"))):
            (dataset / person / f"{person}_{i + 1:04d}.jpg").symlink_to(image)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(
        "2 2\namy 1 2\nraj 1 3\namy 1 raj 2\npenny 1 raj 4\n"
        "penny 2 5\nraj 2 5\npenny 3 amy 4\namy 5 raj 5\n"
    )
    result = _cli(
        ["eval", str(dataset), "--pairs", str(pairs), "--pack", "mobilefacenet"],
        tmp_path / "data",
        models_dir,
    )
    assert result.returncode == 0, result.stderr
    assert "Verification (2-fold, 8 pairs, file)" in result.stdout
    assert "Chosen:" in result.stdout
