"""Preview snippets: a few seconds of a video transcoded to a small WebM every browser plays.

``make_snippet`` cuts ``[start, end)`` out of any video PyAV decodes (MP4/MOV, Matroska/WebM,
raw H.264/HEVC streams, animated GIF, ...), applies the display rotation, scales to at most
480 px on the long side and encodes VP9 + Opus in WebM (docs/architecture.md, "Preview
snippets", has the measurements behind VP9). ``SnippetCache`` keeps the results under
``<data_dir>/snippets/``, keyed by content hash and window, bounded in size, and makes each
snippet once even when several requests ask for it at the same time.

Times are seconds on the video's own timeline: a frame's presentation time (``frame.time``),
or for raw streams without timestamps its index divided by the average frame rate, which is
how the video pipeline dates its faces.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from av.video.reformatter import ColorRange, VideoReformatter

from image_search.errors import InvalidInputError, MediaError
from image_search.library.video import MAX_DECODE_ERRORS

log = logging.getLogger(__name__)

SNIPPET_MAX_SIDE = 480  # px, long side of the transcode (even width and height)
MAX_SNIPPET_SECONDS = 30.0  # longest window one request may transcode
# The snippet cache's size bound: past it the least recently used snippets are deleted (a
# cache hit touches its file's mtime, so mtime is "last used"). 500 MB hold about 2,500
# five-second snippets at the sizes make_snippet writes (~200 kB each).
SNIPPET_CACHE_BYTES = 500 * 1024 * 1024
SNIPPET_MEDIA_TYPE = "video/webm"

AUDIO_RATE = 48_000  # Opus codes 48 kHz (RFC 7587); other rates are resampled
_OPUS_FRAME = 960  # samples per Opus frame: 20 ms at 48 kHz
_MS = Fraction(1, 1000)  # WebM (Matroska) time base: milliseconds
# Containers that carry a bare elementary stream: no timestamps, no seeking (frame index / rate).
RAW_STREAM_FORMATS = frozenset({"h264", "hevc", "m4v", "mpegvideo", "rawvideo", "vc1", "av1"})

# Encoder settings, measured on ../shared/data/video (docs/architecture.md, "Preview snippets"):
# libvpx-vp9 in realtime mode at cpu-used 8 makes a 5 s, 480 px snippet as fast as VP8 in
# realtime mode (decoding and scaling the source cost more than either encoder) and 15-30 %
# smaller; the "good" deadline is three to four times slower for another 20 %.
_ENCODERS: dict[str, tuple[str, dict[str, str]]] = {
    "vp8": (
        "libvpx",
        {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "800k", "lag-in-frames": "0"},
    ),
    "vp9": (
        "libvpx-vp9",
        {
            "deadline": "realtime",
            "cpu-used": "8",
            "row-mt": "1",
            "crf": "36",
            "b": "0",
            "lag-in-frames": "0",
        },
    ),
}
DEFAULT_CODEC = "vp9"


@dataclass(frozen=True, slots=True)
class SnippetResult:
    """A snippet file: ``duration`` seconds of video (first frame to the end of the last),
    ``frames`` frames of ``width`` x ``height`` px (display orientation), Opus audio iff
    ``has_audio``; ``encode_seconds`` wall time spent (0.0 when ``cached``)."""

    path: Path
    duration: float
    frames: int
    width: int
    height: int
    has_audio: bool
    encode_seconds: float
    cached: bool


def check_window(start_s: float, end_s: float, duration: float | None = None) -> None:
    """Refuse windows a snippet cannot be made of: ``InvalidInputError`` when start < 0,
    end <= start, the window is longer than ``MAX_SNIPPET_SECONDS``, or (with the video's
    ``duration``) it starts at or after the end of the video or ends more than 50 ms past it."""
    if not (np.isfinite(start_s) and np.isfinite(end_s)):
        raise InvalidInputError("start and end must be finite numbers of seconds")
    if start_s < 0:
        raise InvalidInputError(f"start {start_s:g} s is before the start of the video")
    if end_s <= start_s:
        raise InvalidInputError(f"end {end_s:g} s must be after start {start_s:g} s")
    if end_s - start_s > MAX_SNIPPET_SECONDS:
        raise InvalidInputError(
            f"window of {end_s - start_s:g} s is longer than {MAX_SNIPPET_SECONDS:g} s"
        )
    if duration is not None:
        if start_s >= duration:
            raise InvalidInputError(
                f"start {start_s:g} s is past the end of the video ({duration:.3f} s)"
            )
        if end_s > duration + 0.05:
            raise InvalidInputError(
                f"end {end_s:g} s is past the end of the video ({duration:.3f} s)"
            )


def make_snippet(
    source: Path, start_s: float, end_s: float, target: Path, codec: str = DEFAULT_CODEC
) -> SnippetResult:
    """Transcode ``[start_s, end_s)`` of the video ``source`` to a WebM file at ``target``.

    The frame on screen at ``start_s`` becomes the snippet's first frame (at time 0), frames up
    to ``end_s`` follow with their own timing (variable frame rates kept). Display rotation is
    applied, the picture scaled to at most ``SNIPPET_MAX_SIDE`` px on its long side (even
    sizes), ``codec`` is ``vp9`` (default) or ``vp8``; audio, if the source has a decodable
    audio stream, is re-encoded to Opus 48 kHz. The file appears under ``target`` only when
    complete (temporary file, then rename).

    Raises ``InvalidInputError`` for a bad window or codec, ``MediaError`` with the reason when
    the file cannot be opened or decoded or has no video frames in the window.
    """
    check_window(start_s, end_s)
    if codec not in _ENCODERS:
        raise InvalidInputError(f"unknown snippet codec {codec!r}: use vp8 or vp9")
    began = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        frames, width, height, has_audio = _transcode(source, start_s, end_s, temporary, codec)
        os.replace(temporary, target)
    except av.error.FFmpegError as exc:
        raise MediaError(_describe(exc)) from exc
    finally:
        temporary.unlink(missing_ok=True)
    return SnippetResult(
        target,
        end_s - start_s,
        frames,
        width,
        height,
        has_audio,
        time.perf_counter() - began,
        False,
    )


def _describe(exc: av.error.FFmpegError) -> str:
    message = exc.strerror or str(exc)
    if isinstance(exc, av.error.InvalidDataError | av.error.EOFError):
        return f"corrupt or truncated video: {message}"
    if isinstance(exc, av.error.DecoderNotFoundError):
        return f"unsupported codec: {message}"
    return f"cannot decode video: {message}"


@dataclass(slots=True)
class _Geometry:
    """How decoded frames become snippet frames: scaled to ``scaled_w`` x ``scaled_h`` (before
    rotation), then turned ``quarter_turns`` x 90 degrees counter-clockwise."""

    scaled_w: int
    scaled_h: int
    quarter_turns: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the snippet, display orientation."""
        if self.quarter_turns % 2:
            return self.scaled_h, self.scaled_w
        return self.scaled_w, self.scaled_h


