"""Two-tier assignment: each unassigned face is matched against every person's prototypes;
at or above the pack's auto-assign threshold it is assigned, at or above the suggestion
threshold a pending suggestion is created, below it the face is left alone.

The policy follows the face-suggestion reference (../shared/seeds/002_c68180e0afd50046.txt,
section 2.2) with two changes: a face that matches two persons above the suggestion threshold
is never auto-assigned (each person gets a suggestion instead), and a rejected face-person pair
is never suggested or assigned again. Thresholds are the pack's, calibrated on lfw-dev
(docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from image_search.faces.models import ModelPackSettings
from image_search.faces.pack_settings import UncalibratedPackError, load_pack_settings
from image_search.faces.repository import FaceRepository
from image_search.people.matching import PersonMatch, match_faces
from image_search.people.models import FaceSuggestion, SuggestionStatus
from image_search.people.prototypes import PrototypeService
from image_search.people.repository import PeopleRepository
from image_search.people.suggestion_repository import SuggestionRepository

# At most this many persons are suggested for one face (the reference's max_matches_per_face).
MAX_PERSONS_PER_FACE = 3


@dataclass(slots=True)
class AssignmentReport:
    status: str = "ok"  # ok | no_prototypes | no_new_faces | skipped
    processed: int = 0
    auto_assigned: int = 0
    suggested: int = 0  # faces that got (or kept) at least one pending suggestion
    suggestions_created: int = 0
    ambiguous: int = 0  # above the auto-assign threshold for one person but close to another
    unassigned: int = 0
    skipped: str | None = None
    persons_touched: list[int] = field(default_factory=list)


def thresholds(pack: ModelPackSettings) -> tuple[float, float]:
    """(auto-assign, suggestion) thresholds of a pack; raises ``UncalibratedPackError``."""
    if pack.auto_assign_threshold is None or pack.suggestion_threshold is None:
        raise UncalibratedPackError(
            f"model pack {pack.model_pack!r} has no calibrated assignment thresholds: set them "
            f"with 'image-search thresholds' or PUT /api/v1/faces/suggestions/settings"
        )
    return pack.auto_assign_threshold, pack.suggestion_threshold


def record_suggestions(
    suggestions: SuggestionRepository,
    rejected: set[tuple[int, int]],
    matches: dict[int, list[PersonMatch]],
    source: str,
) -> tuple[int, int]:
    """Create a pending suggestion per (face, person) match, or refresh the scores of the one
    already pending; rejected pairs are skipped. Returns (created, faces with a suggestion)."""
    existing = suggestions.pending_by_pair(matches)
    created: list[FaceSuggestion] = []
    faces_with = 0
    for face_id, persons in matches.items():
        kept = [m for m in persons if (face_id, m.person_id) not in rejected]
        faces_with += bool(kept)
        for match in kept:
            suggestion = existing.get((face_id, match.person_id))
            if suggestion is None:
                suggestion = FaceSuggestion(
                    face_id=face_id,
                    suggested_person_id=match.person_id,
                    status=SuggestionStatus.PENDING,
                    source=source,
                )
                created.append(suggestion)
            suggestion.confidence = match.confidence
            suggestion.source_face_id = match.best_prototype
            suggestion.matching_prototype_ids = sorted(match.scores)
            suggestion.prototype_scores = {str(k): v for k, v in sorted(match.scores.items())}
            suggestion.aggregate_confidence = round(match.aggregate_confidence, 6)
            suggestion.prototype_match_count = len(match.scores)
    suggestions.add_all(created)
    return len(created), faces_with


class AssignmentService:
    def __init__(self, session: Session, model_pack: str) -> None:
        self.session = session
        self.faces = FaceRepository(session)
        self.people = PeopleRepository(session)
        self.suggestions = SuggestionRepository(session)
        self.model_pack = model_pack

    def assign_unassigned(
        self,
        face_ids: Sequence[int] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> AssignmentReport:
        """Match the pack's unassigned faces (or only ``face_ids``) against all prototypes.

        Returns counts; ``status`` is ``no_prototypes`` when no person has a prototype yet,
        ``no_new_faces`` when nothing is unassigned and ``skipped`` (with the reason) when the
        pack has no calibrated thresholds.
        """
        try:
            pack = load_pack_settings(self.faces, self.model_pack)
            auto, suggest = thresholds(pack)
        except UncalibratedPackError as exc:
            return AssignmentReport(status="skipped", skipped=exc.message)
        proto_faces, proto_persons, proto_vectors = self.people.prototype_matrix(
            self.model_pack, pack.embedding_dim
        )
        if proto_faces.size == 0:
            return AssignmentReport(status="no_prototypes")
        ids, _, vectors = self.faces.embeddings(self.model_pack, pack.embedding_dim)
        if face_ids is not None:
            keep = np.isin(ids, np.asarray(list(face_ids), dtype=np.int64))
            ids, vectors = ids[keep], vectors[keep]
        if ids.size == 0:
            return AssignmentReport(status="no_new_faces")
        report = AssignmentReport(processed=int(ids.size))
        rejected = self.people.rejected_pairs(ids.tolist())
        to_assign: dict[int, list[int]] = {}
        to_suggest: dict[int, list[PersonMatch]] = {}
        step = 4096
        for start in range(0, ids.size, step):
            found = match_faces(
                vectors[start : start + step], proto_vectors, proto_faces, proto_persons, suggest
            )
            for face_id, matches in zip(ids[start : start + step].tolist(), found, strict=True):
                matches = [m for m in matches if (face_id, m.person_id) not in rejected]
                if not matches:
                    report.unassigned += 1
                elif matches[0].confidence >= auto and len(matches) == 1:
                    to_assign.setdefault(matches[0].person_id, []).append(face_id)
                else:
                    report.ambiguous += matches[0].confidence >= auto
                    to_suggest[face_id] = matches[:MAX_PERSONS_PER_FACE]
            if progress:
                progress(min(start + step, int(ids.size)), int(ids.size))
        for person_id, assigned in to_assign.items():
            self.people.assign_faces(assigned, person_id, assigned_by="auto")
            self.suggestions.close_pending_for_faces(assigned, person_id)
            report.auto_assigned += len(assigned)
        report.suggestions_created, report.suggested = record_suggestions(
            self.suggestions, rejected, to_suggest, source="assignment"
        )
        if to_assign:
            self.faces.delete_empty_clusters()  # assigned faces leave their unnamed clusters
        report.persons_touched = sorted(to_assign)
        PrototypeService(self.session, pack).refresh(report.persons_touched)
        return report
