"""Loaders of the packs whose weights cannot be fetched here fail with the file and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from image_search.errors import ModelError
from image_search.ml.packs import load_model_pack


@pytest.mark.parametrize(
    ("pack", "missing_file"),
    [("yunet-sface", "face_recognition_sface_2021dec.onnx"), ("buffalo_l", "buffalo_l.zip")],
)
def test_pack_without_weights_offline_names_the_file_and_the_fix(
    pack: str, missing_file: str, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_OFFLINE", "1")
    with pytest.raises(ModelError) as error:
        load_model_pack(pack, models_dir, tmp_path / "cache")
    assert missing_file in error.value.message
    assert "IMAGE_SEARCH_MODELS_DIR" in error.value.message


def test_buffalo_l_member_with_wrong_bytes_is_refused(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_OFFLINE", "1")
    provided = tmp_path / "provided" / "buffalo_l"
    provided.mkdir(parents=True)
    (provided / "det_10g.onnx").write_bytes(b"not the detector")
    with pytest.raises(ModelError) as error:
        load_model_pack("buffalo_l", provided.parent, tmp_path / "cache")
    assert "det_10g.onnx" in error.value.message and "sha256" in error.value.message