def _geometry(frame: av.VideoFrame, sample_aspect: Fraction | None) -> _Geometry:
    # frame.rotation: degrees the display matrix turns the picture counter-clockwise
    # (-180..180, PyAV >= 14); np.rot90 turns counter-clockwise too.
    rotation = int(getattr(frame, "rotation", 0) or 0)
    turns = round(rotation / 90) % 4
    width = frame.width * float(sample_aspect) if sample_aspect else float(frame.width)
    height = float(frame.height)
    scale = min(1.0, SNIPPET_MAX_SIDE / max(width, height))
    scaled_w = max(2, round(width * scale / 2) * 2)
    scaled_h = max(2, round(height * scale / 2) * 2)
    return _Geometry(scaled_w, scaled_h, turns)


def _picture(
    frame: av.VideoFrame, geometry: _Geometry, reformatter: VideoReformatter
) -> av.VideoFrame:
    """``frame`` scaled to the snippet size in yuv420p, display rotation applied. One
    ``reformatter`` for all frames keeps its scaling context (several times faster than
    ``frame.reformat``, which sets one up per frame)."""
    scaled = reformatter.reformat(
        frame,
        width=geometry.scaled_w,
        height=geometry.scaled_h,
        format="yuv420p",
        interpolation="AREA",
        # Limited ("MPEG") range, the range WebM players assume: full-range sources (yuvj420p
        # of phones, RGB GIFs) would otherwise play with crushed blacks and whites.
        dst_color_range=ColorRange.MPEG,
    )
    if geometry.quarter_turns == 0:
        return scaled
    w, h = geometry.scaled_w, geometry.scaled_h
    # yuv420p as one (h * 3/2, w) array: Y plane, then U and V at half size each.
    data = scaled.to_ndarray()
    y = data[:h]
    chroma = data[h:].reshape(2, h // 2, w // 2)
    k = geometry.quarter_turns
    turned_y = np.rot90(y, k)
    turned_u, turned_v = np.rot90(chroma[0], k), np.rot90(chroma[1], k)
    out_w = turned_y.shape[1]
    packed = np.concatenate(
        [
            turned_y,
            turned_u.reshape(-1, out_w),
            turned_v.reshape(-1, out_w),
        ]
    )
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(packed), format="yuv420p")


