"""API shapes of video playback: the snippet of a video face."""

from __future__ import annotations

from image_search.api.schemas import CamelModel
from image_search.library.playback import Playback
from image_search.library.video_previews import FaceSnippet, OriginalVideo, transcode_url


class OriginalPlaybackSchema(CamelModel):
    """The original file: ``mimeType`` carries the codecs parameter for
    ``HTMLMediaElement.canPlayType`` (null: no browser plays the container); ``playable`` is
    the server's guess, ``reason`` why not."""

    url: str
    mime_type: str | None
    playable: bool
    reason: str | None

    @classmethod
    def build(cls, url: str, playback: Playback) -> OriginalPlaybackSchema:
        return cls(
            url=url,
            mime_type=playback.mime_type,
            playable=playback.playable,
            reason=playback.reason,
        )


class VideoPlaybackSchema(CamelModel):
    """How to play a whole video: the original when the browser can (``canPlayType`` on
    ``original.mimeType``), else ``transcodeUrl``, a WebM of its first 30 s (``transcodeEnd``)."""

    asset_id: int
    duration: float | None  # seconds
    original: OriginalPlaybackSchema
    transcode_url: str
    transcode_start: float
    transcode_end: float

    @classmethod
    def build(cls, video: OriginalVideo) -> VideoPlaybackSchema:
        start, end = video.preview_window
        return cls(
            asset_id=video.asset_id,
            duration=video.duration,
            original=OriginalPlaybackSchema.build(video.url, video.playback),
            transcode_url=transcode_url(video.asset_id, start, end),
            transcode_start=start,
            transcode_end=end,
        )


class FaceSnippetSchema(CamelModel):
    """A few seconds around a video face, in seconds on the video's timeline: play the
    original from ``start`` to ``end`` when the browser can, else ``transcodeUrl`` (a WebM of
    exactly that window, starting at 0)."""

    face_id: int
    asset_id: int
    timestamp: float  # the face's frame
    start: float
    end: float
    duration: float  # of the whole video
    span_start: float | None  # the span the face's track covers
    span_end: float | None
    original: OriginalPlaybackSchema
    transcode_url: str

    @classmethod
    def build(cls, snippet: FaceSnippet) -> FaceSnippetSchema:
        return cls(
            face_id=snippet.face_id,
            asset_id=snippet.asset_id,
            timestamp=snippet.timestamp,
            start=snippet.start,
            end=snippet.end,
            duration=snippet.duration,
            span_start=snippet.span_start,
            span_end=snippet.span_end,
            original=OriginalPlaybackSchema.build(snippet.original_url, snippet.playback),
            transcode_url=snippet.transcode_url,
        )
