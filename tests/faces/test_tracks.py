"""Face tracking (faces/tracks.py) with real embeddings: the dlib embeddings of real photos of
two people (people-small: amy, sheldon) stand in for the faces of sampled video frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from image_search.faces.tracks import FaceTracker, TrackedFace, TrackingSettings, iou
from image_search.library.media import decode_image
from image_search.ml.packs import load_model_pack

Embeddings = dict[str, list[np.ndarray]]


@pytest.fixture(scope="module")
def embeddings(
    faces_dir: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Embeddings:
    """person -> five (embedding float32 (128,)) of that person's photos."""
    pack = load_model_pack("yunet-dlib", models_dir, tmp_path_factory.mktemp("cache"))
    found: dict[str, list[np.ndarray]] = {}
    for person in ("amy", "sheldon"):
        for photo in sorted((faces_dir / "people-small" / person).glob("*.png")):
            pixels = decode_image(photo, 1024).pixels
            detections = pack.detect(pixels)
            assert detections, photo
            found.setdefault(person, []).append(pack.embed(pixels, detections[:1])[0])
    return found


def _face(time: float, x: float, embedding: np.ndarray, quality: float = 0.5) -> TrackedFace:
    return TrackedFace(
        time=time,
        box=np.array([x, 100.0, 80.0, 80.0], dtype=np.float32),
        embedding=np.asarray(embedding, dtype=np.float32),
        quality=quality,
        detector_score=0.9,
        payload=f"{time}@{x}",
    )


def _settings() -> TrackingSettings:
    return TrackingSettings.for_pack("yunet-dlib", sample_interval_s=1.0)


def test_two_people_side_by_side_give_two_tracks(embeddings: Embeddings) -> None:
    amy, sheldon = embeddings["amy"], embeddings["sheldon"]
    tracker = FaceTracker(_settings())
    for t in range(5):
        # They swap sides halfway: appearance, not position, keeps the tracks apart.
        left, right = (amy[t], sheldon[t]) if t < 3 else (sheldon[t], amy[t])
        tracker.add_frame([_face(float(t), 100 + t, left), _face(float(t), 400 - t, right)])
    tracks = tracker.tracks()
    assert len(tracks) == 2
    for track in tracks:
        assert len(track.faces) == 5
        assert (track.start, track.end) == (0.0, 4.0)
    for track in tracks:
        people = {
            "amy" if any(np.array_equal(f.embedding, e) for e in amy) else "sheldon"
            for f in track.faces
        }
        assert len(people) == 1, "a track holds one person's faces"


def test_a_person_coming_back_after_a_gap_is_one_track(
    embeddings: dict[str, list[np.ndarray]],
) -> None:
    """Seen at 0-1 s, gone, back at 6-7 s (beyond the 3 s gap): two tracks merged, because
    they look alike and never share a frame; the best face is the best of both."""
    amy = embeddings["amy"]
    tracker = FaceTracker(_settings())
    tracker.add_frame([_face(0.0, 100, amy[0], quality=0.4)])
    tracker.add_frame([_face(1.0, 110, amy[1], quality=0.6)])
    tracker.add_frame([_face(6.0, 500, amy[2], quality=0.9)])
    tracker.add_frame([_face(7.0, 510, amy[3], quality=0.3)])
    (track,) = tracker.tracks()
    assert (track.start, track.end, len(track.faces)) == (0.0, 7.0, 4)
    assert track.best is not None and track.best.time == 6.0
    assert track.best.payload == "6.0@500"
    # Only the best face keeps its payload (its crop): the others were let go.
    assert [f.payload for f in track.faces if f is not track.best] == [None, None, None]
    assert np.isclose(np.linalg.norm(track.embedding()), 1.0, atol=1e-5)


def test_someone_else_in_the_same_place_starts_a_new_track(
    embeddings: dict[str, list[np.ndarray]],
) -> None:
    """A cut to another person framed the same way: the boxes overlap fully, the faces do
    not match, so the track is not continued."""
    tracker = FaceTracker(_settings())
    tracker.add_frame([_face(0.0, 100, embeddings["amy"][0])])
    tracker.add_frame([_face(1.0, 100, embeddings["sheldon"][0])])
    tracks = tracker.tracks()
    assert len(tracks) == 2


def test_two_people_at_once_are_never_merged(embeddings: Embeddings) -> None:
    """Even two photos of the same person, when seen in the same frame, are two tracks (twins,
    mirrors): merging needs tracks that never share a frame."""
    amy = embeddings["amy"]
    tracker = FaceTracker(_settings())
    tracker.add_frame([_face(0.0, 100, amy[0]), _face(0.0, 600, amy[1])])
    assert len(tracker.tracks()) == 2


def test_iou() -> None:
    a = np.array([0.0, 0.0, 10.0, 10.0])
    assert iou(a, a) == 1.0
    assert iou(a, np.array([5.0, 0.0, 10.0, 10.0])) == pytest.approx(50 / 150)
    assert iou(a, np.array([20.0, 20.0, 5.0, 5.0])) == 0.0