def _timed_video_frames(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    audio: av.AudioStream | None,
    start_s: float,
) -> Iterator[tuple[float, av.VideoFrame | av.AudioFrame]]:
    """(time in seconds, frame) for video and audio frames from a keyframe at or before
    ``start_s`` on (from the first frame for raw streams, which cannot seek)."""
    raw = container.format.name in RAW_STREAM_FORMATS
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    if not raw and start_s > 0 and stream.time_base:
        try:
            container.seek(
                int(start_s / stream.time_base), stream=stream, backward=True, any_frame=False
            )
        except av.error.FFmpegError:
            container.seek(0)
    index = errors = 0
    streams = [s for s in (stream, audio) if s is not None]
    for packet in container.demux(*streams):
        try:
            decoded = packet.decode()
        except av.error.FFmpegError:
            # A damaged packet: skip it (audio ones always: the video matters more), up to
            # MAX_DECODE_ERRORS of the video.
            if packet.stream is stream:
                errors += 1
                if errors > MAX_DECODE_ERRORS:
                    raise
            continue
        for frame in decoded:
            if isinstance(frame, av.VideoFrame):
                t = None if raw else frame.time  # None without a timestamp
                yield (index / rate if t is None else t), frame
                index += 1
            elif isinstance(frame, av.AudioFrame) and frame.time is not None:
                yield frame.time, frame


def _transcode(
    source: Path, start_s: float, end_s: float, temporary: Path, codec: str
) -> tuple[int, int, int, bool]:
    """The work of ``make_snippet``: (frames, width, height, has audio)."""
    try:
        if source.stat().st_size == 0:
            raise MediaError("empty file (0 bytes)")
        container = av.open(str(source), metadata_errors="replace")
    except (PermissionError, FileNotFoundError) as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        layout = None
        if audio is not None and audio.codec_context is not None:
            layout = "mono" if audio.codec_context.layout.nb_channels == 1 else "stereo"
        else:
            audio = None  # no decoder for it: a silent snippet
        writer = _SnippetWriter(temporary, codec, end_s - start_s, layout)
        try:
            return _copy_window(container, stream, audio, writer, start_s, end_s)
        finally:
            writer.close()


def _copy_window(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    audio: av.AudioStream | None,
    writer: _SnippetWriter,
    start_s: float,
    end_s: float,
) -> tuple[int, int, int, bool]:
    """Decode from the keyframe before ``start_s`` and hand the window's frames to
    ``writer``; returns what ``_SnippetWriter.finish`` returns."""
    sample_aspect = stream.sample_aspect_ratio
    held: av.VideoFrame | None = None  # the last frame at or before start
    video_done = False
    audio_done = audio is None
    try:
        for t, frame in _timed_video_frames(container, stream, audio, start_s):
            if isinstance(frame, av.AudioFrame):
                if t >= end_s:
                    audio_done = True
                elif not audio_done:
                    writer.add_audio(frame, t - start_s)
            elif not video_done:
                if t <= start_s + 1e-4:
                    held = frame
                    continue
                if t >= end_s:
                    video_done = True
                else:
                    if held is not None:
                        writer.add_video(held, 0.0, sample_aspect)
                        held = None
                    writer.add_video(frame, t - start_s, sample_aspect)
            if video_done and audio_done:
                break
    except av.error.FFmpegError:
        if writer.frames == 0 and held is None:
            raise
        # A damaged tail: keep what decoded before it (the snippet is still useful).
    if held is not None:  # the window ends before the next frame: one still frame
        writer.add_video(held, 0.0, sample_aspect)
    if writer.frames == 0:
        raise MediaError(
            f"no video frames between {start_s:.3f} s and {end_s:.3f} s "
            "(the window is past the last decodable frame)"
        )
    return writer.finish()


