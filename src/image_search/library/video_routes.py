"""HTTP: video playback: the original with range requests, a face's snippet window, and
cached WebM transcodes of a window."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from image_search.api.deps import SessionDep, SettingsDep
from image_search.api.schemas import ERROR_RESPONSES
from image_search.library.snippets import SNIPPET_MEDIA_TYPE
from image_search.library.video_previews import VideoPreviewService
from image_search.library.video_schemas import FaceSnippetSchema, VideoPlaybackSchema

router = APIRouter(prefix="/api/v1", tags=["videos"], responses=ERROR_RESPONSES)

_VIDEO_BODY: dict[int | str, dict[str, object]] = {
    200: {"description": "The whole file", "content": {"video/*": {}}},
    206: {"description": "The requested byte range (`Range: bytes=...`)"},
}


@router.get("/videos/{asset_id}/original", response_class=FileResponse, responses=_VIDEO_BODY)
def original_video(asset_id: int, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """The original video file, with HTTP range requests (206 Partial Content,
    `Accept-Ranges: bytes`) so browsers can seek. 404 unknown asset or missing file, 422 a
    photo or a file that is no video."""
    video = VideoPreviewService(session, settings.data_dir).original(asset_id)
    return FileResponse(video.path, media_type=video.playback.content_type)


@router.get("/videos/{asset_id}/playback", response_model=VideoPlaybackSchema)
def video_playback(
    asset_id: int, session: SessionDep, settings: SettingsDep
) -> VideoPlaybackSchema:
    """How to play a video: the original's URL and MIME type (with codecs, for
    `canPlayType`), the server's guess whether browsers play it, and a transcode of its first
    30 s for browsers that cannot. 404 unknown asset or missing file, 422 a photo."""
    video = VideoPreviewService(session, settings.data_dir).original(asset_id)
    return VideoPlaybackSchema.build(video)


@router.get("/faces/{face_id}/snippet", response_model=FaceSnippetSchema)
def face_snippet(face_id: int, session: SessionDep, settings: SettingsDep) -> FaceSnippetSchema:
    """The few seconds to play around a video face (2 s before its timestamp to 3 s after,
    clipped to the video, at least 3 s), with the original's MIME type for `canPlayType` and
    the URL of a transcode of that window. 404 unknown face, 422 a face of a photo."""
    snippet = VideoPreviewService(session, settings.data_dir).face_snippet(face_id)
    return FaceSnippetSchema.build(snippet)


@router.get(
    "/videos/{asset_id}/snippet",
    response_class=FileResponse,
    responses={200: {"description": "WebM (VP9, Opus)", "content": {SNIPPET_MEDIA_TYPE: {}}}},
)
def video_snippet(
    asset_id: int,
    session: SessionDep,
    settings: SettingsDep,
    start: float = Query(ge=0, description="Seconds from the start of the video."),
    end: float = Query(gt=0, description="Seconds; after start, within the video."),
) -> FileResponse:
    """The window `[start, end)` of a video as a small WebM (VP9 + Opus, at most 480 px),
    made on first request (about a second per 5 s) and then cached; range requests work. 422
    for a bad window (end <= start, longer than 30 s, outside the video) or a video that
    cannot be decoded there (the message says why)."""
    snippet = VideoPreviewService(session, settings.data_dir).transcode(asset_id, start, end)
    return FileResponse(snippet.path, media_type=SNIPPET_MEDIA_TYPE)
