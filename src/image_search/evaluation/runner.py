"""``image-search eval``: verification, clustering and detection rate of a model pack on a
folder-per-person dataset."""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from image_search.config import Settings
from image_search.evaluation.dataset import (
    LabelledImages,
    Pairs,
    generate_pairs,
    list_dataset,
    read_lfw_pairs,
)
from image_search.evaluation.metrics import clustering_scores, verification_accuracy
from image_search.faces.clustering import ALGORITHMS, DISTANCE_FREE, cluster_embeddings
from image_search.jobs.progress import NullReporter, ProgressReporter
from image_search.jobs.worker import PrimaryFace, WorkerConfig, embed_primary_face, init_worker

# Clustering is compared over a grid of cosine distances scaled to the pack: from 0.3 to 1.5 times
# the distance at the verification threshold (dlib's same-person faces sit within ~0.1, ArcFace's
# within ~0.6). The chosen configuration is the best BCubed F among those with BCubed precision
# >= MIN_BCUBED_PRECISION ("good precision": a wrong face in a cluster costs the user more than a
# missing one).
DISTANCE_GRID_FACTORS = tuple(np.round(np.linspace(0.3, 1.5, 25), 3))
MIN_BCUBED_PRECISION = 0.97
CLUSTER_MIN_SIZE = 3
# Bump when detection or embedding code changes, so cached dataset embeddings are recomputed.
EMBEDDING_REVISION = "2"


@dataclass(slots=True)
class DatasetEmbeddings:
    faces_found: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # float32 (n, dim); rows of images without a face are zero
    has_face: np.ndarray  # bool (n,)
    errors: list[str] = field(default_factory=list)


def embed_dataset(
    data: LabelledImages, settings: Settings, reporter: ProgressReporter | None = None
) -> DatasetEmbeddings:
    """Primary-face embedding of every image, cached in the data dir by pack and file list."""
    reporter = reporter or NullReporter()
    key = hashlib.sha256(
        "\n".join([EMBEDDING_REVISION, *(f"{p}:{p.stat().st_size}" for p in data.paths)]).encode()
    ).hexdigest()[:16]
    cache = settings.data_dir / "eval-cache" / f"{settings.model_pack}-{key}.npz"
    if cache.exists():
        stored = np.load(cache)
        return DatasetEmbeddings(stored["faces_found"], stored["embeddings"], stored["has_face"])
    config = WorkerConfig.from_settings(settings)
    reporter.start("embedding", len(data.paths))
    results: list[PrimaryFace] = []
    paths = [str(p) for p in data.paths]
    with ProcessPoolExecutor(
        max_workers=max(1, settings.workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(config,),
    ) as pool:
        for result in pool.map(embed_primary_face, paths, chunksize=8):
            results.append(result)
            reporter.advance("embedding", 1, faces=result.faces_found)
    reporter.finish("embedding")
    dim = next((r.embedding.shape[0] for r in results if r.embedding is not None), 128)
    embeddings = np.zeros((len(results), dim), dtype=np.float32)
    for i, r in enumerate(results):
        if r.embedding is not None:
            embeddings[i] = r.embedding
    output = DatasetEmbeddings(
        faces_found=np.array([r.faces_found for r in results], dtype=np.int64),
        embeddings=embeddings,
        has_face=np.array([r.embedding is not None for r in results], dtype=bool),
        errors=[f"{p}: {r.error}" for p, r in zip(paths, results, strict=True) if r.error],
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        faces_found=output.faces_found,
        embeddings=output.embeddings,
        has_face=output.has_face,
    )
    return output


def evaluate(
    dataset: Path,
    settings: Settings,
    pairs_file: Path | None = None,
    reporter: ProgressReporter | None = None,
    algorithms: tuple[str, ...] = tuple(ALGORITHMS),
) -> dict[str, Any]:
    """Run the whole evaluation; returns one JSON-ready dict (see docs/evaluation.md)."""
    started = time.perf_counter()
    data = list_dataset(dataset)
    embedded = embed_dataset(data, settings, reporter)
    pairs = read_lfw_pairs(pairs_file, data, dataset) if pairs_file else generate_pairs(data)
    result: dict[str, Any] = {
        "dataset": str(dataset),
        "modelPack": settings.model_pack,
        "images": len(data.paths),
        "people": len(data.people),
        "detection": {
            "imagesWithFace": int(embedded.has_face.sum()),
            "imagesWithFaceRate": float(embedded.has_face.mean()),
            "facesPerImage": float(embedded.faces_found.mean()),
        },
        "verification": _verification(pairs, embedded, pairs_file is not None),
    }
    grid = tuple(
        round(float(f) * (1.0 - result["verification"]["threshold"]), 4)
        for f in DISTANCE_GRID_FACTORS
    )
    result["clustering"] = _clustering(data, embedded, algorithms, grid, reporter or NullReporter())
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _verification(pairs: Pairs, embedded: DatasetEmbeddings, from_file: bool) -> dict[str, Any]:
    usable = embedded.has_face[pairs.first] & embedded.has_face[pairs.second]
    scores = np.einsum(
        "ij,ij->i", embedded.embeddings[pairs.first], embedded.embeddings[pairs.second]
    )
    result = verification_accuracy(scores[usable], pairs.same[usable], pairs.folds[usable])
    # Pairs with an undetected face count as wrong in the strict figure.
    strict = result.accuracy * usable.sum() / max(1, len(usable))
    return {
        **result.as_dict(),
        "pairsSource": "file" if from_file else "generated (seed 0, people-disjoint folds)",
        "pairsWithoutFace": int((~usable).sum()),
        "accuracyCountingMissedFacesWrong": float(strict),
    }


def _clustering(
    data: LabelledImages,
    embedded: DatasetEmbeddings,
    algorithms: tuple[str, ...],
    grid_distances: tuple[float, ...],
    reporter: ProgressReporter,
) -> dict[str, Any]:
    embeddings = embedded.embeddings[embedded.has_face]
    truth = data.labels[embedded.has_face]
    comparison: dict[str, Any] = {}
    reporter.start("clustering", len(algorithms) * len(grid_distances))
    for algorithm in algorithms:
        grid = []
        distances = grid_distances[:1] if algorithm in DISTANCE_FREE else grid_distances
        for distance in distances:
            t0 = time.perf_counter()
            labels = cluster_embeddings(algorithm, embeddings, distance, CLUSTER_MIN_SIZE)
            scores = clustering_scores(labels, truth).as_dict()
            grid.append(
                {"maxDistance": distance, "seconds": round(time.perf_counter() - t0, 2), **scores}
            )
            reporter.advance("clustering")
        eligible = [g for g in grid if g["bcubed_precision"] >= MIN_BCUBED_PRECISION] or grid
        comparison[algorithm] = {
            "best": max(eligible, key=lambda g: g["bcubed_f"]),
            "grid": grid,
        }
    reporter.finish("clustering")
    chosen = max(comparison, key=lambda a: comparison[a]["best"]["bcubed_f"])
    return {
        "faces": len(truth),
        "minSize": CLUSTER_MIN_SIZE,
        "minBcubedPrecision": MIN_BCUBED_PRECISION,
        "algorithms": comparison,
        "chosen": {"algorithm": chosen, **comparison[chosen]["best"]},
    }
