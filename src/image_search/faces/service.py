"""Clustering service: groups unassigned faces of a model pack into clusters, incrementally."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError
from image_search.faces.clustering import ALGORITHMS, cluster_embeddings
from image_search.faces.models import ModelPackSettings
from image_search.faces.pack_settings import load_pack_settings
from image_search.faces.repository import FaceRepository
from image_search.vectors.index import ExactVectorIndex


@dataclass(slots=True)
class ClusterReport:
    faces: int = 0  # unassigned faces considered
    attached: int = 0  # new faces that joined an existing cluster
    new_clusters: int = 0
    clusters: int = 0  # clusters after the update
    unclustered: int = 0
    skipped: str | None = None  # why clustering did not run


class ClusterService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.faces = FaceRepository(session)

    def pack_settings(self, model_pack: str) -> ModelPackSettings:
        return load_pack_settings(self.faces, model_pack)

    def update_clusters(self, model_pack: str, full: bool = False) -> ClusterReport:
        """Cluster the pack's faces that belong to no person.

        Incremental (default): faces already in a cluster keep it; each new face joins the
        cluster of its nearest clustered neighbour when that neighbour is within the pack's
        ``cluster_max_distance`` and most of the clustered neighbours within reach agree;
        the faces still without a cluster (new ones and earlier noise) are clustered by the
        pack's algorithm and groups of at least ``cluster_min_size`` become new clusters.
        ``full=True`` discards the unnamed clusters and clusters everything again.
        """
        settings = self.pack_settings(model_pack)
        if settings.cluster_algorithm not in ALGORITHMS:
            raise InvalidInputError(f"unknown clustering algorithm {settings.cluster_algorithm!r}")
        if full:
            self.faces.clear_clusters(model_pack)
        ids, clusters, embeddings = self.faces.embeddings(model_pack, settings.embedding_dim)
        report = ClusterReport(faces=len(ids))
        clustered = clusters >= 0
        pool = np.flatnonzero(~clustered)
        if clustered.any() and len(pool):
            attached = self._attach(
                embeddings[clustered],
                clusters[clustered],
                embeddings[pool],
                settings.cluster_max_distance,
            )
            for cluster_id in np.unique(attached[attached >= 0]):
                self.faces.set_clusters(ids[pool[attached == cluster_id]].tolist(), int(cluster_id))
            report.attached = int((attached >= 0).sum())
            pool = pool[attached < 0]
        if len(pool):
            labels = cluster_embeddings(
                settings.cluster_algorithm,
                embeddings[pool],
                settings.cluster_max_distance,
                settings.cluster_min_size,
            )
            for label in range(int(labels.max(initial=-1)) + 1):
                cluster = self.faces.new_cluster(model_pack)
                self.faces.set_clusters(ids[pool[labels == label]].tolist(), cluster.id)
                report.new_clusters += 1
            report.unclustered = int((labels < 0).sum())
        self.faces.delete_empty_clusters()
        report.clusters = len(self.faces.cluster_sizes(model_pack))
        return report

    @staticmethod
    def _attach(
        members: np.ndarray,
        member_clusters: np.ndarray,
        candidates: np.ndarray,
        max_distance: float,
    ) -> np.ndarray:
        """Cluster id for each candidate (or -1): similarity-weighted vote of its clustered
        neighbours within reach, kept when the winner holds the majority of that weight."""
        sims, idx = ExactVectorIndex(members).search(candidates, min(10, len(members)))
        result = np.full(len(candidates), -1, dtype=np.int64)
        for row in range(len(candidates)):
            near = (idx[row] >= 0) & (sims[row] >= 1.0 - max_distance)
            if not near.any():
                continue
            votes: dict[int, float] = {}
            for j, s in zip(idx[row][near], sims[row][near], strict=True):
                votes[int(member_clusters[j])] = votes.get(int(member_clusters[j]), 0.0) + float(s)
            best, weight = max(votes.items(), key=lambda item: item[1])
            if weight > 0.5 * sum(votes.values()):
                result[row] = best
        return result
