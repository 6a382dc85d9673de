"""Model packs: a face detector plus a face embedder, loaded by name.

| pack | detector | embedder | dims | license |
| yunet-dlib (default) | YuNet 2023mar | dlib ResNet v1 | 128 | MIT / Boost / CC0 |
| yunet-sface | YuNet 2023mar | SFace 2021dec | 128 | MIT / Apache-2.0 |
| buffalo_l | InsightFace SCRFD det_10g | ArcFace w600k_r50 | 512 | non-commercial research |
| mobilefacenet (tests only) | YuNet 2023mar | MobileFaceNet ArcFace-style | 128 | unknown |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from image_search.errors import ModelError
from image_search.ml.detection import Detection, YuNetDetector
from image_search.ml.embedders import DlibEmbedder, Embedder, OnnxArcFaceEmbedder, SFaceEmbedder
from image_search.ml.weights import SFACE_2021DEC, YUNET_2023MAR, ModelFile, resolve_model_file

# MobileFaceNet is read from IMAGE_SEARCH_MODELS_DIR only: its license is unknown, so it is never
# downloaded or shipped, and serves tests. sha256 from ../shared/SOURCES.tsv.
MOBILEFACENET_128D = ModelFile(
    filename="mobilefacenet_128d.onnx",
    url="(not downloadable: provide it in IMAGE_SEARCH_MODELS_DIR)",
    sha256="f055d9c9a4d826d198c42666590fdefa0fdc1374a75ccb6306c3d1b1bf8f74c5",
    description="MobileFaceNet 128-d embedder (tests only, unknown license)",
)


class Detector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


@dataclass(slots=True)
class ModelPack:
    """A loaded detector and embedder under the pack's name."""

    name: str
    detector: Detector
    embedder: Embedder

    @property
    def embedding_dim(self) -> int:
        return self.embedder.dim

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return self.detector.detect(rgb)

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> np.ndarray:
        return self.embedder.embed(rgb, detections)


MODEL_PACK_NAMES = ("yunet-dlib", "yunet-sface", "buffalo_l", "mobilefacenet")


def load_model_pack(name: str, models_dir: Path | None, cache_dir: Path) -> ModelPack:
    """Load pack ``name``; weights are resolved with ``resolve_model_file`` (pinned sha256).

    Raises ``ModelError`` for an unknown pack or a missing / corrupt weight file.
    """
    if name not in MODEL_PACK_NAMES:
        raise ModelError(
            f"unknown model pack {name!r}; choose one of {', '.join(MODEL_PACK_NAMES)}"
        )

    def weights(model: ModelFile, allow_download: bool = True) -> Path:
        return resolve_model_file(model, models_dir, cache_dir, allow_download)

    if name == "buffalo_l":
        from image_search.ml.insightface import load_buffalo_l

        scrfd, arcface = load_buffalo_l(models_dir, cache_dir)
        return ModelPack(name, scrfd, arcface)
    detector: Detector = YuNetDetector(weights(YUNET_2023MAR))
    built: Embedder
    if name == "yunet-dlib":
        built = DlibEmbedder()
    elif name == "yunet-sface":
        built = SFaceEmbedder(weights(SFACE_2021DEC))
    else:
        built = OnnxArcFaceEmbedder(
            weights(MOBILEFACENET_128D, allow_download=False), dim=128, mean=127.5, std=128.0
        )
    return ModelPack(name, detector, built)
