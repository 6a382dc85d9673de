"""The per-asset work of the pipeline, run in worker processes: metadata, thumbnails, faces and
embeddings of one image. Pure with respect to the database: it returns an ``AssetResult`` that the
pipeline writes in one transaction, so a worker killed mid-asset leaves nothing half-written."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from image_search.config import Settings
from image_search.errors import ImageSearchError
from image_search.faces.quality import face_quality
from image_search.library.exif import PhotoMetadata, read_photo_metadata
from image_search.library.media import decode_image, sharded_path, write_face_crop, write_thumbnails
from image_search.library.models import AssetKind, Stage
from image_search.ml.packs import ModelPack, load_model_pack


@dataclass(slots=True)
class AssetTask:
    asset_id: int
    path: str
    content_hash: str
    kind: str = "image"  # AssetKind


@dataclass(slots=True)
class FaceResult:
    """One face in original-image pixels (after EXIF orientation)."""

    box: tuple[float, float, float, float]
    landmarks: list[list[float]]
    detector_score: float
    quality: float
    embedding: bytes  # float32 little-endian, L2-normalised
    crop_path: str | None
    # Video faces: the time (s) of the kept frame, the span (start, end) of the face track,
    # and the number of sampled frames the track holds.
    video_timestamp: float | None = None
    video_span: tuple[float, float] | None = None
    video_track_size: int | None = None


@dataclass(slots=True)
class VideoFacts:
    """Container facts of a video (library/video.py ``VideoInfo``) to store on the asset."""

    duration: float | None
    video_codec: str
    audio_codec: str | None
    container: str
    frame_rate: float | None
    rotation: int


@dataclass(slots=True)
class AssetResult:
    asset_id: int
    error: str | None = None
    error_stage: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    metadata: PhotoMetadata | None = None
    faces: list[FaceResult] = field(default_factory=list)
    video: VideoFacts | None = None


@dataclass(slots=True)
class WorkerConfig:
    model_pack: str
    models_dir: Path | None
    cache_dir: Path
    data_dir: Path
    working_size: int
    video_frame_interval: float = 1.0
    video_max_frames: int = 120
    video_frame_size: int = 1280

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            model_pack=settings.model_pack,
            models_dir=settings.models_dir,
            cache_dir=settings.model_cache_dir,
            data_dir=settings.data_dir,
            working_size=settings.working_size,
            video_frame_interval=settings.video_frame_interval,
            video_max_frames=settings.video_max_frames,
            video_frame_size=settings.video_frame_size,
        )


_state: dict[str, object] = {}


def init_worker(config: WorkerConfig) -> None:
    """Process initialiser: one thread per process for OpenCV and BLAS; the pack loaded once."""
    import cv2

    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _state["config"] = config
    _state["pack"] = load_model_pack(config.model_pack, config.models_dir, config.cache_dir)


def process_asset(task: AssetTask) -> AssetResult:
    """Run metadata -> thumbnails -> faces -> embedded on one image or video.

    Never raises for a bad file: the result carries the failing stage and the reason.
    """
    config = _state["config"]
    pack = _state["pack"]
    assert isinstance(config, WorkerConfig) and isinstance(pack, ModelPack)
    return analyse_asset(task, pack, config)


def analyse_asset(task: AssetTask, pack: ModelPack, config: WorkerConfig) -> AssetResult:
    """``analyse_image`` or, for a video, ``analyse_video`` (jobs/video_worker.py)."""
    if task.kind == AssetKind.VIDEO:
        from image_search.jobs.video_worker import analyse_video  # it imports this module

        return analyse_video(task, pack, config)
    return analyse_image(task, pack, config)


def analyse_image(task: AssetTask, pack: ModelPack, config: WorkerConfig) -> AssetResult:
    result = AssetResult(asset_id=task.asset_id)
    stage = Stage.METADATA
    try:
        decoded = decode_image(Path(task.path), config.working_size)
        result.width, result.height = decoded.full_width, decoded.full_height
        result.orientation = decoded.orientation
        result.metadata = read_photo_metadata(decoded.image)

        stage = Stage.THUMBNAILS
        write_thumbnails(decoded, config.data_dir / "thumbnails", task.content_hash)

        stage = Stage.FACES
        detections = pack.detect(decoded.pixels)

        stage = Stage.EMBEDDED
        embeddings = pack.embed(decoded.pixels, detections)
        for index, (detection, embedding) in enumerate(zip(detections, embeddings, strict=True)):
            original = detection.scaled(decoded.scale)
            box = tuple(round(float(v), 2) for v in original.box)
            crop = sharded_path(Path("faces"), task.content_hash, f"-{index}.jpg")
            write_face_crop(decoded, box, config.data_dir / crop)  # type: ignore[arg-type]
            result.faces.append(
                FaceResult(
                    box=box,  # type: ignore[arg-type]
                    landmarks=[[round(float(v), 2) for v in point] for point in original.landmarks],
                    detector_score=round(detection.score, 4),
                    quality=face_quality(decoded.pixels, detection, decoded.scale),
                    embedding=np.asarray(embedding, dtype="<f4").tobytes(),
                    crop_path=str(crop),
                )
            )
    except ImageSearchError as exc:
        return AssetResult(task.asset_id, error=exc.message, error_stage=stage)
    except MemoryError:
        return AssetResult(task.asset_id, error="out of memory while decoding", error_stage=stage)
    except Exception as exc:  # a worker must report, never die, on one bad file
        return AssetResult(task.asset_id, error=f"{type(exc).__name__}: {exc}", error_stage=stage)
    return result


@dataclass(slots=True)
class PrimaryFace:
    """Faces found in an image and the embedding of its central face (evaluation datasets such
    as LFW centre the labelled person)."""

    faces_found: int
    embedding: np.ndarray | None  # float32 (dim,)
    error: str | None = None


def embed_primary_face(path: str) -> PrimaryFace:
    """Detect faces in ``path`` and embed the one whose box centre is nearest the image centre."""
    config = _state["config"]
    pack = _state["pack"]
    assert isinstance(config, WorkerConfig) and isinstance(pack, ModelPack)
    try:
        decoded = decode_image(Path(path), config.working_size)
        detections = pack.detect(decoded.pixels)
        if not detections:
            return PrimaryFace(0, None)
        height, width = decoded.pixels.shape[:2]
        centre = np.array([width / 2.0, height / 2.0])
        distances = [
            float(np.linalg.norm(d.box[:2] + d.box[2:] / 2.0 - centre)) for d in detections
        ]
        primary = detections[int(np.argmin(distances))]
        embedding = pack.embed(decoded.pixels, [primary])[0]
        return PrimaryFace(len(detections), embedding)
    except Exception as exc:
        return PrimaryFace(0, None, f"{type(exc).__name__}: {exc}")
