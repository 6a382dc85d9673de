"""Preview snippets (library/snippets.py) and the playback decision (library/playback.py) on
the real clips of ../shared/data/video: each snippet decodes, lasts its window, starts on the
source's frame at ``start`` (rotation applied), carries audio iff the source has it; the cache
makes a snippet once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from image_search.errors import InvalidInputError, MediaError
from image_search.library import snippets
from image_search.library.playback import (
    StreamFacts,
    avc_codec_string,
    decide_playback,
    hevc_codec_string,
    probe_streams,
)
from image_search.library.snippets import SnippetCache, check_window, make_snippet

# (file under data/video, start s, end s, has audio, browsers play the original)
CASES = [
    ("faces/liveportrait_source_s18.mp4", 2.0, 7.0, True, True),
    ("faces/fr_short_hamilton_clip.mp4", 3.5, 8.5, True, True),  # video starts at 0.85 s
    ("faces/dlib_MOT20-05-raw_even_shorter.mp4", 1.0, 4.0, False, True),
    ("faces/liveportrait_source_s29.mp4", 0.0, 3.0, True, True),  # portrait 720x1364
    ("faces/dlib_elon-musk-smoke.gif", 0.5, 1.75, False, False),
    ("odd/dlib_MOT20-08-raw_shorter.h264", 2.0, 4.5, False, False),
    ("odd/dlib_MOT17-13-SDP-raw.h265", 1.0, 3.0, False, False),
    ("odd/svu_rotated90.mp4", 0.3, 1.0, False, True),
    ("odd/svu_vfr_dup_index.mp4", 2.0, 6.0, False, True),
    ("odd/svu_example.webm", 0.5, 2.2, True, True),
    ("odd/svu_no_nb_frames.mkv", 0.5, 2.5, True, False),  # H.264 in Matroska
    ("odd/svu_mpeg4.mp4", 3.0, 6.0, False, False),
    ("odd/svu_buggy_mov_header.mov", 0.0, 0.08, False, False),  # HEVC 4K, 11 frames
]


def _gray(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The frame upright (display rotation applied), grey, at width x height."""
    turns = round((frame.rotation or 0) / 90) % 4
    w, h = (height, width) if turns % 2 else (width, height)
    pixels = frame.to_ndarray(format="gray", width=w, height=h)
    return np.rot90(pixels, turns).astype(np.float32)


def _source_frame_at(path: Path, at: float) -> av.VideoFrame:
    """The frame on screen at ``at`` seconds: the last one with time <= at (time = frame.time,
    or index / average rate for raw streams), decoding from the start (no seeking)."""
    with av.open(str(path), metadata_errors="replace") as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        shown = None
        for index, frame in enumerate(container.decode(stream)):
            t = frame.time if frame.time is not None else index / rate
            if t > at + 1e-4 and shown is not None:
                break
            shown = frame
        assert shown is not None
        return shown


@pytest.fixture(scope="module")
def made(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case's snippet, made once for the module."""
    out = tmp_path_factory.mktemp("snippets")
    results = {}
    for name, start, end, *_ in CASES:
        target = out / (Path(name).name + ".webm")
        results[name] = make_snippet(video_dir / name, start, end, target).path
    return results


@pytest.mark.parametrize(("name", "start", "end", "has_audio", "playable"), CASES)
def test_snippet_decodes_lasts_its_window_and_starts_at_start(
    video_dir: Path,
    made: dict[str, Path],
    name: str,
    start: float,
    end: float,
    has_audio: bool,
    playable: bool,
) -> None:
    path = made[name]
    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")
        video = container.streams.video[0]
        assert video.codec_context.name == "vp9"
        assert bool(container.streams.audio) is has_audio
        if has_audio:
            assert container.streams.audio[0].codec_context.name == "opus"
        width, height = video.codec_context.width, video.codec_context.height
        assert max(width, height) <= 480 and width % 2 == 0 and height % 2 == 0
        frames = list(container.decode(video))
        assert container.duration is not None
        duration = container.duration / 1e6
    assert abs(duration - (end - start)) <= 0.5
    assert frames[0].time == pytest.approx(0.0, abs=0.001)
    assert frames[-1].time <= end - start
    reference = _gray(_source_frame_at(video_dir / name, start), width, height)
    first = _gray(frames[0], width, height)
    difference = float(np.mean(np.abs(first - reference)))
    assert difference < 5.0, f"first frame differs from the source at {start} s: {difference}"


def test_rotation_is_applied(video_dir: Path, made: dict[str, Path]) -> None:
    """svu_rotated90 stores 640x360 landscape frames with a 90 degree display matrix: the
    snippet is upright portrait (the first-frame comparison above checks the direction)."""
    with av.open(str(made["odd/svu_rotated90.mp4"])) as container:
        context = container.streams.video[0].codec_context
        assert (context.width, context.height) == (270, 480)
    with av.open(str(made["faces/liveportrait_source_s29.mp4"])) as container:
        context = container.streams.video[0].codec_context
        assert context.height == 480 and context.width < context.height


def test_audio_follows_the_window(made: dict[str, Path]) -> None:
    """The Opus track covers the window (within a frame of 20 ms plus encoder padding)."""
    with av.open(str(made["faces/liveportrait_source_s18.mp4"])) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples / 48_000 - 5.0) < 0.05


@pytest.mark.parametrize(("name", "start", "end", "has_audio", "playable"), CASES)
def test_playable_decision(
    video_dir: Path, name: str, start: float, end: float, has_audio: bool, playable: bool
) -> None:
    facts = probe_streams(video_dir / name)
    decision = decide_playback(facts)
    assert decision.playable is playable, decision.reason
    assert (decision.reason is None) is playable
    if playable:
        assert decision.mime_type is not None
        assert decision.content_type in {"video/mp4", "video/webm"}


