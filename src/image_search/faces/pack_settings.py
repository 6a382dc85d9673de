"""Default per-model-pack settings, written to ``model_pack_settings`` on first use and then owned
by the database (changeable by the user).

Clustering defaults come from ``image-search eval`` on ../shared/data/faces/lfw-dev
(docs/evaluation.md; results in bench/results/eval-lfw-dev-*.json). Packs whose weights cannot
be fetched on our machines (SFace, buffalo_l) are not calibrated yet and have no entry: their
faces are stored but not clustered until someone calibrates them (thresholds are never copied
between packs).
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
    # lfw-dev: Chinese Whispers is best (BCubed F 0.931 at 0.0515-0.0562); 0.06 keeps F at 0.911
    # on lfw-dev and is what the people-small + bbt set needs to give one cluster per person.
    "yunet-dlib": PackDefaults(128, "knn-chinese-whispers", 0.06, 3),
    # lfw-dev: k-NN components best (BCubed F 0.954, precision 0.998 at 0.4644).
    "mobilefacenet": PackDefaults(128, "knn-components", 0.46, 3),
}