class _SnippetWriter:
    """The output WebM: video frames in display orientation, audio resampled to Opus 48 kHz
    and written as it comes (both streams are created with the first video frame: WebM needs
    every stream before the first packet)."""

    def __init__(self, path: Path, codec: str, window: float, audio_layout: str | None) -> None:
        self.output = av.open(str(path), "w", format="webm")
        self.closed = False
        self.codec = codec
        self.window_samples = round(window * AUDIO_RATE)
        self.audio_layout = audio_layout
        self.geometry: _Geometry | None = None
        self.reformatter = VideoReformatter()
        self.video: av.VideoStream | None = None
        self.audio: av.AudioStream | None = None
        self.resampler: av.AudioResampler | None = None
        self.pending = np.zeros((0, 0), np.float32)  # resampled samples not yet encoded
        self.skip = 0  # samples decoded before the window, still to drop
        self.audio_written = 0  # samples encoded so far (snippet time = samples / rate)
        self.last_pts = -1
        self.frames = 0

    def add_video(self, frame: av.VideoFrame, at_s: float, sample_aspect: Fraction | None) -> None:
        if self.geometry is None:
            self._open_streams(frame, sample_aspect)
        assert self.video is not None and self.geometry is not None
        picture = _picture(frame, self.geometry, self.reformatter)
        if picture.width != self.video.width or picture.height != self.video.height:
            # The source changed resolution mid-stream: keep the snippet's size.
            picture = picture.reformat(width=self.video.width, height=self.video.height)
        pts = max(round(at_s * 1000), self.last_pts + 1)
        self.last_pts = pts
        picture.pts = pts
        picture.time_base = _MS
        for packet in self.video.encode(picture):
            self.output.mux(packet)
        self.frames += 1
        self._drain_audio(final=False)

    def add_audio(self, frame: av.AudioFrame, at_s: float) -> None:
        if self.audio_layout is None:
            return
        if self.resampler is None:
            self.resampler = av.AudioResampler(
                format="fltp", layout=self.audio_layout, rate=AUDIO_RATE
            )
            anchor = round(at_s * AUDIO_RATE)
            channels = 1 if self.audio_layout == "mono" else 2
            # Audio beginning inside the window is preceded by silence; audio decoded from
            # before the window (the seek lands on an earlier keyframe) is dropped.
            self.pending = np.zeros((channels, max(anchor, 0)), np.float32)
            self.skip = max(-anchor, 0)
        for chunk in self.resampler.resample(frame):
            self._append(chunk.to_ndarray())
        self._drain_audio(final=False)

    def close(self) -> None:
        """Close the output file (idempotent; after an error the file is incomplete)."""
        if not self.closed:
            self.closed = True
            self.output.close()

    def finish(self) -> tuple[int, int, int, bool]:
        """Flush the encoders and close the file: (frames, width, height, has audio)."""
        assert self.video is not None and self.geometry is not None
        for packet in self.video.encode(None):
            self.output.mux(packet)
        if self.resampler is not None:
            for chunk in self.resampler.resample(None):
                self._append(chunk.to_ndarray())
        self._drain_audio(final=True)
        has_audio = self.audio is not None and self.audio_written > 0
        if self.audio is not None:
            for packet in self.audio.encode(None):
                self.output.mux(packet)
        self.close()
        width, height = self.geometry.size
        return self.frames, width, height, has_audio

    def _open_streams(self, frame: av.VideoFrame, sample_aspect: Fraction | None) -> None:
        self.geometry = _geometry(frame, sample_aspect)
        name, options = _ENCODERS[self.codec]
        video = self.output.add_stream(name, rate=30, options=options)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = self.geometry.size
        video.pix_fmt = "yuv420p"
        video.time_base = _MS
        video.codec_context.time_base = _MS
        video.codec_context.thread_count = 1
        video.codec_context.gop_size = 60  # a keyframe every 2 s at 30 fps: quick seeking
        self.video = video
        if self.audio_layout is not None:
            audio = self.output.add_stream("libopus", rate=AUDIO_RATE, layout=self.audio_layout)
            assert isinstance(audio, av.AudioStream)
            audio.time_base = Fraction(1, AUDIO_RATE)
            audio.codec_context.bit_rate = 48_000 if self.audio_layout == "mono" else 96_000
            self.audio = audio

    def _append(self, samples: np.ndarray) -> None:
        samples = samples.astype(np.float32, copy=False)
        if self.skip:
            dropped = min(self.skip, samples.shape[1])
            samples = samples[:, dropped:]
            self.skip -= dropped
        if samples.shape[1]:
            self.pending = np.concatenate([self.pending, samples], axis=1)

    def _drain_audio(self, final: bool) -> None:
        """Encode whole 20 ms Opus frames (and, when ``final``, the padded rest) up to the
        end of the window."""
        if self.audio is None or self.audio_layout is None or self.pending.shape[1] == 0:
            return
        while self.audio_written < self.window_samples:
            left = self.window_samples - self.audio_written
            size = min(_OPUS_FRAME, left)
            if self.pending.shape[1] < size and not final:
                return
            block = self.pending[:, :size]
            if block.shape[1] == 0:
                return
            self.pending = self.pending[:, size:]
            used = block.shape[1]
            if used < _OPUS_FRAME:  # the encoder takes whole frames: pad the last one
                block = np.pad(block, ((0, 0), (0, _OPUS_FRAME - used)))
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block), format="fltp", layout=self.audio_layout
            )
            chunk.sample_rate = AUDIO_RATE
            chunk.pts = self.audio_written
            chunk.time_base = Fraction(1, AUDIO_RATE)
            for packet in self.audio.encode(chunk):
                self.output.mux(packet)
            self.audio_written += used


