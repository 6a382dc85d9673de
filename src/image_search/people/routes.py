"""HTTP: persons (list, create, detail, update, delete, merge, faces, pinned prototypes)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from image_search.api.deps import SessionDep, SettingsDep
from image_search.api.schemas import ERROR_RESPONSES
from image_search.faces.browse import FaceBrowseService
from image_search.faces.schemas import FaceListResponse, FaceSchema
from image_search.people.schemas import (
    DeletedResponse,
    MergeRequest,
    PersonCreate,
    PersonDetailSchema,
    PersonListResponse,
    PersonSchema,
    PersonUpdate,
    PinRequest,
)
from image_search.people.service import PersonService

router = APIRouter(prefix="/api/v1/persons", tags=["persons"], responses=ERROR_RESPONSES)


@router.get("", response_model=PersonListResponse)
def list_persons(
    session: SessionDep,
    settings: SettingsDep,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, alias="pageSize", ge=1, le=500),
    include_hidden: bool = Query(default=False, alias="includeHidden"),
    search: str | None = Query(default=None, max_length=255),
) -> PersonListResponse:
    """Persons by face count (largest first); hidden ones only with ``includeHidden``.
    With ``search``: the persons whose name matches, best match first (any part of a nested
    name, display name, partial, ignoring case and accents; an exact match before a longer
    name containing it)."""
    total, rows = PersonService(session, settings.model_pack).list_persons(
        include_hidden, search, (page - 1) * page_size, page_size
    )
    return PersonListResponse(
        items=[PersonSchema.build(p, n) for p, n in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post("", response_model=PersonDetailSchema, status_code=201)
def create_person(
    body: PersonCreate, session: SessionDep, settings: SettingsDep
) -> PersonDetailSchema:
    """Create a person without faces (assign faces to it afterwards)."""
    service = PersonService(session, settings.model_pack)
    person = service.create(body.name, body.birth_date)
    return PersonDetailSchema.from_detail(service.detail(person.id))


@router.get("/{person_id}", response_model=PersonDetailSchema)
def get_person(person_id: int, session: SessionDep, settings: SettingsDep) -> PersonDetailSchema:
    """A person with face count, prototypes (auto and pinned) and centroid size."""
    return PersonDetailSchema.from_detail(
        PersonService(session, settings.model_pack).detail(person_id)
    )


@router.patch("/{person_id}", response_model=PersonDetailSchema)
def update_person(
    person_id: int, body: PersonUpdate, session: SessionDep, settings: SettingsDep
) -> PersonDetailSchema:
    """Rename (``name``, hierarchical with ``/``), set or clear (``null``) the display name,
    hide/show, set or clear the birth date and the cover face. Only the fields sent change.
    422 when the cover face is not the person's."""
    service = PersonService(session, settings.model_pack)
    sent = body.model_fields_set
    kwargs: dict[str, object] = {}
    if "birth_date" in sent:
        kwargs["birth_date"] = body.birth_date
    if "cover_face_id" in sent:
        kwargs["cover_face_id"] = body.cover_face_id
    if "display_name" in sent:
        kwargs["display_name"] = body.display_name
    service.update(person_id, name=body.name, hidden=body.hidden, **kwargs)
    return PersonDetailSchema.from_detail(service.detail(person_id))


@router.delete("/{person_id}", response_model=DeletedResponse)
def delete_person(person_id: int, session: SessionDep, settings: SettingsDep) -> DeletedResponse:
    """Delete a person; its faces become unassigned."""
    released = PersonService(session, settings.model_pack).delete(person_id)
    return DeletedResponse(id=person_id, faces_released=released)


@router.post("/{person_id}/merge", response_model=PersonDetailSchema)
def merge_persons(
    person_id: int, body: MergeRequest, session: SessionDep, settings: SettingsDep
) -> PersonDetailSchema:
    """Merge ``sourcePersonIds`` into this person: faces, pinned prototypes, suggestions and
    rejections follow; the sources are deleted."""
    service = PersonService(session, settings.model_pack)
    service.merge(body.source_person_ids, person_id)
    return PersonDetailSchema.from_detail(service.detail(person_id))


@router.get("/{person_id}/faces", response_model=FaceListResponse)
def person_faces(
    person_id: int,
    session: SessionDep,
    settings: SettingsDep,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, alias="pageSize", ge=1, le=500),
) -> FaceListResponse:
    """The person's faces, best quality first."""
    total, faces = FaceBrowseService(session, settings.model_pack).person_faces(
        person_id, page, page_size
    )
    return FaceListResponse(
        items=[FaceSchema.build(f) for f in faces], total=total, page=page, page_size=page_size
    )


@router.put("/{person_id}/prototypes/{face_id}", response_model=PersonDetailSchema)
def pin_prototype(
    person_id: int, face_id: int, body: PinRequest, session: SessionDep, settings: SettingsDep
) -> PersonDetailSchema:
    """Pin (``pinned: true``) or unpin one of the person's faces as a prototype."""
    detail = PersonService(session, settings.model_pack).set_prototype_pinned(
        person_id, face_id, body.pinned
    )
    return PersonDetailSchema.from_detail(detail)
