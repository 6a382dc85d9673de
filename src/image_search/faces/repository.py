"""All SQL of the faces domain."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from image_search.faces.models import Cluster, Face, ModelPackSettings


def embedding_matrix(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stack stored embeddings into float32 (n, dim)."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dim).astype(np.float32)


class FaceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_all(self, faces: Sequence[Face]) -> None:
        self.session.add_all(faces)

    def count(self, model_pack: str | None = None) -> int:
        query = select(func.count(Face.id))
        if model_pack:
            query = query.where(Face.model_pack == model_pack)
        return self.session.scalar(query) or 0

    def embeddings(
        self, model_pack: str, dim: int, unassigned_only: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(face ids int64 (n,), cluster ids int64 (n,) with -1 for none, embeddings (n, dim))
        of the pack's faces not assigned to a person (or of all its faces)."""
        query = select(Face.id, Face.cluster_id, Face.embedding).where(
            Face.model_pack == model_pack, Face.embedding_dim == dim
        )
        if unassigned_only:
            query = query.where(Face.person_id.is_(None))
        rows = self.session.execute(query.order_by(Face.id)).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        clusters = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
        return ids, clusters, embedding_matrix([r[2] for r in rows], dim)

    def set_clusters(self, face_ids: Sequence[int], cluster_id: int | None) -> None:
        if face_ids:
            self.session.execute(
                update(Face).where(Face.id.in_(list(face_ids))).values(cluster_id=cluster_id)
            )

    def new_cluster(self, model_pack: str) -> Cluster:
        cluster = Cluster(model_pack=model_pack)
        self.session.add(cluster)
        self.session.flush()
        return cluster

    def delete_empty_clusters(self) -> int:
        used = select(Face.cluster_id).where(Face.cluster_id.is_not(None)).distinct()
        result = self.session.execute(delete(Cluster).where(Cluster.id.not_in(used)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def clear_clusters(self, model_pack: str) -> None:
        self.session.execute(
            update(Face)
            .where(Face.model_pack == model_pack, Face.person_id.is_(None))
            .values(cluster_id=None)
        )
        self.delete_empty_clusters()

    def cluster_sizes(self, model_pack: str) -> list[tuple[int, int]]:
        """(cluster id, face count), largest first."""
        rows = self.session.execute(
            select(Face.cluster_id, func.count(Face.id))
            .where(Face.model_pack == model_pack, Face.cluster_id.is_not(None))
            .group_by(Face.cluster_id)
            .order_by(func.count(Face.id).desc(), Face.cluster_id)
        ).all()
        return [(int(c), int(n)) for c, n in rows if c is not None]

    def cluster_samples(self, cluster_id: int, limit: int = 5) -> list[tuple[int, str]]:
        """(face id, asset path) of a cluster's best faces by quality."""
        from image_search.library.models import Asset

        rows = self.session.execute(
            select(Face.id, Asset.path)
            .join(Asset, Asset.id == Face.asset_id)
            .where(Face.cluster_id == cluster_id)
            .order_by(Face.quality.desc())
            .limit(limit)
        ).all()
        return [(int(i), str(p)) for i, p in rows]

    def settings(self, model_pack: str) -> ModelPackSettings | None:
        return self.session.get(ModelPackSettings, model_pack)

    def save_settings(self, settings: ModelPackSettings) -> ModelPackSettings:
        return self.session.merge(settings)
