"""Model weight files: pinned sha256, looked up in ``IMAGE_SEARCH_MODELS_DIR`` first, then in the
data dir's model cache, and only then downloaded from the official location."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from image_search.errors import ModelError


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One weight file: its file name, official URL and the sha256 its bytes must have."""

    filename: str
    url: str
    sha256: str
    description: str


# YuNet 2023mar, OpenCV Zoo (MIT). sha256 as published with the file (and in ../shared/SOURCES.tsv).
YUNET_2023MAR = ModelFile(
    filename="face_detection_yunet_2023mar.onnx",
    url="https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
    sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    description="YuNet face detector (OpenCV Zoo, MIT)",
)
# SFace 2021dec, OpenCV Zoo (Apache-2.0); 38,696,353 bytes.
SFACE_2021DEC = ModelFile(
    filename="face_recognition_sface_2021dec.onnx",
    url="https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/face_recognition_sface_2021dec.onnx",
    sha256="0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    description="SFace face embedder (OpenCV Zoo, Apache-2.0)",
)


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def candidate_paths(model: ModelFile, models_dir: Path | None, cache_dir: Path) -> list[Path]:
    """Where ``model`` is looked for, in order: models dir (flat or one folder deep), cache."""
    candidates: list[Path] = []
    if models_dir is not None:
        candidates.append(models_dir / model.filename)
        if models_dir.is_dir():
            candidates.extend(sorted(models_dir.glob(f"*/{model.filename}")))
    candidates.append(cache_dir / model.filename)
    return candidates


def resolve_model_file(
    model: ModelFile, models_dir: Path | None, cache_dir: Path, allow_download: bool = True
) -> Path:
    """Return a local path holding ``model`` with the pinned sha256.

    Raises ``ModelError`` naming the file and the fix when a found file has the wrong sha256,
    or when no copy exists and it cannot be downloaded.
    """
    for candidate in candidate_paths(model, models_dir, cache_dir):
        if candidate.is_file():
            actual = file_sha256(candidate)
            if actual != model.sha256:
                raise ModelError(
                    f"{candidate}: sha256 {actual} does not match the pinned {model.sha256} for "
                    f"{model.description}. Delete the file (it will be downloaded again) or "
                    f"replace it with the official copy from {model.url}."
                )
            return candidate
    if not allow_download or os.environ.get("IMAGE_SEARCH_OFFLINE") == "1":
        raise ModelError(
            f"{model.filename} ({model.description}) not found in "
            f"{models_dir or '(IMAGE_SEARCH_MODELS_DIR unset)'} or {cache_dir}, and downloads "
            f"are off. Copy it from {model.url} into IMAGE_SEARCH_MODELS_DIR."
        )
    return download(model, cache_dir / model.filename)


def download(model: ModelFile, target: Path, timeout: float = 60.0) -> Path:
    """Download ``model`` to ``target``, verifying its sha256 before the file appears there.

    Raises ``ModelError`` when the download fails or the bytes do not match.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
        temporary = Path(tmp.name)
        try:
            with urllib.request.urlopen(model.url, timeout=timeout) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    tmp.write(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            temporary.unlink(missing_ok=True)
            raise ModelError(
                f"cannot download {model.filename} from {model.url}: {exc}. On an offline "
                f"machine, copy the file into IMAGE_SEARCH_MODELS_DIR."
            ) from exc
    if digest.hexdigest() != model.sha256:
        temporary.unlink(missing_ok=True)
        raise ModelError(
            f"downloaded {model.filename} has sha256 {digest.hexdigest()}, expected "
            f"{model.sha256}; refusing to use it."
        )
    shutil.move(temporary, target)
    return target
