"""The ``buffalo_l`` pack: InsightFace's SCRFD detector ``det_10g`` and ArcFace ``w600k_r50``.

License: InsightFace's pretrained models are for non-commercial research only; this pack is
never a default. Weights: ``buffalo_l.zip`` of InsightFace release v0.7 (288,621,354 bytes). The
sha256 values below are not published upstream; they are the values many independent projects
pin for this URL and its two members, all in agreement (see docs/architecture.md).

SCRFD: Guo et al., "Sample and Computation Redistribution for Efficient Face Detection",
ICLR 2022; the output decoding follows InsightFace's reference ``scrfd.py`` (anchor-free distances
from anchor centres, two anchors per location, strides 8/16/32, NMS at IoU 0.4).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import cv2
import numpy as np

from image_search.errors import ModelError
from image_search.ml.detection import Detection, clip_box
from image_search.ml.embedders import OnnxArcFaceEmbedder
from image_search.ml.weights import ModelFile, file_sha256, resolve_model_file

BUFFALO_L_ZIP = ModelFile(
    filename="buffalo_l.zip",
    url="https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
    sha256="80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f",
    description="InsightFace buffalo_l model pack (non-commercial research license)",
)
# Members of buffalo_l.zip: file name -> sha256.
BUFFALO_L_MEMBERS = {
    "det_10g.onnx": "5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
    "w600k_r50.onnx": "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
}


def buffalo_l_member(name: str, models_dir: Path | None, cache_dir: Path) -> Path:
    """Path of a verified member of buffalo_l: found as a loose file in the models dir (or one
    folder deep, e.g. ``buffalo_l/det_10g.onnx``) or the cache, else extracted from the zip
    (itself resolved or downloaded with its pinned sha256). Raises ``ModelError``."""
    expected = BUFFALO_L_MEMBERS[name]
    loose = ModelFile(name, BUFFALO_L_ZIP.url, expected, f"{name} of buffalo_l")
    try:
        return resolve_model_file(loose, models_dir, cache_dir, allow_download=False)
    except ModelError as exc:
        if "sha256" in exc.message:
            raise
    archive = resolve_model_file(BUFFALO_L_ZIP, models_dir, cache_dir)
    target = cache_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as bundle:
        member = next((m for m in bundle.namelist() if m.rsplit("/", 1)[-1] == name), None)
        if member is None:
            raise ModelError(f"{archive} has no {name}; delete it so it is downloaded again")
        digest = hashlib.sha256()
        temporary = target.with_name(name + ".part")
        with bundle.open(member) as source, temporary.open("wb") as sink:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                sink.write(chunk)
    if digest.hexdigest() != expected:
        temporary.unlink(missing_ok=True)
        raise ModelError(
            f"{name} in {archive} has sha256 {digest.hexdigest()}, expected {expected}"
        )
    temporary.replace(target)
    assert file_sha256(target) == expected
    return target


class ScrfdDetector:
    """SCRFD face detector (``det_10g.onnx``) on onnxruntime, 640x640 letterboxed input."""

    def __init__(
        self,
        model_path: Path,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.4,
        input_size: int = 640,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._input_name = self._session.get_inputs()[0].name
        outputs = self._session.get_outputs()
        if len(outputs) != 9:
            raise ModelError(
                f"{model_path}: expected SCRFD's 9 outputs (scores, boxes, landmarks at 3 "
                f"strides), found {len(outputs)}"
            )
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.input_size = input_size
        self.strides = (8, 16, 32)
        self.anchors_per_location = 2

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in ``rgb`` (uint8 (H, W, 3)), coordinates in its pixels."""
        height, width = rgb.shape[:2]
        scale = self.input_size / max(height, width)
        resized = cv2.resize(rgb, (round(width * scale), round(height * scale)))
        canvas = np.zeros((self.input_size, self.input_size, 3), dtype=np.uint8)
        canvas[: resized.shape[0], : resized.shape[1]] = resized
        blob = ((canvas.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
        outputs = [
            o[0] if o.ndim == 3 else o for o in self._session.run(None, {self._input_name: blob})
        ]
        boxes, landmarks, scores = [], [], []
        for level, stride in enumerate(self.strides):
            cells = self.input_size // stride
            ys, xs = np.mgrid[:cells, :cells]
            centres = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
            centres = np.repeat(centres, self.anchors_per_location, axis=0)
            level_scores = outputs[level].reshape(-1)
            keep = level_scores >= self.score_threshold
            distances = outputs[level + 3].reshape(-1, 4)[keep] * stride
            points = outputs[level + 6].reshape(-1, 10)[keep] * stride
            c = centres[keep]
            boxes.append(np.concatenate([c - distances[:, :2], c + distances[:, 2:]], axis=1))
            landmarks.append(c[:, None, :] + points.reshape(-1, 5, 2))
            scores.append(level_scores[keep])
        all_boxes = np.concatenate(boxes) / scale
        all_landmarks = np.concatenate(landmarks) / scale
        all_scores = np.concatenate(scores)
        if len(all_scores) == 0:
            return []
        xywh = np.concatenate([all_boxes[:, :2], all_boxes[:, 2:] - all_boxes[:, :2]], axis=1)
        kept = cv2.dnn.NMSBoxes(
            xywh.tolist(), all_scores.tolist(), self.score_threshold, self.nms_threshold
        )
        result = []
        for index in np.array(kept).reshape(-1):
            box = clip_box(xywh[index], width, height)
            result.append(
                Detection(box, all_landmarks[index].astype(np.float32), float(all_scores[index]))
            )
        return result


def load_buffalo_l(
    models_dir: Path | None, cache_dir: Path
) -> tuple[ScrfdDetector, OnnxArcFaceEmbedder]:
    """Detector and embedder of buffalo_l; ArcFace input normalisation (x - 127.5) / 127.5 on
    RGB per InsightFace's ``arcface_onnx.py``. Raises ``ModelError``."""
    detector = ScrfdDetector(buffalo_l_member("det_10g.onnx", models_dir, cache_dir))
    embedder = OnnxArcFaceEmbedder(
        buffalo_l_member("w600k_r50.onnx", models_dir, cache_dir), dim=512, mean=127.5, std=127.5
    )
    return detector, embedder
