"""Read videos with PyAV (FFmpeg): container facts, and frames sampled through the whole video.

Sampling (``sample_frames``) decodes the video once, front to back, and keeps
- a frame every ``interval_s`` seconds, the interval stretched so a long video yields at most
  ``max_interval_frames`` of them (time-based: every part of the video gets looked at), and
- the first frame after a scene change (a cut): the mean absolute difference of consecutive
  frames, as 32x18 grey images, above ``scene_threshold`` (the "content" detector of
  PySceneDetect works the same way, on HSV), at most ``max_scene_frames`` per video and never
  closer than ``min_gap_s`` to the previous sample.
Kept frames are converted to RGB at reduced size (``max_side``) and turned upright by the
container's display matrix. Every other frame only costs its decoding and a tiny grey copy.

Pixel coordinates of a video refer to the upright (rotated) frame at the video's full
resolution, like photos after EXIF orientation; ``SampledFrame.scale`` converts.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import av.error
import numpy as np

from image_search.errors import MediaError
from image_search.library.exif import PhotoMetadata

# Side of the grey thumbnails compared for scene changes (16:9, small enough to be free).
SCENE_PROBE_SIZE = (32, 18)
# Decoding errors tolerated (damaged packets skipped) before a video counts as corrupt.
MAX_DECODE_ERRORS = 50
# A video whose readable frames end before this fraction of its declared duration (and more
# than a second early) is truncated, a copy cut short: failed, so the user learns of it
# (frame-threaded decoding does not always report the damaged packet itself).
TRUNCATED_FRACTION = 0.9


@dataclass(slots=True)
class SamplingSettings:
    """How frames are picked from a video. Defaults: one frame a second, at most 120 of them
    (a video longer than two minutes gets a proportionally longer interval), plus up to 30
    scene changes; frames decoded at most 1280 px on the long side (YuNet finds faces down to
    ~10 px; 1280 px keeps a face filling 1/40 of a 4K frame detectable)."""

    interval_s: float = 1.0
    max_interval_frames: int = 120
    max_scene_frames: int = 30
    scene_threshold: float = 0.12  # mean |difference| of consecutive grey probes, 0..1
    min_gap_s: float = 0.25
    max_side: int = 1280

    def interval_for(self, duration: float | None) -> float:
        """Seconds between time-based samples for a video of ``duration`` seconds."""
        if duration and duration > 0:
            return max(self.interval_s, duration / self.max_interval_frames)
        return self.interval_s


@dataclass(slots=True)
class VideoInfo:
    """Facts read from the container and the first frame.

    ``width``/``height``: pixels of the upright picture (after ``rotation``), full resolution.
    ``rotation``: degrees counterclockwise the stored frames are turned for display (0, 90,
    180, 270). ``duration`` in seconds (None when the container does not say: raw streams).
    ``frame_rate``: average frames per second (None when unknown). Codec and container names
    are FFmpeg's (``h264``, ``mov,mp4,m4a,3gp,3g2,mj2``); ``audio_codec`` None = no sound.
    """

    container: str
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    rotation: int
    duration: float | None
    frame_rate: float | None
    metadata: PhotoMetadata


@dataclass(slots=True)
class SampledFrame:
    """A kept frame: ``pixels`` RGB uint8 (h, w, 3) upright; ``time`` in seconds from the
    start; ``scale`` full-resolution pixels per pixel of ``pixels``; ``reason`` ``interval``
    or ``scene``."""

    index: int
    time: float
    pixels: np.ndarray
    scale: float
    reason: str


def open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading; raises ``MediaError`` with the reason when FFmpeg cannot."""
    try:
        if path.stat().st_size == 0:
            raise MediaError("empty file (0 bytes)")
        # Invalid UTF-8 in tags (seen in the wild) must not cost the video.
        return av.open(str(path), metadata_errors="replace")
    except MediaError:
        raise
    except PermissionError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from exc
    except av.error.InvalidDataError as exc:
        raise MediaError(f"corrupt or truncated video: {_ffmpeg_reason(exc)}") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open video: {_ffmpeg_reason(exc)}") from exc


