"""CLIP: the BPE tokenizer against reference token ids, and the model loader's errors on real
files (missing offline, wrong sha256, not loadable, wrong input or output shape), with the
small generated ONNX pair standing in for the real weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from image_search.errors import InvalidInputError, ModelError
from image_search.ml.clip.registry import (
    VIT_B_32_OPENAI,
    ClipModelSpec,
    forget_loaded_encoders,
    load_clip_encoder,
    register_clip_model,
)
from image_search.ml.clip.tokenizer import ClipTokenizer
from image_search.ml.weights import ModelFile, file_sha256
from tests.clip_model import install_tiny_clip, write_textual, write_visual
from tests.conftest import require_asset


@pytest.fixture(scope="module")
def vocabulary(assets_dir: Path) -> Path:
    return require_asset(
        assets_dir / "models" / "clip" / "bpe_simple_vocab_16e6.txt.gz", "CLIP BPE vocabulary"
    )


@pytest.fixture(autouse=True)
def _fresh_encoders() -> None:
    forget_loaded_encoders()


def test_tokenizer_matches_reference_token_ids(vocabulary: Path) -> None:
    # Reference ids as openai/CLIP's simple_tokenizer produces them (its README example and
    # the Hugging Face CLIP tokenizer tests).
    tokens = ClipTokenizer(vocabulary)(
        ["a photo of a cat", "a painting of a cat", "man wearing a blue shirt"]
    )
    assert tokens.shape == (3, 77) and tokens.dtype == np.int64
    assert tokens[0, :8].tolist() == [49406, 320, 1125, 539, 320, 2368, 49407, 0]
    assert tokens[1, :7].tolist() == [49406, 320, 3086, 539, 320, 2368, 49407]
    assert tokens[2, :7].tolist() == [49406, 786, 3309, 320, 1746, 2523, 49407]
    assert not tokens[:, 8:].any()


def test_tokenizer_cleans_case_html_and_whitespace_and_truncates(vocabulary: Path) -> None:
    tokenizer = ClipTokenizer(vocabulary)
    assert tokenizer.encode("  A   PHOTO &amp; of a CAT ") == tokenizer.encode("a photo & of a cat")
    long = tokenizer(["word " * 200])[0]
    assert long[0] == 49406 and long[-1] == 49407 and (long != 0).all()
    with pytest.raises(InvalidInputError, match="empty"):
        tokenizer(["   "])


def test_tokenizer_rejects_a_file_that_is_not_the_vocabulary(tmp_path: Path) -> None:
    bad = tmp_path / "bpe_simple_vocab_16e6.txt.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(ModelError, match=str(bad)):
        ClipTokenizer(bad)


def test_missing_real_model_offline_names_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_OFFLINE", "1")
    with pytest.raises(ModelError) as error:
        load_clip_encoder(VIT_B_32_OPENAI.name, tmp_path / "models", tmp_path / "cache")
    message = error.value.message
    assert VIT_B_32_OPENAI.visual.filename in message
    assert "IMAGE_SEARCH_MODELS_DIR" in message and VIT_B_32_OPENAI.visual.url in message
    assert error.value.status_code == 503


def test_real_model_file_with_wrong_sha256_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    impostor = models / VIT_B_32_OPENAI.visual.filename
    impostor.write_bytes(b"\x08\x01" * 1000)
    with pytest.raises(ModelError) as error:
        load_clip_encoder(VIT_B_32_OPENAI.name, models, tmp_path / "cache", allow_download=False)
    message = error.value.message
    assert str(impostor) in message and VIT_B_32_OPENAI.visual.sha256 in message
    assert "Delete the file" in message


def _spec_for(tmp_path: Path, vocabulary: Path, visual: Path, textual: Path, **kw: object) -> str:
    (tmp_path / vocabulary.name).unlink(missing_ok=True)
    (tmp_path / vocabulary.name).symlink_to(vocabulary)
    name = f"spec-{visual.stem}-{textual.stem}"
    register_clip_model(
        ClipModelSpec(
            name=name,
            visual=ModelFile(visual.name, "-", file_sha256(visual), "visual"),
            textual=ModelFile(textual.name, "-", file_sha256(textual), "textual"),
            **kw,  # type: ignore[arg-type]
        )
    )
    return name


def test_wrong_input_shape_is_refused_with_the_file_named(tmp_path: Path, vocabulary: Path) -> None:
    visual = write_visual(tmp_path / "visual-112.onnx", dim=8, image_size=112)
    textual = write_textual(tmp_path / "textual.onnx", vocabulary, dim=8)
    name = _spec_for(tmp_path, vocabulary, visual, textual, dim=8, image_size=224)
    with pytest.raises(ModelError) as error:
        load_clip_encoder(name, tmp_path, tmp_path / "cache", allow_download=False)
    assert str(visual) in error.value.message
    assert "expected (N, 3, 224, 224)" in error.value.message


def test_wrong_embedding_size_is_refused(tmp_path: Path, vocabulary: Path) -> None:
    visual = write_visual(tmp_path / "visual.onnx", dim=16)
    textual = write_textual(tmp_path / "textual.onnx", vocabulary, dim=16)
    name = _spec_for(tmp_path, vocabulary, visual, textual, dim=512)
    with pytest.raises(ModelError, match="16 values per row, expected 512"):
        load_clip_encoder(name, tmp_path, tmp_path / "cache", allow_download=False)


def test_towers_swapped_are_refused(tmp_path: Path, vocabulary: Path) -> None:
    visual = write_visual(tmp_path / "visual.onnx", dim=8)
    textual = write_textual(tmp_path / "textual.onnx", vocabulary, dim=8)
    name = _spec_for(tmp_path, vocabulary, textual, visual, dim=8)
    with pytest.raises(ModelError, match=r"textual\.onnx"):
        load_clip_encoder(name, tmp_path, tmp_path / "cache", allow_download=False)


def test_unloadable_onnx_with_the_pinned_sha256_is_refused(
    tmp_path: Path, vocabulary: Path
) -> None:
    visual = tmp_path / "broken.onnx"
    visual.write_bytes(b"this is not a protobuf")
    textual = write_textual(tmp_path / "textual.onnx", vocabulary, dim=8)
    name = _spec_for(tmp_path, vocabulary, visual, textual, dim=8)
    with pytest.raises(ModelError, match="onnxruntime cannot load"):
        load_clip_encoder(name, tmp_path, tmp_path / "cache", allow_download=False)


def test_generated_model_embeds_texts_and_images_normalised(
    tmp_path: Path, vocabulary: Path
) -> None:
    spec = install_tiny_clip(tmp_path, vocabulary, name="tiny-loader-test")
    encoder = load_clip_encoder(spec.name, tmp_path, tmp_path / "cache", allow_download=False)
    assert load_clip_encoder(spec.name, tmp_path, tmp_path / "cache") is encoder  # cached
    red, green = np.zeros((120, 90, 3), np.uint8), np.zeros((50, 400, 3), np.uint8)
    red[..., 0] = 255
    green[..., 1] = 255
    images = encoder.embed_images([red, green])
    texts = encoder.embed_texts(["a red apple", "GREEN grass"])
    assert images.shape == texts.shape == (2, 8) and images.dtype == np.float32
    assert np.allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    similarity = texts @ images.T
    assert similarity[0, 0] > 0.99 and similarity[1, 1] > 0.99
    assert similarity[0, 1] < 0 and similarity[1, 0] < 0


def test_export_with_a_fixed_batch_of_one_embeds_several_images(
    tmp_path: Path, vocabulary: Path
) -> None:
    visual = write_visual(tmp_path / "visual-b1.onnx", dim=8, batch=1)
    textual = write_textual(tmp_path / "textual-b1.onnx", vocabulary, dim=8, batch=1)
    name = _spec_for(tmp_path, vocabulary, visual, textual, dim=8)
    encoder = load_clip_encoder(name, tmp_path, tmp_path / "cache", allow_download=False)
    images = [np.full((64, 64, 3), value, np.uint8) for value in (0, 128, 255)]
    assert encoder.embed_images(images).shape == (3, 8)
    assert encoder.embed_texts(["red", "blue"]).shape == (2, 8)
