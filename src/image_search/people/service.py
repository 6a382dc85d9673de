"""Persons: naming clusters, renaming, merging, splitting (moving faces), hiding, deleting,
cover faces, assigning and unassigning faces, pinned prototypes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError, NotFoundError
from image_search.faces.models import Cluster
from image_search.faces.pack_settings import UncalibratedPackError, load_pack_settings
from image_search.faces.repository import FaceRepository
from image_search.people.models import Person, PersonPrototype
from image_search.people.prototypes import PrototypeService
from image_search.people.repository import PeopleRepository
from image_search.people.suggestion_repository import SuggestionRepository
from image_search.search.names import rank_names

_UNSET = object()


@dataclass(slots=True)
class ItemResult:
    """Outcome for one id of a bulk request."""

    id: int
    ok: bool
    error: str | None = None  # error code, e.g. not_found
    message: str | None = None


@dataclass(slots=True)
class NamedCluster:
    person: Person
    created: bool  # a new person (False: the cluster joined an existing one)
    faces_assigned: int
    faces_skipped: int  # rejected earlier for this person, or excluded by the caller
    assigned_face_ids: list[int]  # what an undo hands back to POST /faces/unassign


@dataclass(slots=True)
class PersonDetail:
    person: Person
    face_count: int
    prototypes: list[PersonPrototype] = field(default_factory=list)
    centroid_face_count: int = 0


def clean_name(name: str) -> str:
    """``name`` with single spaces and, for a hierarchical name, its parts trimmed
    (``" Family / Smith/Anna "`` -> ``"Family/Smith/Anna"``). Raises ``InvalidInputError`` for an
    empty name, an empty part (``"Family//Anna"``) or more than 255 characters."""
    parts = [" ".join(part.split()) for part in name.split("/")]
    if len(parts) > 1 and not all(parts):
        raise InvalidInputError(
            f"{name!r}: every part of a hierarchical name (separated by /) needs a name"
        )
    cleaned = "/".join(parts)
    if not cleaned:
        raise InvalidInputError("a person's name cannot be empty")
    if len(cleaned) > 255:
        raise InvalidInputError("a person's name is at most 255 characters")
    return cleaned


class PersonService:
    def __init__(self, session: Session, model_pack: str) -> None:
        self.session = session
        self.model_pack = model_pack
        self.people = PeopleRepository(session)
        self.suggestions = SuggestionRepository(session)
        self.faces = FaceRepository(session)
        self._deferred: set[int] | None = None  # persons to refresh at the end of a batch

    # reading -----------------------------------------------------------------------------
    def require(self, person_id: int) -> Person:
        person = self.people.get(person_id)
        if person is None:
            raise NotFoundError(f"person {person_id} does not exist")
        return person

    def list_persons(
        self,
        include_hidden: bool = False,
        name_contains: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[tuple[Person, int]]]:
        """(total, [(person, face count)]): by face count, largest first; with
        ``name_contains``, the persons whose name matches it, best match first (name search of
        search/names.py: nested names, partial and accent-insensitive)."""
        if not name_contains or not name_contains.strip():
            return self.people.list_with_counts(include_hidden, None, offset, limit)
        ranked = rank_names(name_contains, self.people.named_items(include_hidden))
        page = [item.id for item, _ in ranked[offset : offset + limit]]
        return len(ranked), self.people.with_counts(page)

    def detail(self, person_id: int) -> PersonDetail:
        person = self.require(person_id)
        centroid = self.people.centroid(person_id, self.model_pack)
        return PersonDetail(
            person,
            self.people.face_count(person_id),
            list(self.people.prototypes(person_id)),
            centroid.face_count if centroid else 0,
        )

    # persons -----------------------------------------------------------------------------
    def create(self, name: str, birth_date: date | None = None) -> Person:
        return self.people.add(Person(name=clean_name(name), hidden=False, birth_date=birth_date))

    def name_cluster(
        self,
        cluster_id: int,
        name: str | None = None,
        person_id: int | None = None,
        exclude_face_ids: Iterable[int] = (),
    ) -> NamedCluster:
        """Give a cluster a name: its faces go to ``person_id``, or to the one existing person
        called ``name`` (ignoring case), or to a new person of that name. Faces rejected for
        that person before, and ``exclude_face_ids``, stay unassigned. The cluster is removed
        (clusters hold unnamed faces).

        Raises ``NotFoundError`` (cluster or person), ``InvalidInputError`` (neither or both of
        name and person, or several persons with that name).
        """
        if self.session.get(Cluster, cluster_id) is None:
            raise NotFoundError(f"cluster {cluster_id} does not exist")
        if (name is None) == (person_id is None):
            raise InvalidInputError("give either a name or a personId")
        created = False
        if person_id is not None:
            person = self.require(person_id)
        else:
            assert name is not None
            same = self.people.by_name(clean_name(name))
            if len(same) > 1:
                raise InvalidInputError(
                    f"{len(same)} persons are called {name!r}: name the cluster by personId"
                )
            if same:
                person = same[0]
            else:
                person, created = self.create(name), True
        face_ids = self.people.cluster_face_ids(cluster_id)
        skip = self.people.rejected_faces(person.id) | set(exclude_face_ids)
        chosen = [f for f in face_ids if f not in skip]
        self.apply_assignment(chosen, person.id, "cluster")
        self.faces.set_clusters([f for f in face_ids if f in skip], None)
        self.faces.delete_empty_clusters()
        if person.cover_face_id is None and chosen:
            person.cover_face_id = self._best_face(chosen)
        return NamedCluster(person, created, len(chosen), len(face_ids) - len(chosen), chosen)

    def update(
        self,
        person_id: int,
        name: str | None = None,
        hidden: bool | None = None,
        birth_date: date | object | None = _UNSET,
        cover_face_id: int | object | None = _UNSET,
        display_name: str | object | None = _UNSET,
    ) -> Person:
        """Rename, hide or show, set or clear the birth date and the cover face.

        Raises ``NotFoundError``; ``InvalidInputError`` when the cover face is not one of the
        person's faces or the birth date lies in the future.
        """
        person = self.require(person_id)
        if name is not None:
            person.name = clean_name(name)
        if display_name is not _UNSET:
            text = " ".join(str(display_name or "").split())
            person.display_name = text or None
        if hidden is not None:
            person.hidden = hidden
        if birth_date is not _UNSET:
            if isinstance(birth_date, date) and birth_date > date.today():
                raise InvalidInputError("the birth date lies in the future")
            person.birth_date = birth_date  # type: ignore[assignment]
        if cover_face_id is not _UNSET:
            if isinstance(cover_face_id, int):
                face = self.people.faces([cover_face_id]).get(cover_face_id)
                if face is None or face.person_id != person_id:
                    raise InvalidInputError(
                        f"face {cover_face_id} is not a face of person {person_id}"
                    )
            person.cover_face_id = cover_face_id if isinstance(cover_face_id, int) else None
        self.session.flush()
        return person

    def merge(self, source_ids: Sequence[int], target_id: int) -> Person:
        """Fold persons into ``target_id``: faces, pinned prototypes, suggestions and rejected
        pairs follow; the sources are deleted. Raises ``NotFoundError``/``InvalidInputError``."""
        target = self.require(target_id)
        sources = [self.require(s) for s in dict.fromkeys(source_ids)]
        if not sources:
            raise InvalidInputError("name at least one person to merge")
        if any(s.id == target_id for s in sources):
            raise InvalidInputError("a person cannot be merged into itself")
        for source in sources:
            self.people.move_all_faces(source.id, target_id)
            self.people.move_pinned_prototypes(source.id, target_id)
            self.suggestions.move_person(source.id, target_id)
            self.people.move_rejections(source.id, target_id)
            if target.cover_face_id is None:
                target.cover_face_id = source.cover_face_id
            self.session.flush()
            self.session.delete(source)
        self.session.flush()
        # Pairs that are now rejected (a source's "not this person") stop being pending, and
        # pending suggestions for faces the target now owns expire; suggestions of other
        # persons' faces (find-mistakes searches) are left alone.
        self.suggestions.reject_pending_of_rejected_pairs(target_id)
        self.suggestions.expire_pending_of_own_faces(target_id)
        self._refresh([target_id])
        return target

    def delete(self, person_id: int) -> int:
        """Delete a person; its faces become unassigned (and can be clustered again), its
        prototypes, suggestions and rejections go. Returns the number of faces released."""
        person = self.require(person_id)
        released = self.people.face_count(person_id)
        self.people.delete(person)
        return released

    # faces -------------------------------------------------------------------------------
    def assign(
        self,
        face_ids: Sequence[int],
        person_id: int | None = None,
        new_person_name: str | None = None,
    ) -> tuple[Person, list[ItemResult]]:
        """Assign faces to a person (moving them from another person splits that one), or to a
        new person named ``new_person_name``. A user's assignment lifts an earlier rejection of
        the pair. Unknown face ids are reported per item; the others are assigned."""
        if (person_id is None) == (new_person_name is None):
            raise InvalidInputError("give either a personId or a newPersonName")
        if not face_ids:
            raise InvalidInputError("give at least one face id")
        found = self.people.faces(face_ids)
        person = self.require(person_id) if person_id is not None else None
        if person is None:
            assert new_person_name is not None
            if not found:
                raise NotFoundError("none of the faces exists: no person was created")
            person = self.create(new_person_name)
        results = [
            ItemResult(f, True)
            if f in found
            else ItemResult(f, False, "not_found", f"face {f} does not exist")
            for f in dict.fromkeys(face_ids)
        ]
        ok = [r.id for r in results if r.ok]
        self.people.remove_rejections(ok, person.id)
        self.apply_assignment(ok, person.id, "user")
        if person.cover_face_id is None and ok:
            person.cover_face_id = self._best_face(ok)
        return person, results

    def unassign(
        self, face_ids: Sequence[int], not_this_person: bool = False, regroup: bool = False
    ) -> list[ItemResult]:
        """Take faces away from their person; with ``not_this_person`` the pair is remembered
        so it is never suggested or auto-assigned again. With ``regroup`` the faces taken back
        go into one new unnamed cluster together (one per model pack, normally the configured
        one): the undo of naming a cluster, whose faces left their cluster when named.
        Without it they stay unclustered until the next clustering run. Per-item results;
        ids that fail (unknown, or a face without a person) are not regrouped."""
        if not face_ids:
            raise InvalidInputError("give at least one face id")
        found = self.people.faces(face_ids)
        results: list[ItemResult] = []
        touched: dict[int, list[int]] = {}
        for f in dict.fromkeys(face_ids):
            face = found.get(f)
            if face is None:
                results.append(ItemResult(f, False, "not_found", f"face {f} does not exist"))
            elif face.person_id is None:
                results.append(ItemResult(f, False, "conflict", f"face {f} has no person"))
            else:
                touched.setdefault(face.person_id, []).append(f)
                results.append(ItemResult(f, True))
        for person_id, ids in touched.items():
            if not_this_person:
                self.people.add_rejections((f, person_id) for f in ids)
            self.people.unassign_faces(ids)
            self._clear_cover(person_id, ids)
        if regroup:
            by_pack: dict[str, list[int]] = {}
            for ids in touched.values():
                for f in ids:
                    by_pack.setdefault(found[f].model_pack, []).append(f)
            for pack, pack_faces in by_pack.items():
                self.faces.set_clusters(pack_faces, self.faces.new_cluster(pack).id)
        self.session.flush()
        self._refresh(touched)
        return results

    def set_prototype_pinned(self, person_id: int, face_id: int, pinned: bool) -> PersonDetail:
        """Pin (or unpin) one of the person's faces as a prototype."""
        self.require(person_id)
        face = self.people.faces([face_id]).get(face_id)
        if face is None:
            raise NotFoundError(f"face {face_id} does not exist")
        if face.person_id != person_id:
            raise InvalidInputError(f"face {face_id} is not a face of person {person_id}")
        self.people.set_pinned(person_id, face_id, face.model_pack, pinned)
        self._refresh([person_id])
        return self.detail(person_id)

    # helpers -----------------------------------------------------------------------------
    def apply_assignment(self, face_ids: Sequence[int], person_id: int, assigned_by: str) -> None:
        """Give existing faces to a person and keep everything that depends on a person's faces
        in step: pending suggestions of the faces (accepted for this person, expired for
        others), cover faces of the persons they leave, unnamed clusters left empty, prototypes
        and centroids of both. ``assigned_by``: user, cluster, suggestion or auto. No
        validation: callers check ids."""
        if not face_ids:
            return
        faces = self.people.faces(face_ids).values()
        previous = {f.person_id for f in faces if f.person_id is not None}
        left_cluster = any(f.cluster_id is not None for f in faces)
        self.people.assign_faces(face_ids, person_id, assigned_by)
        self.suggestions.close_pending_for_faces(face_ids, person_id)
        for other in previous - {person_id}:
            self._clear_cover(other, face_ids)
        self.session.flush()
        if left_cluster:
            self.faces.delete_empty_clusters()
        self._refresh(previous | {person_id})

    def _clear_cover(self, person_id: int, face_ids: Iterable[int]) -> None:
        person = self.people.get(person_id)
        if person is not None and person.cover_face_id in set(face_ids):
            remaining = self.people.person_face_ids(person_id)
            left = [f for f in remaining if f not in set(face_ids)]
            person.cover_face_id = self._best_face(left) if left else None

    def _best_face(self, face_ids: Sequence[int]) -> int | None:
        faces = self.people.faces(face_ids)
        return max(faces.values(), key=lambda f: f.quality).id if faces else None

    @contextmanager
    def batched_refresh(self) -> Iterator[None]:
        """Within the block, prototypes and centroids of touched persons are refreshed once, at
        the end (a bulk accept of 1,000 faces of one person refreshes it once, not 1,000
        times)."""
        outer = self._deferred is None
        if outer:
            self._deferred = set()
        try:
            yield
        finally:
            if outer:
                touched, self._deferred = self._deferred or set(), None
                self._refresh(touched)

    def _refresh(self, person_ids: Iterable[int]) -> None:
        if self._deferred is not None:
            self._deferred.update(person_ids)
            return
        try:
            pack = load_pack_settings(self.faces, self.model_pack)
        except UncalibratedPackError:
            return  # no prototypes for a pack that cannot be matched anyway
        PrototypeService(self.session, pack).refresh(list(person_ids))