def probe_video(container: av.container.InputContainer) -> VideoInfo:
    """Container facts of an open video. Raises ``MediaError`` when it has no video stream or
    FFmpeg has no decoder for it."""
    stream = _video_stream(container)
    context = stream.codec_context
    audio = next((s for s in container.streams.audio), None)
    duration = _duration(container, stream)
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(
        container=container.format.name,
        video_codec=context.name,
        audio_codec=audio.codec_context.name if audio is not None else None,
        width=context.width,
        height=context.height,
        rotation=0,  # read from the first decoded frame by sample_frames
        duration=duration,
        frame_rate=round(float(rate), 3) if rate else None,
        metadata=_metadata(container, stream),
    )


def count_duration(path: Path, frame_rate: float | None) -> float | None:
    """Duration in seconds of a video whose container does not say (raw .h264/.h265
    streams): its video packets counted without decoding (milliseconds per minute of
    video), divided by ``frame_rate``. None when the rate is unknown or nothing is readable.
    Lets sampling spread its frames over the whole stream instead of its first minutes."""
    if not frame_rate:
        return None
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            stream = _video_stream(container)
            packets = sum(1 for packet in container.demux(stream) if packet.size)
    except (MediaError, av.error.FFmpegError, OSError):
        return None
    return round(packets / frame_rate, 3) if packets else None


def sample_frames(
    container: av.container.InputContainer,
    info: VideoInfo,
    settings: SamplingSettings,
) -> Iterator[SampledFrame]:
    """Decode the video once and yield the sampled frames in time order (module docstring).

    Sets ``info.rotation`` (and swaps ``info.width``/``height`` for 90/270) from the first
    frame, and ``info.duration`` from the last frame when the container had none (or claimed
    more). Damaged packets are skipped; raises ``MediaError`` when more than
    ``MAX_DECODE_ERRORS`` fail, when no frame decodes at all, or when the frames end before
    ``TRUNCATED_FRACTION`` of the declared duration (after yielding what it could read).
    """
    stream = _video_stream(container)
    with contextlib.suppress(RuntimeError):  # already decoding: keep its threading
        stream.thread_type = "AUTO"
    interval = settings.interval_for(info.duration)
    fallback_rate = info.frame_rate or 25.0
    next_sample = 0.0
    last_sample = -math.inf
    scene_frames = 0
    previous_probe: np.ndarray | None = None
    decoded = errors = kept = 0
    last_error = ""
    last_time = 0.0
    for frame in _decode(container, stream):
        if isinstance(frame, Exception):
            errors += 1
            last_error = _ffmpeg_reason(frame)
            if errors > MAX_DECODE_ERRORS:
                raise MediaError(f"corrupt or truncated video: {last_error}")
            continue
        if decoded == 0:
            _apply_rotation(info, frame)
        time = float(frame.time) if frame.time is not None else decoded / fallback_rate
        decoded += 1
        last_time = max(last_time, time)
        probe = frame.reformat(
            width=SCENE_PROBE_SIZE[0], height=SCENE_PROBE_SIZE[1], format="gray"
        ).to_ndarray()
        reason = None
        if time >= next_sample and kept < settings.max_interval_frames:
            reason = "interval"
        elif (
            previous_probe is not None
            and scene_frames < settings.max_scene_frames
            and time - last_sample >= settings.min_gap_s
            and _difference(previous_probe, probe) > settings.scene_threshold
        ):
            reason = "scene"
            scene_frames += 1
        previous_probe = probe
        if reason is None:
            continue
        if reason == "interval":
            kept += 1
            while next_sample <= time:
                next_sample += interval
        last_sample = time
        yield _sampled(frame, info, settings.max_side, decoded - 1, time, reason)
    if decoded == 0:
        if errors:
            raise MediaError(f"corrupt or truncated video: {last_error}")
        raise MediaError("no decodable video frames")
    decoded_duration = round(last_time + 1.0 / fallback_rate, 3)
    declared = info.duration
    if (
        declared
        and decoded_duration < TRUNCATED_FRACTION * declared
        and declared - decoded_duration > 1.0
    ):
        reason = f" ({last_error})" if last_error else ""
        raise MediaError(
            f"truncated video: only {decoded_duration:.1f} s of {declared:.1f} s could "
            f"be decoded{reason}"
        )
    if info.duration is None or decoded_duration < info.duration:
        info.duration = decoded_duration


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[av.VideoFrame | Exception]:
    """Frames of ``stream``; a packet FFmpeg cannot decode yields its error instead."""
    try:
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except av.error.InvalidDataError as exc:
                yield exc
    except av.error.FFmpegError as exc:  # demuxing itself failed: end of readable data
        yield exc


