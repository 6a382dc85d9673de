"""The per-asset work of the pipeline for a video, run in worker processes: container facts,
sampled frames, faces per frame linked into tracks (faces/tracks.py), one face per track, a
poster thumbnail. Like ``analyse_image`` it never writes the database and never raises for a
bad file: the ``AssetResult`` carries the stage and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av.error
import numpy as np
from PIL import Image

from image_search.errors import ImageSearchError
from image_search.faces.quality import face_quality
from image_search.faces.tracks import FaceTrack, FaceTracker, TrackedFace, TrackingSettings
from image_search.jobs.worker import AssetResult, AssetTask, FaceResult, VideoFacts, WorkerConfig
from image_search.library.media import (
    DecodedImage,
    face_crop,
    save_jpeg,
    sharded_path,
    write_thumbnails,
)
from image_search.library.models import Stage
from image_search.library.video import (
    SampledFrame,
    SamplingSettings,
    count_duration,
    decoding_error_message,
    open_container,
    probe_video,
    sample_frames,
)
from image_search.ml.packs import ModelPack


@dataclass(slots=True)
class _FacePayload:
    """What a track's best face needs to be stored: its crop and landmarks."""

    crop: Image.Image | None
    landmarks: list[list[float]]


class _PosterChoice:
    """Keeps the frame that best shows the video's people: the most face quality in one
    frame; without faces the frame nearest 1 s (skips fade-ins and black first frames)."""

    def __init__(self) -> None:
        self.frame: SampledFrame | None = None
        self.score: tuple[float, float] = (-1.0, 0.0)

    def offer(self, frame: SampledFrame, qualities: list[float]) -> None:
        score = (sum(qualities), -abs(frame.time - 1.0))
        if self.frame is None or score > self.score:
            self.frame, self.score = frame, score


def analyse_video(task: AssetTask, pack: ModelPack, config: WorkerConfig) -> AssetResult:
    """Container facts -> sampled frames -> faces and embeddings per frame -> tracks -> one
    ``FaceResult`` per track (its best face, the track's mean embedding, the time of the best
    face and the span the track covers) and the poster thumbnails."""
    result = AssetResult(asset_id=task.asset_id)
    stage = Stage.METADATA
    sampling = SamplingSettings(
        interval_s=config.video_frame_interval,
        max_interval_frames=config.video_max_frames,
        max_scene_frames=max(1, config.video_max_frames // 4),
        max_side=config.video_frame_size,
    )
    try:
        with open_container(Path(task.path)) as container:
            info = probe_video(container)
            if info.duration is None:  # raw stream: count it, so sampling covers all of it
                info.duration = count_duration(Path(task.path), info.frame_rate)
            interval = sampling.interval_for(info.duration)
            tracker = FaceTracker(TrackingSettings.for_pack(pack.name, interval))
            poster = _PosterChoice()
            stage = Stage.FACES
            for frame in sample_frames(container, info, sampling):
                faces = _frame_faces(frame, pack)
                tracker.add_frame(faces)
                poster.offer(frame, [f.quality for f in faces])
        result.width, result.height, result.orientation = info.width, info.height, 1
        result.metadata = info.metadata
        result.video = VideoFacts(
            duration=info.duration,
            video_codec=info.video_codec,
            audio_codec=info.audio_codec,
            container=info.container[:64],
            frame_rate=info.frame_rate,
            rotation=info.rotation,
        )
        stage = Stage.THUMBNAILS
        if poster.frame is not None:
            write_thumbnails(
                _as_decoded(poster.frame, info.width, info.height),
                config.data_dir / "thumbnails",
                task.content_hash,
            )
        stage = Stage.EMBEDDED
        for index, track in enumerate(tracker.tracks()):
            result.faces.append(_track_face(track, index, task.content_hash, config.data_dir))
    except ImageSearchError as exc:
        return AssetResult(task.asset_id, error=exc.message, error_stage=stage)
    except av.error.FFmpegError as exc:
        return AssetResult(task.asset_id, error=decoding_error_message(exc), error_stage=stage)
    except MemoryError:
        return AssetResult(task.asset_id, error="out of memory while decoding", error_stage=stage)
    except Exception as exc:  # a worker must report, never die, on one bad file
        return AssetResult(task.asset_id, error=f"{type(exc).__name__}: {exc}", error_stage=stage)
    return result


def _frame_faces(frame: SampledFrame, pack: ModelPack) -> list[TrackedFace]:
    detections = pack.detect(frame.pixels)
    if not detections:
        return []
    embeddings = pack.embed(frame.pixels, detections)
    image = Image.fromarray(frame.pixels)
    faces = []
    for detection, embedding in zip(detections, embeddings, strict=True):
        original = detection.scaled(frame.scale)
        box = tuple(round(float(v), 2) for v in original.box)
        faces.append(
            TrackedFace(
                time=frame.time,
                box=np.asarray(box, dtype=np.float32),
                embedding=np.asarray(embedding, dtype=np.float32),
                quality=face_quality(frame.pixels, detection, frame.scale),
                detector_score=round(float(detection.score), 4),
                payload=_FacePayload(
                    crop=face_crop(image, frame.scale, box),  # type: ignore[arg-type]
                    landmarks=[[round(float(v), 2) for v in point] for point in original.landmarks],
                ),
            )
        )
    return faces


def _track_face(track: FaceTrack, index: int, content_hash: str, data_dir: Path) -> FaceResult:
    best = track.best
    assert best is not None and isinstance(best.payload, _FacePayload)
    crop_path: str | None = None
    if best.payload.crop is not None:
        relative = sharded_path(Path("faces"), content_hash, f"-{index}.jpg")
        target = data_dir / relative
        if not target.exists():
            save_jpeg(best.payload.crop, target)
        crop_path = str(relative)
    x, y, w, h = (float(v) for v in best.box)
    return FaceResult(
        box=(x, y, w, h),
        landmarks=best.payload.landmarks,
        detector_score=best.detector_score,
        quality=best.quality,
        embedding=np.asarray(track.embedding(), dtype="<f4").tobytes(),
        crop_path=crop_path,
        video_timestamp=best.time,
        video_span=(track.start, track.end),
        video_track_size=len(track.faces),
    )


def _as_decoded(frame: SampledFrame, width: int, height: int) -> DecodedImage:
    image = Image.fromarray(frame.pixels)
    return DecodedImage(
        pixels=frame.pixels,
        full_width=width,
        full_height=height,
        orientation=1,
        scale=frame.scale,
        image=image,
    )
