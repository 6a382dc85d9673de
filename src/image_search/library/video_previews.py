"""Playing videos in the browser: the original file (HTTP range requests are answered by the
route's FileResponse), the snippet window around a video face, and cached transcodes of
windows the browser cannot play from the original (library/snippets.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError, MediaError, NotFoundError
from image_search.faces.models import Face
from image_search.library.models import Asset, AssetKind, AssetStatus
from image_search.library.playback import Playback, decide_playback, probe_streams
from image_search.library.snippets import (
    MAX_SNIPPET_SECONDS,
    CachedSnippet,
    SnippetCache,
    check_window,
)

# The default snippet of a face: from 2 s before its timestamp to 3 s after, clipped to the
# video, and at least 3 s long when the video is (the window moves away from the clipped end).
SNIPPET_BEFORE_S = 2.0
SNIPPET_AFTER_S = 3.0
SNIPPET_MIN_S = 3.0
SNIPPETS_FOLDER = "snippets"  # under the data dir


@dataclass(frozen=True, slots=True)
class OriginalVideo:
    asset_id: int
    path: Path
    playback: Playback
    duration: float | None  # seconds

    @property
    def url(self) -> str:
        return original_url(self.asset_id)

    @property
    def preview_window(self) -> tuple[float, float]:
        """The start of the video to transcode when the original cannot play: the first
        ``MAX_SNIPPET_SECONDS`` (all of a shorter video)."""
        end = min(self.duration or MAX_SNIPPET_SECONDS, MAX_SNIPPET_SECONDS)
        return 0.0, int(end * 1000) / 1000


@dataclass(frozen=True, slots=True)
class FaceSnippet:
    """The window to play around a video face, in seconds, and how to get it."""

    face_id: int
    asset_id: int
    timestamp: float
    start: float
    end: float
    duration: float  # of the whole video
    span_start: float | None
    span_end: float | None
    playback: Playback

    @property
    def original_url(self) -> str:
        return original_url(self.asset_id)

    @property
    def transcode_url(self) -> str:
        return transcode_url(self.asset_id, self.start, self.end)


def original_url(asset_id: int) -> str:
    """The API path of the original video file."""
    return f"/api/v1/videos/{asset_id}/original"


def transcode_url(asset_id: int, start: float, end: float) -> str:
    """The API path of the transcoded window (seconds, millisecond precision)."""
    return f"/api/v1/videos/{asset_id}/snippet?start={_seconds(start)}&end={_seconds(end)}"


def _seconds(value: float) -> str:
    return f"{round(value, 3):.3f}".rstrip("0").rstrip(".")


def snippet_window(timestamp: float, duration: float) -> tuple[float, float]:
    """(start, end) in seconds around ``timestamp``: ``SNIPPET_BEFORE_S`` before to
    ``SNIPPET_AFTER_S`` after, clipped to ``[0, duration]``, widened on the other side to
    ``SNIPPET_MIN_S`` when clipping made it shorter, rounded to milliseconds."""
    start = max(0.0, timestamp - SNIPPET_BEFORE_S)
    end = min(duration, timestamp + SNIPPET_AFTER_S)
    if end - start < SNIPPET_MIN_S:
        if start == 0.0:
            end = min(duration, SNIPPET_MIN_S)
        else:
            start = max(0.0, end - SNIPPET_MIN_S)
    # Floor the end: a rounded-up end could pass the last millisecond of the video.
    return round(start, 3), max(round(start, 3) + 0.001, int(end * 1000) / 1000)


class VideoPreviewService:
    """Originals, face snippet windows and transcodes of video assets."""

    def __init__(self, session: Session, data_dir: Path) -> None:
        self.session = session
        self.cache = SnippetCache(data_dir / SNIPPETS_FOLDER)

    def original(self, asset_id: int) -> OriginalVideo:
        """The video file of ``asset_id`` with its playback decision.

        Raises ``NotFoundError`` (unknown asset, or its file is gone), ``InvalidInputError``
        (the asset is a photo), ``MediaError`` (the file cannot be opened as a video).
        """
        return self._original(self._video_asset(asset_id))

    def face_snippet(self, face_id: int) -> FaceSnippet:
        """The snippet window of a video face (``snippet_window`` around its timestamp).

        Raises ``NotFoundError`` (unknown face, or its video's file is gone),
        ``InvalidInputError`` (a face of a photo), ``MediaError`` (unreadable video or
        unknown duration).
        """
        face = self.session.get(Face, face_id)
        if face is None:
            raise NotFoundError(f"face {face_id} does not exist")
        asset = self.session.get(Asset, face.asset_id)
        if asset is None or asset.kind != AssetKind.VIDEO or face.video_timestamp is None:
            raise InvalidInputError(f"face {face_id} is in a photo, not in a video")
        video = self._original(asset)
        if not video.duration:
            raise MediaError(f"the length of video {asset.id} is unknown")
        timestamp = min(max(face.video_timestamp, 0.0), video.duration)
        start, end = snippet_window(timestamp, video.duration)
        return FaceSnippet(
            face_id=face.id,
            asset_id=asset.id,
            timestamp=face.video_timestamp,
            start=start,
            end=end,
            duration=video.duration,
            span_start=face.video_span_start,
            span_end=face.video_span_end,
            playback=video.playback,
        )

    def transcode(self, asset_id: int, start: float, end: float) -> CachedSnippet:
        """The WebM transcode of ``[start, end)`` seconds of a video, from the cache or made
        now (takes about a second for 5 s: call it off the event loop).

        Raises ``NotFoundError``/``InvalidInputError`` as ``original`` does,
        ``InvalidInputError`` for a bad window (``snippets.check_window``), ``MediaError``
        with the reason when the video cannot be decoded there.
        """
        asset = self._video_asset(asset_id)
        video = self._original(asset)
        check_window(start, end, video.duration)
        if video.duration is not None:
            end = min(end, video.duration)
        return self.cache.get(
            video.path, _content_key(asset), round(start * 1000), round(end * 1000)
        )

    def _video_asset(self, asset_id: int) -> Asset:
        asset = self.session.get(Asset, asset_id)
        if asset is None:
            raise NotFoundError(f"asset {asset_id} does not exist")
        if asset.kind != AssetKind.VIDEO:
            raise InvalidInputError(f"asset {asset_id} is a photo, not a video")
        return asset

    @staticmethod
    def _original(asset: Asset) -> OriginalVideo:
        """``original`` of a video asset already looked up."""
        path = Path(asset.path)
        if asset.status == AssetStatus.MISSING or not path.is_file():
            raise NotFoundError(f"the file of asset {asset.id} is missing: {asset.path}")
        facts = probe_streams(path)
        if facts.video_codec is None:
            raise MediaError(f"asset {asset.id} has no video stream")
        duration = asset.duration if asset.duration else facts.duration
        return OriginalVideo(asset.id, path, decide_playback(facts), duration)


def _content_key(asset: Asset) -> str:
    """The asset's content hash; before hashing, a digest of path, size and mtime."""
    if asset.content_hash:
        return asset.content_hash
    stamp = f"{asset.path}\0{asset.size}\0{asset.mtime}".encode()
    return hashlib.sha256(stamp).hexdigest()
