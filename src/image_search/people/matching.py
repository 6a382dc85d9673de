"""Scoring faces against persons: the numeric core shared by assignment and find-more."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Matrix products are done in blocks of at most this many similarity cells (float32: 128 MB).
MAX_BLOCK_CELLS = 32_000_000


@dataclass(slots=True)
class PersonMatch:
    """How one face matched one person's prototypes (scores are cosine similarities)."""

    person_id: int
    scores: dict[int, float] = field(default_factory=dict)  # prototype face id -> similarity

    @property
    def confidence(self) -> float:
        return max(self.scores.values())

    @property
    def best_prototype(self) -> int:
        return max(self.scores.items(), key=lambda item: item[1])[0]

    @property
    def aggregate_confidence(self) -> float:
        return float(np.mean(list(self.scores.values())))


def match_faces(
    queries: np.ndarray,
    prototypes: np.ndarray,
    prototype_face_ids: np.ndarray,
    prototype_person_ids: np.ndarray,
    min_similarity: float,
    top_k: int = 64,
) -> list[list[PersonMatch]]:
    """For each query face, the persons with a prototype at or above ``min_similarity``.

    ``queries`` float32 (q, d) and ``prototypes`` float32 (p, d), both L2-normalised, so the
    inner product is the cosine similarity. Only each face's ``top_k`` most similar prototypes
    are considered. Returns, per query, matches sorted by confidence (best first).
    """
    results: list[list[PersonMatch]] = [[] for _ in range(queries.shape[0])]
    count = prototypes.shape[0]
    if count == 0 or queries.shape[0] == 0:
        return results
    take = min(top_k, count)
    block = max(1, MAX_BLOCK_CELLS // count)
    for start in range(0, queries.shape[0], block):
        sims = queries[start : start + block] @ prototypes.T
        if take < count:
            top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        else:
            top = np.broadcast_to(np.arange(count), sims.shape)
        top_sims = np.take_along_axis(sims, top, axis=1)
        for row in range(sims.shape[0]):
            keep = top_sims[row] >= min_similarity
            if not keep.any():
                continue
            by_person: dict[int, PersonMatch] = {}
            for j, s in zip(top[row][keep], top_sims[row][keep], strict=True):
                person = int(prototype_person_ids[j])
                match = by_person.setdefault(person, PersonMatch(person))
                match.scores[int(prototype_face_ids[j])] = round(float(s), 6)
            results[start + row] = sorted(
                by_person.values(), key=lambda m: m.confidence, reverse=True
            )
    return results
