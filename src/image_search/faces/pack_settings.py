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
from typing import TYPE_CHECKING

from image_search.errors import InvalidInputError
from image_search.faces.models import ModelPackSettings

if TYPE_CHECKING:
    from image_search.faces.repository import FaceRepository


class UncalibratedPackError(InvalidInputError):
    code = "pack_not_calibrated"


@dataclass(frozen=True, slots=True)
class PackDefaults:
    embedding_dim: int
    cluster_algorithm: str
    cluster_max_distance: float  # cosine distance
    cluster_min_size: int
    # Cosine similarities to a person's prototypes (people/assignment.py); None: not calibrated.
    auto_assign_threshold: float | None = None
    suggestion_threshold: float | None = None


PACK_DEFAULTS: dict[str, PackDefaults] = {
    # lfw-dev: Chinese Whispers is best (BCubed F 0.931 at 0.0515-0.0562); 0.06 keeps F at 0.911
    # on lfw-dev and is what the people-small + bbt set needs to give one cluster per person.
    # Assignment (evaluation/assignment.py, people-disjoint halves of lfw-dev, seed 0): auto
    # 0.965, the more cautious of the two halves' calibrations (held out: auto-assign precision
    # 100% of 1,893 pooled auto-assignments; the other half's 0.957 gave 99.72%); suggestion
    # 0.945, the fewest review clicks (held out: suggestion precision 0.865, 86% of faces found).
    "yunet-dlib": PackDefaults(128, "knn-chinese-whispers", 0.06, 3, 0.965, 0.945),
    # lfw-dev: k-NN components best (BCubed F 0.954, precision 0.998 at 0.4644).
    # Assignment (same method): auto 0.732, set by one look-alike pair (held out: 100% of
    # 1,939; the other half's 0.508 gave 99.81%, and 98.6% in bench/reviewer.py);
    # suggestion 0.47 (held out: suggestion precision 0.965, 95% of faces found).
    "mobilefacenet": PackDefaults(128, "knn-components", 0.46, 3, 0.732, 0.47),
}


def load_pack_settings(faces: FaceRepository, model_pack: str) -> ModelPackSettings:
    """The pack's settings row, created from ``PACK_DEFAULTS`` on first use; thresholds a
    database from before their calibration lacks are filled in from the defaults.

    Raises ``UncalibratedPackError`` for a pack without calibrated defaults.
    """
    defaults = PACK_DEFAULTS.get(model_pack)
    settings = faces.settings(model_pack)
    if settings is None:
        if defaults is None:
            raise UncalibratedPackError(
                f"model pack {model_pack!r} has no calibrated settings yet: run "
                f"'image-search eval DATASET --pack {model_pack}' and record its results in "
                f"faces/pack_settings.py; its faces are stored but not clustered or assigned"
            )
        settings = faces.save_settings(
            ModelPackSettings(
                model_pack=model_pack,
                embedding_dim=defaults.embedding_dim,
                cluster_algorithm=defaults.cluster_algorithm,
                cluster_max_distance=defaults.cluster_max_distance,
                cluster_min_size=defaults.cluster_min_size,
                auto_assign_threshold=defaults.auto_assign_threshold,
                suggestion_threshold=defaults.suggestion_threshold,
                suggestion_groups_per_page=20,
                suggestion_items_per_group=20,
            )
        )
        faces.session.flush()
    elif defaults is not None and settings.auto_assign_threshold is None:
        settings.auto_assign_threshold = defaults.auto_assign_threshold
        settings.suggestion_threshold = defaults.suggestion_threshold
    return settings
