"""Reading faces and clusters for the API: one face, a person's or a cluster's faces, the
cluster list with samples."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from image_search.errors import NotFoundError
from image_search.faces.models import Cluster, Face
from image_search.faces.repository import FaceRepository
from image_search.library.models import Asset
from image_search.paging import page_offset
from image_search.people.repository import PeopleRepository

MAX_PAGE_SIZE = 500


@dataclass(slots=True)
class FaceWithPerson:
    face: Face
    person_name: str | None
    asset_path: str


@dataclass(slots=True)
class ClusterSummary:
    cluster_id: int
    face_count: int
    sample_face_ids: list[int]  # best quality first


class FaceBrowseService:
    def __init__(self, session: Session, model_pack: str) -> None:
        self.session = session
        self.model_pack = model_pack
        self.faces = FaceRepository(session)
        self.people = PeopleRepository(session)

    def face(self, face_id: int) -> FaceWithPerson:
        face = self.session.get(Face, face_id)
        if face is None:
            raise NotFoundError(f"face {face_id} does not exist")
        return self._with_names([face])[0]

    def person_faces(
        self, person_id: int, page: int, page_size: int
    ) -> tuple[int, list[FaceWithPerson]]:
        """A person's faces, best quality first. Raises ``NotFoundError`` for no person."""
        if self.people.get(person_id) is None:
            raise NotFoundError(f"person {person_id} does not exist")
        return self._page(Face.person_id == person_id, page, page_size)

    def cluster_faces(
        self, cluster_id: int, page: int, page_size: int
    ) -> tuple[int, list[FaceWithPerson]]:
        if self.session.get(Cluster, cluster_id) is None:
            raise NotFoundError(f"cluster {cluster_id} does not exist")
        return self._page(Face.cluster_id == cluster_id, page, page_size)

    def clusters(
        self, page: int, page_size: int, samples: int = 6
    ) -> tuple[int, list[ClusterSummary]]:
        """The pack's unnamed clusters, largest first, each with its best faces."""
        offset = page_offset(page, page_size, MAX_PAGE_SIZE)
        sizes = self.faces.cluster_sizes(self.model_pack)
        return len(sizes), [
            ClusterSummary(
                cluster_id, count, [f for f, _ in self.faces.cluster_samples(cluster_id, samples)]
            )
            for cluster_id, count in sizes[offset : offset + page_size]
        ]

    def _page(
        self, condition: object, page: int, page_size: int
    ) -> tuple[int, list[FaceWithPerson]]:
        offset = page_offset(page, page_size, MAX_PAGE_SIZE)
        total = self.session.scalar(select(func.count(Face.id)).where(condition)) or 0  # type: ignore[arg-type]
        rows = self.session.scalars(
            select(Face)
            .where(condition)  # type: ignore[arg-type]
            .order_by(Face.quality.desc(), Face.id)
            .offset(offset)
            .limit(page_size)
        ).all()
        return int(total), self._with_names(list(rows))

    def _with_names(self, faces: list[Face]) -> list[FaceWithPerson]:
        return with_names_and_paths(self.session, faces)


def with_names_and_paths(session: Session, faces: list[Face]) -> list[FaceWithPerson]:
    """Faces with their person's name and their file's path (two queries in all)."""
    names = PeopleRepository(session).names(f.person_id for f in faces if f.person_id is not None)
    asset_ids = list({f.asset_id for f in faces})
    paths = (
        {
            i: p
            for i, p in session.execute(select(Asset.id, Asset.path).where(Asset.id.in_(asset_ids)))
        }
        if asset_ids
        else {}
    )
    return [
        FaceWithPerson(
            f, names.get(f.person_id) if f.person_id is not None else None, paths[f.asset_id]
        )
        for f in faces
    ]
