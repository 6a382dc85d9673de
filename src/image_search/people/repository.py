"""All SQL of persons, their faces, prototypes, centroids and rejected pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from image_search.db.base import utcnow
from image_search.faces.models import Face
from image_search.faces.repository import embedding_matrix
from image_search.people.models import (
    FaceRejection,
    Person,
    PersonCentroid,
    PersonPrototype,
    PrototypeRole,
)
from image_search.search.names import NamedItem


class PeopleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # persons -----------------------------------------------------------------------------
    def get(self, person_id: int) -> Person | None:
        return self.session.get(Person, person_id)

    def add(self, person: Person) -> Person:
        self.session.add(person)
        self.session.flush()
        return person

    def delete(self, person: Person) -> None:
        self.session.execute(
            update(Face)
            .where(Face.person_id == person.id)
            .values(person_id=None, assigned_by=None, assigned_at=None)
        )
        self.session.delete(person)
        self.session.flush()

    def by_name(self, name: str) -> Sequence[Person]:
        """Persons whose name equals ``name`` ignoring case."""
        return self.session.scalars(
            select(Person).where(func.lower(Person.name) == name.lower()).order_by(Person.id)
        ).all()

    def list_with_counts(
        self, include_hidden: bool, name_contains: str | None, offset: int, limit: int
    ) -> tuple[int, list[tuple[Person, int]]]:
        """(total, [(person, face count)]) ordered by face count, then name."""
        filters: list[ColumnElement[bool]] = []
        if not include_hidden:
            filters.append(Person.hidden.is_(False))
        if name_contains:
            filters.append(func.lower(Person.name).contains(name_contains.lower()))
        total = self.session.scalar(select(func.count(Person.id)).where(*filters)) or 0
        counts = (
            select(Face.person_id, func.count(Face.id).label("n"))
            .where(Face.person_id.is_not(None))
            .group_by(Face.person_id)
            .subquery()
        )
        rows = self.session.execute(
            select(Person, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.person_id == Person.id)
            .where(*filters)
            .order_by(func.coalesce(counts.c.n, 0).desc(), Person.name, Person.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return total, [(p, int(n)) for p, n in rows]

    def face_count(self, person_id: int) -> int:
        return (
            self.session.scalar(select(func.count(Face.id)).where(Face.person_id == person_id)) or 0
        )

    def face_counts(self, person_ids: Iterable[int]) -> dict[int, int]:
        """Face count of each person (one grouped query; persons without faces: 0)."""
        ids = list(set(person_ids))
        counts = dict.fromkeys(ids, 0)
        if ids:
            rows = self.session.execute(
                # count(*): answered from ix_faces_person_asset alone (no heap reads)
                select(Face.person_id, func.count())
                .where(Face.person_id.in_(ids))
                .group_by(Face.person_id)
            )
            counts.update({int(p): int(n) for p, n in rows if p is not None})
        return counts

    def named_items(self, include_hidden: bool) -> list[NamedItem]:
        """Every person's id, name and display name (for name search)."""
        query = select(Person.id, Person.name, Person.display_name)
        if not include_hidden:
            query = query.where(Person.hidden.is_(False))
        return [NamedItem(int(i), str(n), d) for i, n, d in self.session.execute(query)]

    def with_counts(self, person_ids: Sequence[int]) -> list[tuple[Person, int]]:
        """The persons of ``person_ids`` in that order, with their face counts."""
        found = {
            p.id: p for p in self.session.scalars(select(Person).where(Person.id.in_(person_ids)))
        }
        counts = self.face_counts(person_ids)
        return [(found[i], counts.get(i, 0)) for i in person_ids if i in found]

    def names(self, person_ids: Iterable[int]) -> dict[int, str]:
        ids = list(set(person_ids))
        if not ids:
            return {}
        rows = self.session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
        return {int(i): str(n) for i, n in rows}

    # faces -------------------------------------------------------------------------------
    def faces(self, face_ids: Iterable[int]) -> dict[int, Face]:
        ids = list(set(face_ids))
        if not ids:
            return {}
        return {f.id: f for f in self.session.scalars(select(Face).where(Face.id.in_(ids)))}

    def person_face_ids(self, person_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(Face.id).where(Face.person_id == person_id).order_by(Face.id)
            )
        )

    def cluster_face_ids(self, cluster_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(Face.id).where(Face.cluster_id == cluster_id).order_by(Face.id)
            )
        )

    def assign_faces(self, face_ids: Sequence[int], person_id: int, assigned_by: str) -> None:
        """Point faces at a person; they leave their cluster (a cluster holds unnamed faces)."""
        for start in range(0, len(face_ids), 500):
            self.session.execute(
                update(Face)
                .where(Face.id.in_(list(face_ids[start : start + 500])))
                .values(
                    person_id=person_id,
                    cluster_id=None,
                    assigned_by=assigned_by,
                    assigned_at=utcnow(),
                )
            )

    def unassign_faces(self, face_ids: Sequence[int]) -> None:
        for start in range(0, len(face_ids), 500):
            self.session.execute(
                update(Face)
                .where(Face.id.in_(list(face_ids[start : start + 500])))
                .values(person_id=None, assigned_by=None, assigned_at=None)
            )

    def move_all_faces(self, source_id: int, target_id: int) -> None:
        self.session.execute(
            update(Face).where(Face.person_id == source_id).values(person_id=target_id)
        )

    def labelled_embeddings(
        self, person_id: int, model_pack: str, dim: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(face ids int64 (n,), quality float32 (n,), embeddings float32 (n, dim)) of a
        person's faces of one pack."""
        rows = self.session.execute(
            select(Face.id, Face.quality, Face.embedding)
            .where(
                Face.person_id == person_id,
                Face.model_pack == model_pack,
                Face.embedding_dim == dim,
            )
            .order_by(Face.id)
        ).all()
        return (
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.float32),
            embedding_matrix([r[2] for r in rows], dim),
        )

    def candidate_embeddings(
        self, model_pack: str, dim: int, exclude_person_id: int | None, unassigned_only: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(face ids int64 (n,), person ids int64 (n,) with -1 for none, embeddings (n, dim)):
        the faces a person's suggestions may be drawn from."""
        query = select(Face.id, Face.person_id, Face.embedding).where(
            Face.model_pack == model_pack, Face.embedding_dim == dim
        )
        if unassigned_only:
            query = query.where(Face.person_id.is_(None))
        elif exclude_person_id is not None:
            query = query.where((Face.person_id.is_(None)) | (Face.person_id != exclude_person_id))
        rows = self.session.execute(query.order_by(Face.id)).all()
        return (
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64),
            embedding_matrix([r[2] for r in rows], dim),
        )

    # prototypes --------------------------------------------------------------------------
    def prototypes(self, person_id: int) -> Sequence[PersonPrototype]:
        return self.session.scalars(
            select(PersonPrototype)
            .where(PersonPrototype.person_id == person_id)
            .order_by(PersonPrototype.role.desc(), PersonPrototype.id)
        ).all()

    def replace_auto_prototypes(
        self, person_id: int, model_pack: str, face_ids: Sequence[int]
    ) -> None:
        self.session.execute(
            delete(PersonPrototype).where(
                PersonPrototype.person_id == person_id,
                PersonPrototype.role == PrototypeRole.AUTO,
            )
        )
        self.session.add_all(
            PersonPrototype(
                person_id=person_id,
                face_id=int(face_id),
                model_pack=model_pack,
                role=PrototypeRole.AUTO,
            )
            for face_id in face_ids
        )
        self.session.flush()

    def set_pinned(self, person_id: int, face_id: int, model_pack: str, pinned: bool) -> None:
        self.session.execute(
            delete(PersonPrototype).where(
                PersonPrototype.person_id == person_id, PersonPrototype.face_id == face_id
            )
        )
        if pinned:
            self.session.add(
                PersonPrototype(
                    person_id=person_id,
                    face_id=face_id,
                    model_pack=model_pack,
                    role=PrototypeRole.PINNED,
                )
            )
        self.session.flush()

    def drop_prototypes_not_owned(self, person_id: int) -> None:
        """Remove prototypes whose face no longer belongs to the person."""
        owned = select(Face.id).where(Face.person_id == person_id)
        self.session.execute(
            delete(PersonPrototype).where(
                PersonPrototype.person_id == person_id, PersonPrototype.face_id.not_in(owned)
            )
        )

    def move_pinned_prototypes(self, source_id: int, target_id: int) -> None:
        already = select(PersonPrototype.face_id).where(PersonPrototype.person_id == target_id)
        self.session.execute(
            update(PersonPrototype)
            .where(
                PersonPrototype.person_id == source_id,
                PersonPrototype.role == PrototypeRole.PINNED,
                PersonPrototype.face_id.not_in(already),
            )
            .values(person_id=target_id)
        )

    def prototype_matrix(
        self, model_pack: str, dim: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prototype face ids int64 (p,), person ids int64 (p,), embeddings (p, dim)) of every
        person's prototypes of one pack."""
        rows = self.session.execute(
            select(PersonPrototype.face_id, PersonPrototype.person_id, Face.embedding)
            .join(Face, Face.id == PersonPrototype.face_id)
            .where(
                PersonPrototype.model_pack == model_pack,
                Face.embedding_dim == dim,
                Face.person_id == PersonPrototype.person_id,
            )
            .order_by(PersonPrototype.person_id, PersonPrototype.face_id)
        ).all()
        return (
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            embedding_matrix([r[2] for r in rows], dim),
        )

    # centroids ---------------------------------------------------------------------------
    def centroid(self, person_id: int, model_pack: str) -> PersonCentroid | None:
        return self.session.get(PersonCentroid, (person_id, model_pack))

    def save_centroid(
        self, person_id: int, model_pack: str, vector: np.ndarray | None, face_count: int
    ) -> None:
        existing = self.centroid(person_id, model_pack)
        if vector is None:
            if existing is not None:
                self.session.delete(existing)
            return
        blob = np.asarray(vector, dtype="<f4").tobytes()
        if existing is None:
            self.session.add(
                PersonCentroid(
                    person_id=person_id,
                    model_pack=model_pack,
                    embedding=blob,
                    face_count=face_count,
                )
            )
        else:
            existing.embedding = blob
            existing.face_count = face_count
            existing.updated_at = utcnow()

    # rejections --------------------------------------------------------------------------
    def add_rejections(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Remember ``(face id, person id)`` pairs as "not this person" (idempotent)."""
        wanted = set(pairs)
        if not wanted:
            return
        known = self.rejected_pairs(face for face, _ in wanted)
        self.session.add_all(
            FaceRejection(face_id=f, person_id=p) for f, p in sorted(wanted - known)
        )
        self.session.flush()

    def remove_rejections(self, face_ids: Sequence[int], person_id: int) -> None:
        if face_ids:
            self.session.execute(
                delete(FaceRejection).where(
                    FaceRejection.person_id == person_id,
                    FaceRejection.face_id.in_(list(face_ids)),
                )
            )

    def rejected_pairs(self, face_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
        query = select(FaceRejection.face_id, FaceRejection.person_id)
        if face_ids is not None:
            ids = list(set(face_ids))
            if not ids:
                return set()
            pairs: set[tuple[int, int]] = set()
            for start in range(0, len(ids), 500):
                rows = self.session.execute(
                    query.where(FaceRejection.face_id.in_(ids[start : start + 500]))
                )
                pairs.update((int(f), int(p)) for f, p in rows)
            return pairs
        return {(int(f), int(p)) for f, p in self.session.execute(query)}

    def rejected_faces(self, person_id: int) -> set[int]:
        return set(
            self.session.scalars(
                select(FaceRejection.face_id).where(FaceRejection.person_id == person_id)
            )
        )

    def move_rejections(self, source_id: int, target_id: int) -> None:
        already = select(FaceRejection.face_id).where(FaceRejection.person_id == target_id)
        self.session.execute(
            update(FaceRejection)
            .where(FaceRejection.person_id == source_id, FaceRejection.face_id.not_in(already))
            .values(person_id=target_id)
        )
