"""CLIP models by name, their pinned weight files, and the cached loader.

``ViT-B-32__openai``: OpenCLIP ViT-B/32 with OpenAI's weights (MIT), exported to ONNX by Immich
(one file per tower, batch 1, float32 image (1, 3, 224, 224), int32 text (1, 77), 512-d
L2-normalised output) and published on the Hugging Face hub as ``immich-app/ViT-B-32__openai``.
The files are pinned to hub revision ``a857c8de2c07bbcfa6646adfcf31b798845afa1e``; their sizes
and sha256 (the hub's Git LFS object ids) are the ones independent manifests pin for Immich
(for example omicachow/class-archive ``infra/immich-spike/ml-artifacts/manifest.json``).
The tokenizer's vocabulary comes from openai/CLIP at commit d05afc43 (sha256 as in
../shared/SOURCES.tsv).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from image_search.errors import InvalidInputError
from image_search.ml.clip.encoder import OPENAI_MEAN, OPENAI_STD, ClipEncoder, ClipFiles
from image_search.ml.weights import ModelFile, resolve_model_file

CLIP_DISABLED = "none"

CLIP_BPE_VOCABULARY = ModelFile(
    filename="bpe_simple_vocab_16e6.txt.gz",
    url="https://github.com/openai/CLIP/raw/d05afc436d78f1c48dc0dbf8e5980a9d471f35f6/clip/bpe_simple_vocab_16e6.txt.gz",
    sha256="924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
    description="CLIP BPE vocabulary (openai/CLIP, MIT)",
)
_IMMICH_B32 = "https://huggingface.co/immich-app/ViT-B-32__openai/resolve/a857c8de2c07bbcfa6646adfcf31b798845afa1e"


@dataclass(frozen=True, slots=True)
class ClipModelSpec:
    """One CLIP model: its two ONNX towers, vocabulary, input sizes and embedding size."""

    name: str
    visual: ModelFile
    textual: ModelFile
    vocabulary: ModelFile = CLIP_BPE_VOCABULARY
    image_size: int = 224
    context_length: int = 77
    dim: int = 512
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD


VIT_B_32_OPENAI = ClipModelSpec(
    name="ViT-B-32__openai",
    visual=ModelFile(
        filename="clip-ViT-B-32__openai-visual.onnx",  # visual/model.onnx, 351,613,724 bytes
        url=f"{_IMMICH_B32}/visual/model.onnx",
        sha256="33a3df41ceef21acdf371af00f6dd0456ec1f9eba24d03a7720f9c3734e40859",
        description="CLIP ViT-B/32 image encoder (OpenAI weights, MIT; Immich's ONNX export)",
    ),
    textual=ModelFile(
        filename="clip-ViT-B-32__openai-textual.onnx",  # textual/model.onnx, 254,193,396 bytes
        url=f"{_IMMICH_B32}/textual/model.onnx",
        sha256="b80cf0af751533a6712d92247f0ddc0c95208748bc59a1a27f33e67be6864e3b",
        description="CLIP ViT-B/32 text encoder (OpenAI weights, MIT; Immich's ONNX export)",
    ),
)

CLIP_MODELS: dict[str, ClipModelSpec] = {VIT_B_32_OPENAI.name: VIT_B_32_OPENAI}
_loaded: dict[tuple[str, str, str], ClipEncoder] = {}
_lock = threading.Lock()


def register_clip_model(spec: ClipModelSpec) -> None:
    """Make ``spec`` available under its name (another export, or a test's small model)."""
    CLIP_MODELS[spec.name] = spec


def clip_spec(name: str) -> ClipModelSpec:
    """The spec called ``name``; raises ``InvalidInputError`` listing the known names."""
    try:
        return CLIP_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(CLIP_MODELS))
        raise InvalidInputError(
            f"unknown CLIP model {name!r}: set IMAGE_SEARCH_CLIP_MODEL to one of {known} or "
            f"{CLIP_DISABLED!r}"
        ) from None


def load_clip_encoder(
    name: str, models_dir: Path | None, cache_dir: Path, allow_download: bool = True
) -> ClipEncoder:
    """The loaded encoder of model ``name``, loaded once per process and then reused.

    Files are looked up in ``models_dir`` first, then ``cache_dir``, then downloaded with their
    pinned sha256 (``resolve_model_file``). Raises ``ModelError`` naming the file and the fix
    (missing offline, wrong sha256, not loadable, wrong input or output shape) and
    ``InvalidInputError`` for an unknown model name.
    """
    spec = clip_spec(name)
    key = (name, str(models_dir), str(cache_dir))
    with _lock:
        if key in _loaded:
            return _loaded[key]
        files = ClipFiles(
            visual=resolve_model_file(spec.visual, models_dir, cache_dir, allow_download),
            textual=resolve_model_file(spec.textual, models_dir, cache_dir, allow_download),
            vocabulary=resolve_model_file(spec.vocabulary, models_dir, cache_dir, allow_download),
        )
        encoder = ClipEncoder(
            files, spec.image_size, spec.context_length, spec.dim, spec.mean, spec.std
        )
        _loaded[key] = encoder
        return encoder


def forget_loaded_encoders() -> None:
    """Drop every cached encoder (frees their memory; the next use loads again)."""
    with _lock:
        _loaded.clear()
