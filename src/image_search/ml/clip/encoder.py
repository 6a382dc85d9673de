"""CLIP image and text encoders on onnxruntime (OpenCLIP exports: one ONNX file per tower).

Both towers return L2-normalised float32 embeddings, so the inner product of a text and an
image embedding is their cosine similarity (the quantity CLIP was trained to rank by).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from image_search.errors import ModelError
from image_search.ml.clip.tokenizer import ClipTokenizer
from image_search.ml.embedders import l2_normalise

# CLIP's image normalisation (openai/CLIP clip/clip.py ``_transform``; open_clip OPENAI_DATASET_*).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True, slots=True)
class ClipFiles:
    """Local paths of one CLIP model's parts."""

    visual: Path
    textual: Path
    vocabulary: Path


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidProtobuf types
        raise ModelError(
            f"{path}: onnxruntime cannot load this file ({exc}). Delete it (it is downloaded "
            f"again) or replace it with the official copy."
        ) from exc


def _dim(value: object) -> int | None:
    """A fixed ONNX dimension, None for a symbolic (dynamic) one."""
    return value if isinstance(value, int) else None


class ClipEncoder:
    """A CLIP model: ``embed_images`` and ``embed_texts``.

    ``image_size``: side (px) of the square image input (224 for ViT-B/32); ``context_length``:
    tokens per text (77); ``dim``: embedding size (512 for ViT-B/32). The ONNX files are checked
    on load: the visual input must be float (N, 3, image_size, image_size), the text input
    integer (N, context_length), both outputs (N, dim). Raises ``ModelError`` naming the file and
    the fix otherwise.
    """

    def __init__(
        self,
        files: ClipFiles,
        image_size: int,
        context_length: int,
        dim: int,
        mean: tuple[float, float, float] = OPENAI_MEAN,
        std: tuple[float, float, float] = OPENAI_STD,
        threads: int = 0,
    ) -> None:
        self.image_size = image_size
        self.dim = dim
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        self.tokenizer = ClipTokenizer(files.vocabulary, context_length)
        self._visual = _session(files.visual, threads)
        self._textual = _session(files.textual, threads)
        self._check(files.visual, self._visual, "tensor(float)", [3, image_size, image_size])
        self._check(files.textual, self._textual, None, [context_length])
        text_type = self._textual.get_inputs()[0].type
        if text_type not in ("tensor(int32)", "tensor(int64)"):
            raise ModelError(
                f"{files.textual}: the text input is {text_type}, expected int32 or int64 token "
                f"ids. Is this the textual part of a CLIP export?"
            )
        self._text_dtype = np.int32 if text_type == "tensor(int32)" else np.int64
        self._lock = threading.Lock()  # one run at a time per session keeps memory bounded

    def _check(self, path: Path, session: Any, dtype: str | None, shape: list[int]) -> None:
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(
                f"{path}: expected one input, found {[i.name for i in inputs]}. Is this the "
                f"right part of a CLIP export (visual / textual)?"
            )
        model_input = inputs[0]
        actual = [_dim(d) for d in model_input.shape[1:]]
        if (dtype is not None and model_input.type != dtype) or actual != shape:
            raise ModelError(
                f"{path}: input {model_input.name!r} has shape {model_input.shape} "
                f"({model_input.type}), expected (N, {', '.join(map(str, shape))}) for this CLIP "
                f"model. The file belongs to another model: check IMAGE_SEARCH_CLIP_MODEL or "
                f"replace the file."
            )
        out_dim = _dim(outputs[0].shape[-1]) if outputs and outputs[0].shape else None
        if out_dim is not None and out_dim != self.dim:
            raise ModelError(
                f"{path}: output {outputs[0].name!r} has {out_dim} values per row, expected "
                f"{self.dim} for this CLIP model. Check IMAGE_SEARCH_CLIP_MODEL or replace the "
                f"file."
            )

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) RGB -> float32 (3, S, S): shortest side resized to S (bicubic),
        centre crop, scaled to 0..1 and normalised with CLIP's mean and std."""
        image = Image.fromarray(rgb)
        scale = self.image_size / min(image.size)
        size = (
            max(self.image_size, round(image.width * scale)),
            max(self.image_size, round(image.height * scale)),
        )
        image = image.resize(size, Image.Resampling.BICUBIC)
        left = (image.width - self.image_size) // 2
        top = (image.height - self.image_size) // 2
        image = image.crop((left, top, left + self.image_size, top + self.image_size))
        array = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return array

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """uint8 (H, W, 3) RGB images -> L2-normalised float32 (len(images), dim)."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = np.stack([self.preprocess(image) for image in images])
        batch = ((batch - self.mean) / self.std).astype(np.float32)
        result = self._run(self._visual, batch)
        return l2_normalise(np.asarray(result, dtype=np.float32).reshape(len(images), -1))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Texts -> L2-normalised float32 (len(texts), dim). Raises ``InvalidInputError`` for
        an empty text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokens = self.tokenizer(texts).astype(self._text_dtype)
        result = self._run(self._textual, tokens)
        return l2_normalise(np.asarray(result, dtype=np.float32).reshape(len(texts), -1))

    def _run(self, session: Any, batch: np.ndarray) -> np.ndarray:
        """Run one tower on a batch, row by row when the export has a fixed batch of 1."""
        model_input = session.get_inputs()[0]
        with self._lock:
            if model_input.shape[0] == 1 and len(batch) > 1:
                rows = [
                    session.run(None, {model_input.name: batch[i : i + 1]})[0]
                    for i in range(len(batch))
                ]
                return np.concatenate(rows, axis=0)
            return np.asarray(session.run(None, {model_input.name: batch})[0])
