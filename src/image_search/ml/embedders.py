"""Face embedders. Each takes RGB uint8 pixels (H, W, 3) and detections on those pixels and
returns float32 (n, dim) L2-normalised embeddings, one row per detection, in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from image_search.ml.alignment import align_face
from image_search.ml.detection import Detection


class Embedder(Protocol):
    dim: int

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> np.ndarray: ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class DlibEmbedder:
    """dlib's ResNet face descriptor (``dlib_face_recognition_resnet_model_v1``, 99.38% on LFW per
    dlib's model card) with dlib's 5-point shape predictor for alignment; weights from the PyPI
    package ``face-recognition-models`` (no download). dlib runs on one thread: use one process
    per core. Embeddings are L2-normalised, so dlib's usual Euclidean bound 0.6 on raw descriptors
    corresponds to roughly cosine similarity 0.82 here; thresholds are calibrated, not assumed.
    """

    dim = 128

    def __init__(self) -> None:
        import dlib
        import face_recognition_models

        self._dlib = dlib
        self._shape_predictor = dlib.shape_predictor(
            face_recognition_models.pose_predictor_five_point_model_location()
        )
        self._network = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        # dlib cuts its 150x150 chips with 25% padding around the face and fills what lies
        # outside the image with black; faces at the edge (tight crops, partial faces) embed
        # closer to their other photos when the edge pixels are replicated instead
        # (people-small + bbt clustering: BCubed F 0.958 -> 0.980 at distance 0.06).
        border = round(max(float(max(d.box[2], d.box[3])) for d in detections) * 0.6)
        rgb = cv2.copyMakeBorder(
            np.ascontiguousarray(rgb), border, border, border, border, cv2.BORDER_REPLICATE
        )
        shift = np.array([border, border], dtype=np.float32)
        shapes = self._dlib.full_object_detections()
        for detection in detections:
            moved = Detection(
                detection.box + np.concatenate([shift, [0, 0]]).astype(np.float32),
                detection.landmarks + shift,
                detection.score,
            )
            shapes.append(self._shape_predictor(rgb, self._dlib_rectangle(moved)))
        descriptors = self._network.compute_face_descriptor(rgb, shapes, 0, 0.25)
        return l2_normalise(np.array([list(d) for d in descriptors], dtype=np.float32))

    def _dlib_rectangle(self, detection: Detection) -> Any:
        """dlib's shape predictor was trained on its HOG detector's square boxes, which are
        tighter than YuNet's (forehead to chin): use a square of the box width centred on the
        landmarks."""
        side = float(detection.box[2])
        centre_x, centre_y = detection.landmarks.mean(axis=0)
        left = round(centre_x - side / 2)
        top = round(centre_y - side / 2)
        return self._dlib.rectangle(left, top, left + round(side), top + round(side))


class OnnxArcFaceEmbedder:
    """An ArcFace-style ONNX embedder on 112x112 crops aligned to the ArcFace template.

    ``mean``/``std`` normalise pixels as ``(x - mean) / std`` in RGB order (MobileFaceNet:
    127.5/128 per its export; InsightFace w600k_r50: 127.5/127.5 per its model zoo).
    """

    def __init__(self, model_path: Path, dim: int, mean: float = 127.5, std: float = 128.0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._fixed_batch = model_input.shape[0] == 1
        self.dim = dim
        self.mean = mean
        self.std = std

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        crops = np.stack([align_face(rgb, d.landmarks, 112) for d in detections])
        batch = ((crops.astype(np.float32) - self.mean) / self.std).transpose(0, 3, 1, 2)
        if self._fixed_batch:
            outputs = [
                self._session.run(None, {self._input_name: batch[i : i + 1]})[0]
                for i in range(len(batch))
            ]
            result = np.concatenate(outputs, axis=0)
        else:
            result = self._session.run(None, {self._input_name: batch})[0]
        return l2_normalise(result.reshape(len(detections), -1))


class SFaceEmbedder:
    """SFace (Zhong et al., "SFace: Sigmoid-Constrained Hypersphere Loss", IEEE TIP 2021) through
    ``cv2.FaceRecognizerSF``, aligned with its own ``alignCrop`` from YuNet rows."""

    dim = 128

    def __init__(self, model_path: Path) -> None:
        self._recognizer = cv2.FaceRecognizerSF.create(str(model_path), "")

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        features = []
        for detection in detections:
            row = np.concatenate(
                [detection.box, detection.landmarks.reshape(-1), [detection.score]]
            ).astype(np.float32)[None, :]
            aligned = self._recognizer.alignCrop(bgr, row)
            features.append(self._recognizer.feature(aligned).reshape(-1))
        return l2_normalise(np.stack(features))
