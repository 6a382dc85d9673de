"""HTTP: clusters (list, faces, name) and faces (detail, crop, assign, unassign)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from image_search.api.deps import SessionDep, SettingsDep
from image_search.api.schemas import ERROR_RESPONSES, ItemResultSchema
from image_search.faces.browse import FaceBrowseService
from image_search.faces.schemas import (
    AssignFacesRequest,
    ClusterListResponse,
    ClusterSchema,
    FaceBulkResponse,
    FaceListResponse,
    FaceSchema,
    NameClusterRequest,
    NameClusterResponse,
    UnassignFacesRequest,
)
from image_search.library.catalog import CatalogService
from image_search.people.service import ItemResult, PersonService

router = APIRouter(prefix="/api/v1", tags=["faces"], responses=ERROR_RESPONSES)
PageQuery = Query(default=1, ge=1)
PageSizeQuery = Query(default=50, alias="pageSize", ge=1, le=500)


@router.get("/clusters", response_model=ClusterListResponse)
def list_clusters(
    session: SessionDep,
    settings: SettingsDep,
    page: int = PageQuery,
    page_size: int = PageSizeQuery,
) -> ClusterListResponse:
    """Unnamed clusters of the configured pack, largest first, with sample faces."""
    total, clusters = FaceBrowseService(session, settings.model_pack).clusters(page, page_size)
    return ClusterListResponse(
        items=[ClusterSchema.build(c) for c in clusters],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/clusters/{cluster_id}/faces", response_model=FaceListResponse)
def cluster_faces(
    cluster_id: int,
    session: SessionDep,
    settings: SettingsDep,
    page: int = PageQuery,
    page_size: int = PageSizeQuery,
) -> FaceListResponse:
    """A cluster's faces, best quality first. 404 for an unknown cluster."""
    total, faces = FaceBrowseService(session, settings.model_pack).cluster_faces(
        cluster_id, page, page_size
    )
    return FaceListResponse(
        items=[FaceSchema.build(f) for f in faces], total=total, page=page, page_size=page_size
    )


@router.post("/clusters/{cluster_id}/name", response_model=NameClusterResponse)
def name_cluster(
    cluster_id: int, body: NameClusterRequest, session: SessionDep, settings: SettingsDep
) -> NameClusterResponse:
    """Name a cluster: its faces go to ``personId``, or to the one person called ``name``, or
    to a new person. Faces rejected for that person and ``excludeFaceIds`` stay unassigned."""
    named = PersonService(session, settings.model_pack).name_cluster(
        cluster_id, body.name, body.person_id, body.exclude_face_ids
    )
    return NameClusterResponse(
        person_id=named.person.id,
        person_name=named.person.name,
        created=named.created,
        faces_assigned=named.faces_assigned,
        faces_skipped=named.faces_skipped,
        assigned_face_ids=named.assigned_face_ids,
    )


@router.get("/faces/{face_id}", response_model=FaceSchema)
def get_face(face_id: int, session: SessionDep, settings: SettingsDep) -> FaceSchema:
    """One face with its box, landmarks, scores and person."""
    return FaceSchema.build(FaceBrowseService(session, settings.model_pack).face(face_id))


@router.get("/faces/{face_id}/crop", response_class=FileResponse)
def face_crop(face_id: int, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """The face's JPEG crop (a margin around the box)."""
    found = CatalogService(session, settings.data_dir).face_crop(face_id)
    return FileResponse(found.path, media_type=found.media_type)


@router.post("/faces/assign", response_model=FaceBulkResponse)
def assign_faces(
    body: AssignFacesRequest, session: SessionDep, settings: SettingsDep
) -> FaceBulkResponse:
    """Assign faces to ``personId`` or to a new person ``newPersonName`` (moving faces away
    from another person splits it). One result per face id; unknown ids fail alone."""
    person, results = PersonService(session, settings.model_pack).assign(
        body.face_ids, body.person_id, body.new_person_name
    )
    return _bulk(person.id, results)


@router.post("/faces/unassign", response_model=FaceBulkResponse)
def unassign_faces(
    body: UnassignFacesRequest, session: SessionDep, settings: SettingsDep
) -> FaceBulkResponse:
    """Take faces from their person; ``notThisPerson`` remembers the pair so it is never
    suggested or auto-assigned again; ``regroup`` puts the faces taken back into one new
    unnamed cluster (undoing the naming of a cluster). One result per face id."""
    results = PersonService(session, settings.model_pack).unassign(
        body.face_ids, body.not_this_person, body.regroup
    )
    return _bulk(None, results)


def _bulk(person_id: int | None, results: list[ItemResult]) -> FaceBulkResponse:
    items = [ItemResultSchema.model_validate(r) for r in results]
    ok = sum(i.ok for i in items)
    return FaceBulkResponse(
        person_id=person_id, processed=ok, failed=len(items) - ok, results=items
    )