class _KeyLock:
    """A lock per snippet file (held in a weak dictionary: gone when nobody waits on it)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


_key_locks: weakref.WeakValueDictionary[str, _KeyLock] = weakref.WeakValueDictionary()
_key_locks_guard = threading.Lock()
# Transcodes running at once in this process: each takes about one core (decoding threads
# aside), and the machine the library runs on also indexes.
_TRANSCODE_SLOTS = threading.BoundedSemaphore(2)


def _lock_for(key: str) -> _KeyLock:
    with _key_locks_guard:
        found = _key_locks.get(key)
        if found is None:
            found = _KeyLock()
            _key_locks[key] = found
        return found


@dataclass(frozen=True, slots=True)
class CachedSnippet:
    """A snippet file from ``SnippetCache.get``; ``made`` is None for a cache hit."""

    path: Path
    made: SnippetResult | None


class SnippetCache:
    """Snippets under ``root`` (``<data_dir>/snippets``), named
    ``<hash[:2]>/<hash>-<start ms>-<end ms>.<codec>.webm`` where the hash identifies the
    source's content; at most ``limit_bytes`` (least recently used deleted first)."""

    def __init__(
        self, root: Path, limit_bytes: int = SNIPPET_CACHE_BYTES, codec: str = DEFAULT_CODEC
    ) -> None:
        self.root = root
        self.limit_bytes = limit_bytes
        self.codec = codec

    def path_for(self, content_key: str, start_ms: int, end_ms: int) -> Path:
        """Where the snippet of that content and window lives (whether made or not)."""
        name = f"{content_key}-{start_ms}-{end_ms}.{self.codec}.webm"
        return self.root / content_key[:2] / name

    def get(self, source: Path, content_key: str, start_ms: int, end_ms: int) -> CachedSnippet:
        """The snippet of ``source`` between ``start_ms`` and ``end_ms`` (milliseconds),
        made now if not cached. Concurrent calls for the same snippet make it once (the
        others wait for it); at most two snippets are made at a time per process. Raises
        what ``make_snippet`` raises."""
        target = self.path_for(content_key, start_ms, end_ms)
        key_lock = _lock_for(str(target))  # held here: the weak dictionary keeps it meanwhile
        with key_lock.lock:
            if target.is_file():
                _touch(target)
                return CachedSnippet(target, None)
            with _TRANSCODE_SLOTS:
                made = make_snippet(source, start_ms / 1000, end_ms / 1000, target, self.codec)
        log.info(
            "snippet of %s [%.3f, %.3f) s: %d frames in %.2f s",
            source,
            start_ms / 1000,
            end_ms / 1000,
            made.frames,
            made.encode_seconds,
        )
        self.evict(keep=target)
        return CachedSnippet(target, made)

    def evict(self, keep: Path | None = None) -> int:
        """Delete the least recently used snippets until the cache holds at most
        ``limit_bytes``, and temporary files older than an hour (a crash's leftovers);
        ``keep`` is never deleted. Returns the number of files deleted."""
        entries: list[tuple[float, int, Path]] = []
        deleted = 0
        now = time.time()
        for path in self.root.glob("*/*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.name.endswith(".tmp"):
                if now - stat.st_mtime > 3600:
                    path.unlink(missing_ok=True)
                    deleted += 1
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            deleted += 1
        return deleted


def _touch(path: Path) -> None:
    """Mark a cache hit: mtime is the cache's "last used" (atime is often not updated)."""
    with contextlib.suppress(OSError):
        os.utime(path)
