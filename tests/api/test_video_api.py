"""Video playback through the API, on a small real library (a talking-head clip with one face,
a raw H.264 stream, a truncated MP4 and a photo): the original with range requests, the
snippet window of a video face, and the cached WebM transcode with its errors."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from image_search.api.app import create_app
from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.models import Asset
from tests.conftest import link_tree, make_settings

CLIP = "liveportrait_source_s18.mp4"  # 9.4 s, 1280x720 H.264 Main + AAC, one person
RAW = "dlib_MOT20-08-raw_shorter.h264"  # no container, no timestamps
TRUNCATED = "svu_corrupted.mp4"  # claims 5356 s, decodes to 70.4 s


@dataclass
class VideoApi:
    client: TestClient
    ids: dict[str, int]  # file name -> asset id
    face_id: int  # the clip's face
    photo_face_id: int
    data_dir: Path

    def get(self, url: str, expect: int = 200) -> Any:
        response = self.client.get(url)
        assert response.status_code == expect, response.text
        return response.json()


@pytest.fixture(scope="module")
def video_api(
    tmp_path_factory: pytest.TempPathFactory, video_dir: Path, faces_dir: Path, models_dir: Path
) -> Iterator[VideoApi]:
    base = tmp_path_factory.mktemp("video-api")
    photo = sorted((faces_dir / "people-small").glob("*/*.png"))[0]
    root = link_tree(
        base / "library",
        {
            "videos": [video_dir / "faces" / CLIP, video_dir / "odd" / RAW],
            "broken": [video_dir / "odd" / TRUNCATED],
            "photos": [photo],
        },
    )
    settings = make_settings(base / "data", models_dir)
    service = IndexService(settings)
    service.index([root])
    with session_scope(service.factory) as session:
        ids = {Path(a.path).name: a.id for a in session.scalars(select(Asset))}
        faces = {
            f.asset_id: f.id for f in session.scalars(select(Face).order_by(Face.quality.desc()))
        }
    service.factory.kw["bind"].dispose()
    app = create_app(settings, run_jobs=False)
    with TestClient(app) as client:
        yield VideoApi(client, ids, faces[ids[CLIP]], faces[ids[photo.name]], settings.data_dir)


def test_original_answers_range_requests(video_api: VideoApi, video_dir: Path) -> None:
    content = (video_dir / "faces" / CLIP).read_bytes()
    url = f"/api/v1/videos/{video_api.ids[CLIP]}/original"
    whole = video_api.client.get(url)
    assert whole.status_code == 200 and whole.content == content
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = video_api.client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(content)}"
    assert part.content == content[1000:2000]
    tail = video_api.client.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == content[-100:]
    beyond = video_api.client.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416


def test_original_errors(video_api: VideoApi) -> None:
    missing = video_api.get("/api/v1/videos/999999/original", expect=404)
    assert missing["error"] == {"code": "not_found", "message": "asset 999999 does not exist"}
    photo_id = next(i for name, i in video_api.ids.items() if name.endswith(".png"))
    photo = video_api.get(f"/api/v1/videos/{photo_id}/original", expect=422)
    assert photo["error"]["message"] == f"asset {photo_id} is a photo, not a video"


def test_face_snippet_window_and_playback(video_api: VideoApi) -> None:
    body = video_api.get(f"/api/v1/faces/{video_api.face_id}/snippet")
    asset_id = video_api.ids[CLIP]
    timestamp = body["timestamp"]
    assert isinstance(timestamp, float) and 0.0 <= timestamp <= 9.5
    start, end = body["start"], body["end"]
    assert isinstance(start, float) and isinstance(end, float)
    duration = body["duration"]
    assert isinstance(duration, float) and duration == pytest.approx(9.43, abs=0.05)
    # 2 s before to 3 s after, clipped to the video, at least 3 s (moved away from the end).
    assert end == pytest.approx(min(duration, timestamp + 3.0), abs=0.001)
    assert start == pytest.approx(max(0.0, min(timestamp - 2.0, end - 3.0)), abs=0.001)
    assert start <= timestamp <= end
    assert body["faceId"] == video_api.face_id and body["assetId"] == asset_id
    assert body["original"] == {
        "url": f"/api/v1/videos/{asset_id}/original",
        "mimeType": 'video/mp4; codecs="avc1.4D401F, mp4a.40.2"',
        "playable": True,
        "reason": None,
    }
    assert body["transcodeUrl"] == (
        f"/api/v1/videos/{asset_id}/snippet?start={start:g}&end={end:g}"
    )
    face = video_api.get(f"/api/v1/faces/{video_api.face_id}")
    assert face["videoTimestamp"] == timestamp
    assert face["videoSpanStart"] == body["spanStart"]


def test_face_snippet_errors(video_api: VideoApi) -> None:
    video_api.get("/api/v1/faces/999999/snippet", expect=404)
    photo = video_api.get(f"/api/v1/faces/{video_api.photo_face_id}/snippet", expect=422)
    assert "is in a photo, not in a video" in photo["error"]["message"]


def test_transcode_is_webm_of_the_window_and_cached(video_api: VideoApi) -> None:
    body = video_api.get(f"/api/v1/faces/{video_api.face_id}/snippet")
    url = str(body["transcodeUrl"])
    first = video_api.client.get(url)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "video/webm"
    with av.open(io.BytesIO(first.content), "r") as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert container.streams.audio[0].codec_context.name == "opus"
        assert container.duration is not None
        window = body["end"] - body["start"]
        assert container.duration / 1e6 == pytest.approx(window, abs=0.5)
    cached = list((video_api.data_dir / "snippets").glob("*/*.webm"))
    assert len(cached) == 1
    made_at = cached[0].stat().st_ino
    again = video_api.client.get(url, headers={"Range": "bytes=0-99"})
    assert again.status_code == 206 and again.content == first.content[:100]
    assert cached[0].stat().st_ino == made_at


def test_transcode_of_a_raw_stream(video_api: VideoApi) -> None:
    asset_id = video_api.ids[RAW]
    response = video_api.client.get(f"/api/v1/videos/{asset_id}/snippet?start=1&end=3.5")
    assert response.status_code == 200, response.text
    with av.open(io.BytesIO(response.content), "r") as container:
        frames = list(container.decode(video=0))
    # 25 fps dated by frame index: frames 25 (1.0 s) to 87 (3.48 s), the first at time 0.
    assert len(frames) == 63 and frames[0].time == 0.0
    assert frames[-1].time == pytest.approx(2.48, abs=0.002)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=3&end=3", "end 3 s must be after start 3 s"),
        ("start=4&end=2", "end 2 s must be after start 4 s"),
        ("start=0&end=31", "window of 31 s is longer than 30 s"),
        ("start=9.5&end=12", "start 9.5 s is past the end of the video (9.400 s)"),
        ("start=5&end=12", "end 12 s is past the end of the video (9.400 s)"),
        ("start=-1&end=2", "query.start: Input should be greater than or equal to 0"),
        ("end=2", "query.start: Field required"),
    ],
)
def test_transcode_refuses_bad_windows(video_api: VideoApi, query: str, message: str) -> None:
    body = video_api.get(f"/api/v1/videos/{video_api.ids[CLIP]}/snippet?{query}", expect=422)
    assert body["error"]["message"] == message


def test_transcode_says_why_a_video_cannot_be_decoded(video_api: VideoApi) -> None:
    asset_id = video_api.ids[TRUNCATED]
    body = video_api.get(f"/api/v1/videos/{asset_id}/snippet?start=100&end=103", expect=422)
    assert body["error"] == {
        "code": "unreadable_media",
        "message": "no video frames between 100.000 s and 103.000 s "
        "(the window is past the last decodable frame)",
    }
    photo_id = next(i for name, i in video_api.ids.items() if name.endswith(".png"))
    video_api.get(f"/api/v1/videos/{photo_id}/snippet?start=0&end=1", expect=422)
    video_api.get("/api/v1/videos/999999/snippet?start=0&end=1", expect=404)


def test_playback_of_a_whole_video(video_api: VideoApi) -> None:
    clip = video_api.ids[CLIP]
    body = video_api.get(f"/api/v1/videos/{clip}/playback")
    assert body["original"]["playable"] is True
    assert body["duration"] == pytest.approx(9.4, abs=0.05)
    assert (body["transcodeStart"], body["transcodeEnd"]) == (0.0, body["duration"])
    assert body["transcodeUrl"] == f"/api/v1/videos/{clip}/snippet?start=0&end=9.4"
    raw = video_api.get(f"/api/v1/videos/{video_api.ids[RAW]}/playback")
    assert raw["original"] == {
        "url": f"/api/v1/videos/{video_api.ids[RAW]}/original",
        "mimeType": None,
        "playable": False,
        "reason": "h264 streams do not play in browsers",
    }
    # The truncated file claims 89 minutes: its preview is the first 30 s.
    broken = video_api.get(f"/api/v1/videos/{video_api.ids[TRUNCATED]}/playback")
    assert broken["transcodeEnd"] == 30.0
