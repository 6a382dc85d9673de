"""Reading videos (library/video.py) on the real files of ../shared/data/video."""

from __future__ import annotations

from pathlib import Path

import pytest

from image_search.errors import MediaError
from image_search.library.video import (
    SamplingSettings,
    count_duration,
    open_container,
    probe_video,
    sample_frames,
)
from tests.conftest import require_asset


def _sample(path: Path, settings: SamplingSettings, duration: float | None = None) -> list[float]:
    with open_container(path) as container:
        info = probe_video(container)
        if duration is not None:
            info.duration = duration
        return [frame.time for frame in sample_frames(container, info, settings)]


def test_raw_stream_duration_is_counted_so_sampling_covers_all_of_it(video_dir: Path) -> None:
    """A raw HEVC stream has no duration; counted from its packets (750 at 25 fps), the
    capped samples spread over the 30 s instead of stopping after the first few seconds."""
    raw = require_asset(video_dir / "odd" / "dlib_MOT17-13-SDP-raw.h265")
    with open_container(raw) as container:
        info = probe_video(container)
    assert (info.duration, info.frame_rate) == (None, 25.0)
    duration = count_duration(raw, info.frame_rate)
    assert duration == 30.0
    capped = SamplingSettings(max_interval_frames=5, max_scene_frames=0)
    assert _sample(raw, capped, duration) == [0.0, 6.0, 12.0, 18.0, 24.0]
    assert _sample(raw, capped) == [0.0, 1.0, 2.0, 3.0, 4.0]  # what an unknown duration gives


def test_samples_are_upright_and_reduced(video_dir: Path) -> None:
    rotated = require_asset(video_dir / "odd" / "svu_rotated90.mp4")
    with open_container(rotated) as container:
        info = probe_video(container)
        (frame,) = sample_frames(container, info, SamplingSettings(max_side=320))
    assert (info.width, info.height, info.rotation) == (360, 640, 90)
    assert frame.pixels.shape == (320, 180, 3)  # portrait, long side 320
    assert frame.scale == pytest.approx(2.0)


def test_long_videos_stretch_the_interval() -> None:
    settings = SamplingSettings(interval_s=1.0, max_interval_frames=120)
    assert settings.interval_for(60.0) == 1.0
    assert settings.interval_for(7200.0) == 60.0  # a two-hour film: once a minute
    assert settings.interval_for(None) == 1.0


def test_unreadable_files_raise_the_reason(video_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty file \(0 bytes\)"):
        open_container(empty)
    with (
        open_container(require_asset(video_dir / "odd" / "svu_empty.mp4")) as container,
        pytest.raises(MediaError, match="no video stream"),
    ):
        probe_video(container)
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(MediaError):
        open_container(noise)
