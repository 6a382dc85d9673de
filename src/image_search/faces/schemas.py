"""API shapes of faces and clusters."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from image_search.api.schemas import CamelModel, ItemResultSchema, Page
from image_search.faces.browse import ClusterSummary, FaceWithPerson


class FaceSchema(CamelModel):
    """A detected face; the box is in pixels of the oriented original image."""

    id: int
    asset_id: int
    path: str  # the file the face is in
    model_pack: str
    bbox_x: float
    bbox_y: float
    bbox_w: float
    bbox_h: float
    landmarks: list[list[float]]  # 5 x [x, y]: right eye, left eye, nose, mouth corners
    detector_score: float
    quality: float  # 0..1
    person_id: int | None
    person_name: str | None
    cluster_id: int | None
    assigned_by: str | None  # user, cluster, suggestion, auto
    assigned_at: datetime | None
    # Video faces only (one per face track): the time (s) of the kept frame, the span of the
    # video the track covers (s) and the number of sampled frames it was detected in.
    video_timestamp: float | None
    video_span_start: float | None = None
    video_span_end: float | None = None
    video_track_size: int | None = None
    face_crop_url: str
    thumbnail_url: str

    @classmethod
    def build(cls, item: FaceWithPerson) -> FaceSchema:
        f = item.face
        return cls(
            id=f.id,
            asset_id=f.asset_id,
            path=item.asset_path,
            model_pack=f.model_pack,
            bbox_x=f.box_x,
            bbox_y=f.box_y,
            bbox_w=f.box_width,
            bbox_h=f.box_height,
            landmarks=f.landmarks,
            detector_score=f.detector_score,
            quality=f.quality,
            person_id=f.person_id,
            person_name=item.person_name,
            cluster_id=f.cluster_id,
            assigned_by=f.assigned_by,
            assigned_at=f.assigned_at,
            video_timestamp=f.video_timestamp,
            video_span_start=f.video_span_start,
            video_span_end=f.video_span_end,
            video_track_size=f.video_track_size,
            face_crop_url=f"/api/v1/faces/{f.id}/crop",
            thumbnail_url=f"/api/v1/images/{f.asset_id}/thumbnail",
        )


class FaceListResponse(Page[FaceSchema]):
    pass


class ClusterSchema(CamelModel):
    id: int
    face_count: int
    sample_face_ids: list[int]
    sample_face_urls: list[str]

    @classmethod
    def build(cls, cluster: ClusterSummary) -> ClusterSchema:
        return cls(
            id=cluster.cluster_id,
            face_count=cluster.face_count,
            sample_face_ids=cluster.sample_face_ids,
            sample_face_urls=[f"/api/v1/faces/{f}/crop" for f in cluster.sample_face_ids],
        )


class ClusterListResponse(Page[ClusterSchema]):
    pass


class NameClusterRequest(CamelModel):
    """Either ``name`` (joins the one person of that name, else creates it) or ``personId``."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    person_id: int | None = None
    exclude_face_ids: list[int] = Field(default_factory=list, max_length=10000)


class NameClusterResponse(CamelModel):
    person_id: int
    person_name: str
    created: bool
    faces_assigned: int
    faces_skipped: int
    assigned_face_ids: list[int]  # undo: POST /faces/unassign with these


class AssignFacesRequest(CamelModel):
    face_ids: list[int] = Field(min_length=1, max_length=10000)
    person_id: int | None = None
    new_person_name: str | None = Field(default=None, min_length=1, max_length=255)


class UnassignFacesRequest(CamelModel):
    """``notThisPerson`` remembers each pair as rejected; ``regroup`` puts the faces taken
    back into one new unnamed cluster together (the undo of naming a cluster)."""

    face_ids: list[int] = Field(min_length=1, max_length=10000)
    not_this_person: bool = False
    regroup: bool = False


class FaceBulkResponse(CamelModel):
    person_id: int | None
    processed: int
    failed: int
    results: list[ItemResultSchema]
