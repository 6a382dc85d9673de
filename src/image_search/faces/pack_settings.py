"""Default per-model-pack settings, written to ``model_pack_settings`` on first use and then owned
by the database (changeable by the user).

Clustering defaults come from ``image-search eval`` on ../shared/data/faces/lfw-dev
(docs/evaluation.md): for each pack, the algorithm and distance with the best BCubed F at
BCubed precision >= 0.97. Packs not yet calibrated on our machines (SFace, buffalo_l cannot be
downloaded here) carry no thresholds until they are: ``None`` means "calibrate first".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackDefaults:
    embedding_dim: int
    cluster_algorithm: str
    cluster_max_distance: float  # cosine distance
    cluster_min_size: int


PACK_DEFAULTS: dict[str, PackDefaults] = {
    "yunet-dlib": PackDefaults(128, "knn-chinese-whispers", 0.06, 3),
    "mobilefacenet": PackDefaults(128, "knn-chinese-whispers", 0.6, 3),
    "yunet-sface": PackDefaults(128, "knn-chinese-whispers", 0.6, 3),
    "buffalo_l": PackDefaults(512, "knn-chinese-whispers", 0.6, 3),
}
