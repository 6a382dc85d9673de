"""Videos through the whole pipeline, on the real clips of ../shared/data/video with the real
YuNet + dlib pack: ``faces/`` (people talking, a crowd, an animated GIF) and ``odd/`` (raw
H.264/H.265 streams, rotated, variable frame rate, WebM/MKV without frame counts, MPEG-4
part 2, invalid UTF-8 tags, a truncated and an empty file). Both folders are indexed once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.catalog import CatalogService
from image_search.library.models import Asset, AssetKind, AssetStatus, Stage
from image_search.library.repository import AssetRepository
from image_search.people.service import PersonService
from image_search.search.filters import SearchFilters
from image_search.search.service import SearchRequest, SearchService
from tests.conftest import make_settings

# The crowd seen from above (MOTChallenge MOT20-05): heads of 5-8 px, below what any face
# detector can find or an embedder can recognise; indexed, without faces.
CROWD_CLIP = "dlib_MOT20-05-raw_even_shorter.mp4"
# ../shared/data/video/odd: the files that cannot be indexed, and why.
EXPECTED_FAILURES = {
    "svu_corrupted.mp4": "truncated video: only 70.4 s of 5356.4 s could be decoded",
    "svu_empty.mp4": "no video stream",
}


@dataclass
class VideoLibrary:
    factory: sessionmaker[Session]
    service: IndexService
    faces_dir: Path
    odd_dir: Path


@pytest.fixture(scope="module")
def videos(
    tmp_path_factory: pytest.TempPathFactory, video_dir: Path, models_dir: Path
) -> Iterator[VideoLibrary]:
    data = tmp_path_factory.mktemp("video-library")
    service = IndexService(make_settings(data, models_dir))
    service.index([video_dir / "faces", video_dir / "odd"])
    yield VideoLibrary(service.factory, service, video_dir / "faces", video_dir / "odd")
    service.factory.kw["bind"].dispose()


def _asset(session: Session, path: Path) -> Asset:
    asset = session.scalar(select(Asset).where(Asset.path == str(path)))
    assert asset is not None, f"{path} was not registered"
    return asset


def _faces(session: Session, asset: Asset) -> list[Face]:
    return list(session.scalars(select(Face).where(Face.asset_id == asset.id)))


def test_every_face_clip_yields_face_tracks_with_timestamps(videos: VideoLibrary) -> None:
    with session_scope(videos.factory) as session:
        for clip in sorted(videos.faces_dir.iterdir()):
            asset = _asset(session, clip)
            assert asset.kind == AssetKind.VIDEO, f"{clip.name} is a video (GIF: animated)"
            assert asset.status == AssetStatus.DONE, f"{clip.name}: {asset.error}"
            assert asset.duration is not None and asset.duration > 0.5
            faces = _faces(session, asset)
            if clip.name == CROWD_CLIP:
                continue
            assert faces, f"{clip.name}: no face track"
            for face in faces:
                assert face.video_timestamp is not None
                assert face.video_span_start is not None and face.video_span_end is not None
                assert 0.0 <= face.video_span_start <= face.video_timestamp
                assert face.video_timestamp <= face.video_span_end <= asset.duration
                assert face.video_track_size is not None and face.video_track_size >= 1
                assert face.crop_path and (videos.service.settings.data_dir / face.crop_path)
                assert asset.width is not None and asset.height is not None
                assert face.box_x + face.box_width <= asset.width + 1
                assert face.box_y + face.box_height <= asset.height + 1


def test_one_person_clips_give_one_face_covering_the_clip(videos: VideoLibrary) -> None:
    """The LivePortrait clips show one person talking: one track, one face, spanning the
    whole clip (samples every second: from 0 s to the last whole second)."""
    with session_scope(videos.factory) as session:
        clips = sorted(videos.faces_dir.glob("liveportrait_*.mp4"))
        assert len(clips) == 17
        for clip in clips:
            asset = _asset(session, clip)
            faces = _faces(session, asset)
            assert len(faces) == 1, f"{clip.name}: {len(faces)} faces, one person is shown"
            face = faces[0]
            assert asset.duration is not None
            assert face.video_span_start == 0.0
            assert face.video_span_end is not None
            assert face.video_span_end >= asset.duration - 1.5, clip.name
            assert face.video_track_size == int(asset.duration) + 1 or (
                face.video_track_size == int(asset.duration)
            ), clip.name


def test_container_facts_are_read(videos: VideoLibrary) -> None:
    with session_scope(videos.factory) as session:
        talking = _asset(session, videos.faces_dir / "liveportrait_driving_d10.mp4")
        assert (talking.video_codec, talking.audio_codec) == ("h264", "aac")
        assert talking.container and "mp4" in talking.container
        assert talking.frame_rate == 30.0
        assert talking.taken_at is not None and talking.taken_at.isoformat() == (
            "2024-07-11T07:56:57"
        )
        assert (talking.width, talking.height, talking.rotation) == (512, 512, 0)
        portrait = _asset(session, videos.faces_dir / "liveportrait_source_s20.mp4")
        assert (portrait.width, portrait.height) == (480, 908)
        gif = _asset(session, videos.faces_dir / "dlib_elon-musk-smoke.gif")
        assert (gif.video_codec, gif.duration) == ("gif", 1.75)


def test_odd_files_end_indexed_or_failed_with_the_reason(videos: VideoLibrary) -> None:
    with session_scope(videos.factory) as session:
        for file in sorted(videos.odd_dir.iterdir()):
            asset = _asset(session, file)
            if file.name in EXPECTED_FAILURES:
                assert asset.status == AssetStatus.FAILED, file.name
                assert asset.error == EXPECTED_FAILURES[file.name]
                assert asset.attempts == 1
            else:
                assert asset.status == AssetStatus.DONE, f"{file.name}: {asset.error}"
                assert asset.stage == Stage.DONE and asset.duration


def test_rotated_and_raw_streams(videos: VideoLibrary) -> None:
    with session_scope(videos.factory) as session:
        rotated = _asset(session, videos.odd_dir / "svu_rotated90.mp4")
        # Stored 640x360 with a display matrix: shown (and stored here) upright, portrait.
        assert (rotated.width, rotated.height, rotated.rotation) == (360, 640, 90)
        faces = _faces(session, rotated)
        assert len(faces) == 1
        assert faces[0].box_y + faces[0].box_height <= 640 and faces[0].box_height > 50
        # Raw elementary streams have no container duration: frames / 25 fps.
        h264 = _asset(session, videos.odd_dir / "dlib_MOT20-08-raw_shorter.h264")
        h265 = _asset(session, videos.odd_dir / "dlib_MOT17-13-SDP-raw.h265")
        assert (h264.video_codec, h264.duration) == ("h264", 5.08)
        assert (h265.video_codec, h265.duration) == ("hevc", 30.0)
        assert _faces(session, h265), "the MOT17 street scene has faces close to the camera"
        vfr = _asset(session, videos.odd_dir / "svu_vfr_dup_index.mp4")
        assert vfr.duration == pytest.approx(9.167, abs=0.01)


def test_poster_thumbnails_exist(videos: VideoLibrary) -> None:
    with session_scope(videos.factory) as session:
        catalog = CatalogService(session, videos.service.settings.data_dir)
        for clip in sorted(videos.faces_dir.iterdir()):
            asset = _asset(session, clip)
            for size in ("small", "preview"):
                assert catalog.thumbnail(asset.id, size).path.is_file(), clip.name


def test_video_faces_cluster_and_are_found_by_person(videos: VideoLibrary) -> None:
    """Video faces join clustering (LivePortrait's driving clips share actors) and a person
    named from a video face finds that video in search."""
    with session_scope(videos.factory) as session:
        clustered = session.scalars(
            select(Face).where(Face.cluster_id.is_not(None), Face.video_timestamp.is_not(None))
        ).all()
        by_cluster: dict[int, set[int]] = {}
        for face in clustered:
            assert face.cluster_id is not None
            by_cluster.setdefault(face.cluster_id, set()).add(face.asset_id)
        assert any(len(assets) >= 3 for assets in by_cluster.values()), by_cluster

        clip = _asset(session, videos.faces_dir / "liveportrait_source_s18.mp4")
        (face,) = _faces(session, clip)
        person, _ = PersonService(session, "yunet-dlib").assign(
            [face.id], new_person_name="Video Person"
        )
        person_id = person.id
    with session_scope(videos.factory) as session:
        result = SearchService(session, videos.service.settings).search(
            SearchRequest(SearchFilters(person_ids=[person_id]))
        )
        assert [hit.asset.id for hit in result.hits] == [clip.id]


def test_reprocessing_a_video_replaces_its_faces(videos: VideoLibrary) -> None:
    """A video processed again (a crash mid-run claims it again) keeps one face per track:
    no face is duplicated."""
    clip = videos.faces_dir / "liveportrait_driving_d11.mp4"
    with session_scope(videos.factory) as session:
        asset = _asset(session, clip)
        before = [(f.video_timestamp, f.box_x) for f in _faces(session, asset)]
        asset.status, asset.stage = AssetStatus.PENDING, Stage.HASHED
    report = videos.service.process_pending().pipeline
    assert report.processed == 1
    with session_scope(videos.factory) as session:
        asset = _asset(session, clip)
        after = [(f.video_timestamp, f.box_x) for f in _faces(session, asset)]
        assert after == before
        assert AssetRepository(session).count_pending_work() == 0