def test_mime_types_carry_codecs(video_dir: Path) -> None:
    s18 = decide_playback(probe_streams(video_dir / "faces/liveportrait_source_s18.mp4"))
    # Main profile (0x4D), level 3.1 (0x1F), from the avcC record; AAC-LC audio.
    assert s18.mime_type == 'video/mp4; codecs="avc1.4D401F, mp4a.40.2"'
    webm = decide_playback(probe_streams(video_dir / "odd/svu_example.webm"))
    assert webm.mime_type == 'video/webm; codecs="vp9, opus"'
    mkv = decide_playback(probe_streams(video_dir / "odd/svu_no_nb_frames.mkv"))
    assert mkv.content_type == "video/x-matroska" and not mkv.playable
    hevc = decide_playback(probe_streams(video_dir / "odd/svu_buggy_mov_header.mov"))
    assert hevc.mime_type == 'video/mp4; codecs="hvc1.1.6.H153.B0"'
    raw = decide_playback(probe_streams(video_dir / "odd/dlib_MOT20-08-raw_shorter.h264"))
    assert raw.mime_type is None and raw.reason == "h264 streams do not play in browsers"
    gif = decide_playback(probe_streams(video_dir / "faces/dlib_elon-musk-smoke.gif"))
    assert gif.mime_type == "image/gif" and not gif.playable


def test_codec_strings_without_a_configuration_record() -> None:
    # Annex B SPS (raw .h264): start code, NAL type 7, High profile level 3.0.
    assert avc_codec_string(bytes.fromhex("0000016764001eac"), None, None) == "avc1.64001E"
    assert avc_codec_string(b"", "Constrained Baseline", 30) == "avc1.42C01E"
    assert avc_codec_string(b"", None, None) == "avc1.42E01E"
    assert hevc_codec_string(b"", "hev1") == "hev1.1.6.L93.B0"
    facts = StreamFacts(container="avi", extension=".avi", video_codec="h264")
    assert decide_playback(facts).playable is False
    facts = StreamFacts(
        container="mov,mp4,m4a,3gp,3g2,mj2", extension=".mp4", video_codec="h264", audio_codec="ac3"
    )
    assert decide_playback(facts).reason == "ac3 audio does not play in browsers"


def test_windows_are_checked() -> None:
    check_window(0.0, 30.0, duration=40.0)
    for start, end, duration in [
        (2.0, 2.0, None),
        (3.0, 2.0, None),
        (-1.0, 2.0, None),
        (0.0, 30.5, None),
        (12.0, 14.0, 10.0),
        (8.0, 10.2, 10.0),
        (float("nan"), 2.0, None),
    ]:
        with pytest.raises(InvalidInputError):
            check_window(start, end, duration)


def test_undecodable_videos_say_why(video_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no video stream"):
        make_snippet(video_dir / "odd/svu_empty.mp4", 0.0, 1.0, tmp_path / "a.webm")
    # The header claims 89 minutes; the data ends after 70.4 s.
    with pytest.raises(MediaError, match=r"no video frames between 100\.000 s and 103\.000 s"):
        make_snippet(video_dir / "odd/svu_corrupted.mp4", 100.0, 103.0, tmp_path / "b.webm")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no partial or temporary file


def test_cache_makes_each_snippet_once(
    video_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = SnippetCache(tmp_path / "snippets")
    source = video_dir / "odd/svu_example.mp4"
    calls: list[float] = []
    real = snippets.make_snippet

    def counting(*args: object, **kwargs: object) -> snippets.SnippetResult:
        calls.append(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(snippets, "make_snippet", counting)
    results: list[snippets.CachedSnippet] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(source, "ab" * 32, 0, 2000)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1  # three concurrent requests, one transcode
    assert len({r.path for r in results}) == 1
    assert sum(r.made is not None for r in results) == 1
    path = results[0].path
    assert path == cache.path_for("ab" * 32, 0, 2000)
    inode = path.stat().st_ino
    again = cache.get(source, "ab" * 32, 0, 2000)
    assert again.made is None and again.path.stat().st_ino == inode and len(calls) == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_cache_evicts_least_recently_used(video_dir: Path, tmp_path: Path) -> None:
    cache = SnippetCache(tmp_path / "snippets")
    source = video_dir / "odd/svu_example-short.mp4"
    first = cache.get(source, "cd" * 32, 0, 500).path
    second = cache.get(source, "cd" * 32, 500, 1000).path
    os.utime(first, (1_000_000, 1_000_000))
    os.utime(second, (2_000_000, 2_000_000))
    cache.get(source, "cd" * 32, 0, 500)  # a hit: first becomes the most recently used
    cache.limit_bytes = first.stat().st_size + 10
    stale = first.parent / ".x.webm.1234.tmp"
    stale.write_bytes(b"partial")
    os.utime(stale, (1_000_000, 1_000_000))
    assert cache.evict() == 2
    assert first.exists() and not second.exists() and not stale.exists()


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"^empty file \(0 bytes\)$"):
        make_snippet(empty, 0.0, 1.0, tmp_path / "a.webm")
    with pytest.raises(MediaError, match=r"^cannot read file: No such file or directory$"):
        make_snippet(tmp_path / "gone.mp4", 0.0, 1.0, tmp_path / "b.webm")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match=r"^corrupt or truncated video: "):
        make_snippet(garbage, 0.0, 1.0, tmp_path / "c.webm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mp4", "garbage.mp4"]