def _sampled(
    frame: av.VideoFrame, info: VideoInfo, max_side: int, index: int, time: float, reason: str
) -> SampledFrame:
    stored_w, stored_h = frame.width, frame.height
    factor = min(1.0, max_side / max(stored_w, stored_h))
    width = max(2, round(stored_w * factor))
    height = max(2, round(stored_h * factor))
    pixels: np.ndarray = frame.to_ndarray(format="rgb24", width=width, height=height)
    turns = (info.rotation // 90) % 4
    if turns:
        pixels = np.ascontiguousarray(np.rot90(pixels, k=turns))
    return SampledFrame(
        index=index,
        time=round(time, 3),
        pixels=pixels,
        scale=info.width / pixels.shape[1],
        reason=reason,
    )


def _apply_rotation(info: VideoInfo, frame: av.VideoFrame) -> None:
    """Rotation from the frame's display matrix, snapped to a multiple of 90 degrees."""
    try:
        degrees = round(float(frame.rotation or 0) / 90.0) * 90 % 360
    except (AttributeError, TypeError, ValueError):
        degrees = 0
    info.rotation = degrees
    info.width, info.height = frame.width, frame.height
    if degrees in (90, 270):
        info.width, info.height = info.height, info.width


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)))) / 255.0


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise MediaError("no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.name:
        raise MediaError("unsupported codec: FFmpeg has no decoder for this video stream")
    return stream


def _duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / av.time_base
    else:
        return None
    return round(seconds, 3) if seconds > 0 else None


# ISO 6709 coordinates as QuickTime and Android write them: "+48.8577+002.2950+035.000/".
_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


def _metadata(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> PhotoMetadata:
    """Capture time (``creation_time``, UTC, stored without zone), camera make/model and GPS
    from QuickTime/MP4 tags (``com.apple.quicktime.*``, ``location``; ISO 6709)."""
    tags = {str(k).lower(): str(v) for k, v in {**stream.metadata, **container.metadata}.items()}
    metadata = PhotoMetadata()
    created = tags.get("com.apple.quicktime.creationdate") or tags.get("creation_time")
    metadata.taken_at = _parse_time(created)
    metadata.camera_make = _clean(tags.get("com.apple.quicktime.make") or tags.get("make"))
    metadata.camera_model = _clean(tags.get("com.apple.quicktime.model") or tags.get("model"))
    location = tags.get("com.apple.quicktime.location.iso6709") or tags.get("location")
    match = _ISO6709.match(location.strip()) if location else None
    if match:
        latitude, longitude = float(match.group(1)), float(match.group(2))
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            metadata.gps_latitude, metadata.gps_longitude = latitude, longitude
            if match.group(3):
                metadata.gps_altitude = float(match.group(3))
    return metadata


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    # 1904-01-01 / 1970-01-01: the zero of QuickTime and Unix clocks, written by cameras
    # without a set clock.
    return None if parsed.year <= 1970 else parsed


def _clean(value: str | None) -> str | None:
    text = (value or "").replace("\x00", "").strip()
    return text[:128] or None


def decoding_error_message(exc: av.error.FFmpegError) -> str:
    """The asset error for an FFmpeg failure that escaped the reading above (recovery/causes.py
    groups failures by these prefixes)."""
    if isinstance(exc, av.error.DecoderNotFoundError):
        return f"unsupported codec: {exc.strerror}"
    if isinstance(exc, av.error.InvalidDataError):
        return f"corrupt or truncated video: {exc.strerror}"
    return f"cannot decode video: {exc.strerror or exc}"


def _ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's own message without the errno and file name decoration."""
    if isinstance(exc, av.error.FFmpegError) and exc.strerror:
        log = getattr(exc, "log", None)
        where = f" ({str(log[-1]).strip()})" if isinstance(log, tuple) and log else ""
        return f"{exc.strerror}{where}"
    return str(exc)
