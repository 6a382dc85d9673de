"""Model weights: found in IMAGE_SEARCH_MODELS_DIR (flat or one folder deep) or the cache, checked
against their pinned sha256, never downloaded when downloads are off; model packs loaded by name,
and the real MobileFaceNet pack embedding real faces."""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from image_search.errors import ModelError
from image_search.library.media import decode_image
from image_search.ml.packs import MOBILEFACENET_128D, ModelPack, load_model_pack
from image_search.ml.weights import YUNET_2023MAR, ModelFile, file_sha256, resolve_model_file
from tests.conftest import require_asset


@pytest.fixture(autouse=True)
def _downloads_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI sets IMAGE_SEARCH_OFFLINE=1; these tests download from a local server on purpose
    (tests that want offline mode set it again themselves)."""
    monkeypatch.delenv("IMAGE_SEARCH_OFFLINE", raising=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail loudly if anything tries to download; returns the URLs that were tried."""
    tried: list[str] = []

    def refuse(url: object, *args: object, **kwargs: object) -> None:
        tried.append(str(url))
        raise AssertionError(f"a download was attempted: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tried


@pytest.fixture
def yunet(models_dir: Path) -> Path:
    return require_asset(models_dir / "yunet" / YUNET_2023MAR.filename)


def _small_model(folder: Path, data: bytes, name: str = "tiny.onnx") -> tuple[ModelFile, Path]:
    """A weight file with known bytes and its ``ModelFile`` pinned to their sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    digest = file_sha256(path)
    return ModelFile(name, "https://example.invalid/tiny.onnx", digest, "a tiny test model"), path


# --- resolve_model_file ---------------------------------------------------------------------------


def test_shared_yunet_is_found_one_folder_deep_with_its_pinned_sha256(
    models_dir: Path, yunet: Path, tmp_path: Path, no_network: list[str]
) -> None:
    found = resolve_model_file(YUNET_2023MAR, models_dir, tmp_path / "cache")

    assert found == yunet
    assert file_sha256(found) == YUNET_2023MAR.sha256
    assert no_network == []


def test_flat_file_in_models_dir_is_found(tmp_path: Path, no_network: list[str]) -> None:
    model, path = _small_model(tmp_path / "models", b"weights, flat")

    assert resolve_model_file(model, tmp_path / "models", tmp_path / "cache") == path


def test_file_in_the_cache_is_found_without_models_dir(
    tmp_path: Path, no_network: list[str]
) -> None:
    model, path = _small_model(tmp_path / "data" / "models", b"weights, downloaded earlier")

    assert resolve_model_file(model, None, tmp_path / "data" / "models") == path


def test_models_dir_is_read_before_the_cache(tmp_path: Path, no_network: list[str]) -> None:
    model, provided = _small_model(tmp_path / "models" / "pack", b"the same weights")
    cached = tmp_path / "cache" / model.filename
    cached.parent.mkdir()
    cached.write_bytes(b"the same weights")

    assert resolve_model_file(model, tmp_path / "models", tmp_path / "cache") == provided


def test_two_folders_deep_is_not_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[str]
) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_OFFLINE", "1")
    model, _ = _small_model(tmp_path / "models" / "a" / "b", b"too deep")

    with pytest.raises(ModelError, match=r"tiny\.onnx"):
        resolve_model_file(model, tmp_path / "models", tmp_path / "cache")


def test_file_with_wrong_sha256_is_refused_naming_the_path(
    yunet: Path, tmp_path: Path, no_network: list[str]
) -> None:
    models = tmp_path / "models"
    corrupt = models / "yunet" / YUNET_2023MAR.filename
    corrupt.parent.mkdir(parents=True)
    data = yunet.read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])  # an interrupted copy of the real file

    with pytest.raises(ModelError) as caught:
        resolve_model_file(YUNET_2023MAR, models, tmp_path / "cache")

    message = caught.value.message
    assert str(corrupt) in message
    assert "sha256" in message
    assert file_sha256(corrupt) in message and YUNET_2023MAR.sha256 in message
    assert caught.value.status_code == 503
    assert no_network == []


def test_wrong_sha256_in_the_cache_is_refused(tmp_path: Path, no_network: list[str]) -> None:
    model, _ = _small_model(tmp_path / "elsewhere", b"the right bytes")
    cached = tmp_path / "cache" / model.filename
    cached.parent.mkdir()
    cached.write_bytes(b"the wrong bytes")

    with pytest.raises(ModelError, match="sha256") as caught:
        resolve_model_file(model, None, tmp_path / "cache")
    assert str(cached) in caught.value.message


def test_missing_file_with_downloads_off_names_the_file_and_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[str]
) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_OFFLINE", "1")
    empty = tmp_path / "models"
    empty.mkdir()

    with pytest.raises(ModelError) as caught:
        resolve_model_file(YUNET_2023MAR, empty, tmp_path / "cache")  # downloads allowed by call

    message = caught.value.message
    assert YUNET_2023MAR.filename in message
    assert "IMAGE_SEARCH_MODELS_DIR" in message
    assert str(empty) in message and YUNET_2023MAR.url in message
    assert no_network == []
    assert not (tmp_path / "cache").exists(), "nothing may be written when offline"


def test_missing_file_without_models_dir_says_the_setting_is_unset(
    tmp_path: Path, no_network: list[str]
) -> None:
    model = ModelFile("absent.onnx", "https://example.invalid/absent.onnx", "0" * 64, "absent")

    with pytest.raises(ModelError, match=r"absent\.onnx.*IMAGE_SEARCH_MODELS_DIR unset"):
        resolve_model_file(model, None, tmp_path / "cache", allow_download=False)
    assert no_network == []


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on localhost serving a folder: (base URL, folder)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _served_model(web: tuple[str, Path], data: bytes, sha256: str | None = None) -> ModelFile:
    base, folder = web
    (folder / "weights.onnx").write_bytes(data)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return ModelFile("weights.onnx", f"{base}/weights.onnx", digest, "served weights")


def test_missing_file_is_downloaded_into_the_cache_and_verified(
    web: tuple[str, Path], tmp_path: Path
) -> None:
    data = os.urandom(3 << 20)  # several read chunks
    model = _served_model(web, data)
    cache = tmp_path / "data" / "models"

    found = resolve_model_file(model, tmp_path / "empty-models-dir", cache)

    assert found == cache / "weights.onnx"
    assert found.read_bytes() == data
    assert sorted(p.name for p in cache.iterdir()) == ["weights.onnx"]  # no .part left
    (web[1] / "weights.onnx").unlink()  # the next call is served from the cache
    assert resolve_model_file(model, None, cache) == found


def test_download_with_the_wrong_sha256_is_refused_and_removed(
    web: tuple[str, Path], tmp_path: Path
) -> None:
    model = _served_model(web, b"tampered weights", sha256="1" * 64)

    with pytest.raises(ModelError, match="refusing to use it") as caught:
        resolve_model_file(model, None, tmp_path / "cache")

    assert hashlib.sha256(b"tampered weights").hexdigest() in caught.value.message
    assert list((tmp_path / "cache").iterdir()) == []


def test_failed_download_names_the_offline_fix_and_leaves_nothing(
    web: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = web
    model = ModelFile("absent.onnx", f"{base}/absent.onnx", "0" * 64, "not served")

    with pytest.raises(ModelError, match=r"cannot download absent\.onnx.*404") as caught:
        resolve_model_file(model, None, tmp_path / "cache")

    assert "IMAGE_SEARCH_MODELS_DIR" in caught.value.message
    assert list((tmp_path / "cache").iterdir()) == []


def test_downloads_off_by_argument_never_reach_the_server(
    web: tuple[str, Path], tmp_path: Path, no_network: list[str]
) -> None:
    model = _served_model(web, b"available but not wanted")

    with pytest.raises(ModelError, match="downloads are off"):
        resolve_model_file(model, None, tmp_path / "cache", allow_download=False)
    assert no_network == []


# --- load_model_pack ------------------------------------------------------------------------------


def test_unknown_pack_is_a_model_error_listing_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        load_model_pack("facenet-9000", tmp_path, tmp_path / "cache")

    message = caught.value.message
    assert "'facenet-9000'" in message
    for name in ("yunet-dlib", "yunet-sface", "buffalo_l", "mobilefacenet"):
        assert name in message


def test_mobilefacenet_is_never_downloaded(
    yunet: Path, tmp_path: Path, no_network: list[str]
) -> None:
    """Downloads are on, YuNet is present, MobileFaceNet is not: the error names it, and no
    download is attempted (its license is unknown)."""
    models = tmp_path / "models"
    (models / "yunet").mkdir(parents=True)
    (models / "yunet" / YUNET_2023MAR.filename).symlink_to(yunet)

    with pytest.raises(ModelError) as caught:
        load_model_pack("mobilefacenet", models, tmp_path / "cache")

    assert MOBILEFACENET_128D.filename in caught.value.message
    assert "IMAGE_SEARCH_MODELS_DIR" in caught.value.message
    assert no_network == []


def test_pack_with_a_corrupt_detector_is_refused(yunet: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / YUNET_2023MAR.filename).write_bytes(yunet.read_bytes()[:-1])

    with pytest.raises(ModelError, match="sha256"):
        load_model_pack("mobilefacenet", models, tmp_path / "cache")


# --- the real MobileFaceNet pack ------------------------------------------------------------------

PEOPLE = ("leonard", "sheldon", "penny", "raj")


@pytest.fixture(scope="module")
def mobilefacenet(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ModelPack:
    require_asset(models_dir / "mobilefacenet" / MOBILEFACENET_128D.filename)
    return load_model_pack("mobilefacenet", models_dir, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def embeddings(mobilefacenet: ModelPack, faces_dir: Path) -> dict[tuple[str, int], np.ndarray]:
    """The one face of images 1 and 2 of four people of people-small, embedded."""
    result: dict[tuple[str, int], np.ndarray] = {}
    for person, number in itertools.product(PEOPLE, (1, 2)):
        decoded = decode_image(
            require_asset(faces_dir / "people-small" / person / f"{person}{number}.png")
        )
        detections = mobilefacenet.detect(decoded.pixels)
        assert len(detections) == 1, f"{person}{number}: {len(detections)} faces"
        result[(person, number)] = mobilefacenet.embed(decoded.pixels, detections)
    return result


def test_mobilefacenet_gives_128_d_unit_embeddings(
    mobilefacenet: ModelPack, embeddings: dict[tuple[str, int], np.ndarray]
) -> None:
    assert mobilefacenet.name == "mobilefacenet"
    assert mobilefacenet.embedding_dim == 128
    for key, embedding in embeddings.items():
        assert embedding.shape == (1, 128) and embedding.dtype == np.float32, key
        assert np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-5), key
        assert np.isfinite(embedding).all() and np.abs(embedding).max() < 1.0, key
    empty = mobilefacenet.embed(np.zeros((64, 64, 3), np.uint8), [])
    assert empty.shape == (0, 128) and empty.dtype == np.float32


def test_same_person_is_more_similar_than_different_people(
    embeddings: dict[tuple[str, int], np.ndarray],
) -> None:
    similarity = {
        (a, b): float(embeddings[a][0] @ embeddings[b][0])
        for a, b in itertools.combinations(sorted(embeddings), 2)
    }
    same = {pair: s for pair, s in similarity.items() if pair[0][0] == pair[1][0]}
    different = {pair: s for pair, s in similarity.items() if pair[0][0] != pair[1][0]}
    assert len(same) == len(PEOPLE) and len(different) == 24

    weakest_same = min(same, key=same.__getitem__)
    strongest_different = max(different, key=different.__getitem__)
    assert same[weakest_same] > different[strongest_different], (
        weakest_same,
        strongest_different,
    )


def test_embedding_is_stable_across_calls(
    mobilefacenet: ModelPack, faces_dir: Path, embeddings: dict[tuple[str, int], np.ndarray]
) -> None:
    decoded = decode_image(faces_dir / "people-small" / "raj" / "raj1.png")
    again = mobilefacenet.embed(decoded.pixels, mobilefacenet.detect(decoded.pixels))

    np.testing.assert_allclose(again, embeddings[("raj", 1)], atol=1e-5)
