"""Prototype selection and centroids: which of a person's faces represent it when unassigned
faces are matched."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from image_search.faces.models import ModelPackSettings
from image_search.people.models import PrototypeRole
from image_search.people.repository import PeopleRepository

# Bounded so matching stays cheap with 10,000 persons (100,000 prototype vectors at most);
# ten varied faces cover pose, age and lighting for most people.
MAX_AUTO_PROTOTYPES = 10
# Faces below this fraction of the person's best quality are used only when nothing better is
# left (blurred, tiny or profile faces make poor prototypes).
QUALITY_FLOOR = 0.5


def select_prototypes(
    embeddings: np.ndarray, quality: np.ndarray, count: int, seeds: np.ndarray | None = None
) -> np.ndarray:
    """Indices of up to ``count`` rows chosen for quality and diversity.

    Quality-weighted farthest-point selection (the greedy k-center of Gonzalez, 1985, with each
    candidate's distance to the chosen set multiplied by its normalised quality): the first pick
    is the best-quality face (or the ``seeds``, e.g. pinned prototypes, which are not counted
    and not returned), each next pick maximises ``quality * cosine distance to the nearest
    pick``. Near-duplicates (distance 0) are never picked twice.

    ``embeddings``: float32 (n, d) L2-normalised; ``quality``: float (n,) in [0, 1];
    ``seeds``: int indices already chosen. Returns int64 (k,), k <= count, in pick order.
    """
    n = embeddings.shape[0]
    if n == 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    q = np.clip(np.asarray(quality, dtype=np.float64), 1e-6, None)
    q = q / q.max()
    eligible = q >= QUALITY_FLOOR
    if eligible.sum() < min(count, n):
        eligible[:] = True
    seeds = np.zeros(0, dtype=np.int64) if seeds is None else np.asarray(seeds, dtype=np.int64)
    chosen: list[int] = []
    nearest = np.full(n, np.inf)
    for index in seeds:
        nearest = np.minimum(nearest, 1.0 - embeddings @ embeddings[index])
    available = eligible.copy()
    available[seeds] = False
    while len(chosen) < count and available.any():
        if not chosen and len(seeds) == 0:
            pick = int(np.argmax(np.where(available, q, -1.0)))
        else:
            score = np.where(available, q * np.maximum(nearest, 0.0), -1.0)
            pick = int(np.argmax(score))
            if score[pick] <= 1e-6:
                break
        chosen.append(pick)
        available[pick] = False
        nearest = np.minimum(nearest, 1.0 - embeddings @ embeddings[pick])
    return np.array(chosen, dtype=np.int64)


def centroid(embeddings: np.ndarray) -> np.ndarray | None:
    """Mean of L2-normalised rows, normalised again (float32 (d,)); None for no rows."""
    if embeddings.shape[0] == 0:
        return None
    mean = embeddings.astype(np.float64).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm == 0.0:
        return None
    return (mean / norm).astype(np.float32)


class PrototypeService:
    """Keeps each person's automatic prototypes and centroid in step with its faces."""

    def __init__(self, session: Session, pack: ModelPackSettings) -> None:
        self.people = PeopleRepository(session)
        self.pack = pack

    def refresh(self, person_ids: set[int] | list[int]) -> None:
        """Re-choose automatic prototypes (pinned ones kept), recompute centroids, and give a
        person without a cover face its best face."""
        for person_id in sorted(set(person_ids)):
            person = self.people.get(person_id)
            if person is None:
                continue
            self.people.drop_prototypes_not_owned(person_id)
            face_ids, quality, embeddings = self.people.labelled_embeddings(
                person_id, self.pack.model_pack, self.pack.embedding_dim
            )
            pinned = {
                p.face_id
                for p in self.people.prototypes(person_id)
                if p.role == PrototypeRole.PINNED and p.model_pack == self.pack.model_pack
            }
            seeds = np.flatnonzero(np.isin(face_ids, list(pinned)))
            picks = select_prototypes(embeddings, quality, MAX_AUTO_PROTOTYPES, seeds)
            self.people.replace_auto_prototypes(
                person_id, self.pack.model_pack, [int(face_ids[i]) for i in picks]
            )
            self.people.save_centroid(
                person_id, self.pack.model_pack, centroid(embeddings), int(face_ids.size)
            )
            if person.cover_face_id is None and face_ids.size:
                # e.g. the cover's file was re-indexed (its face row replaced), or the person
                # got its first faces by auto-assignment: the best face becomes the cover
                person.cover_face_id = int(face_ids[int(np.argmax(quality))])
