"""Decoding real photos: EXIF orientation (all eight), reduced decoding, colour modes, broken files,
thumbnails, and face boxes that do not depend on how the camera stored the pixels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from image_search.db.engine import session_scope
from image_search.errors import MediaError
from image_search.faces.models import Face
from image_search.jobs.service import IndexService
from image_search.library.hashing import content_hash
from image_search.library.media import THUMBNAIL_SIZES, decode_image, write_thumbnails
from image_search.library.models import Asset, AssetStatus
from tests.conftest import make_settings, require_asset

ORIENTATION_TAG = 0x0112


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _as_stored(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores for an ``upright`` scene under EXIF ``orientation``, from the
    tag's definition (EXIF 2.32, 0x0112: where the stored 0th row and 0th column lie in the
    displayed image), written with NumPy so the test does not borrow Pillow's own mapping."""
    stored = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # row 0 = top, column 0 = right
        3: lambda a: a[::-1, ::-1],  # row 0 = bottom, column 0 = right
        4: lambda a: a[::-1, :],  # row 0 = bottom, column 0 = left
        5: lambda a: a.transpose(1, 0, 2),  # row 0 = left, column 0 = top
        6: lambda a: np.rot90(a, 1),  # row 0 = right, column 0 = top
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],  # row 0 = right, column 0 = bottom
        8: lambda a: np.rot90(a, -1),  # row 0 = left, column 0 = bottom
    }[orientation](upright)
    return np.ascontiguousarray(stored)


def _save_oriented(upright: np.ndarray, orientation: int, target: Path) -> Path:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    Image.fromarray(_as_stored(upright, orientation)).save(target, quality=95, exif=exif)
    return target


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope="module")
def landscape(faces_dir: Path) -> Path:
    """A real 500 x 332 JPEG (landscape, so a missed rotation changes the shape)."""
    return require_asset(faces_dir / "group" / "dlib_2008_002470.jpg")


@pytest.fixture(scope="module")
def portrait_1080p(faces_dir: Path) -> Path:
    """A real 1920 x 1080 JPEG with one face."""
    return require_asset(faces_dir / "edge-cases" / "fr_obama-1080p.jpg")


# --- EXIF orientation -----------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_decodes_to_the_upright_picture(
    landscape: Path, tmp_path: Path, orientation: int
) -> None:
    upright = _rgb(landscape)
    height, width = upright.shape[:2]
    stored = _save_oriented(upright, orientation, tmp_path / f"o{orientation}.jpg")
    with Image.open(stored) as raw:  # the file really holds other pixels than it displays
        assert raw.size == ((height, width) if orientation >= 5 else (width, height))

    decoded = decode_image(stored)

    assert decoded.orientation == orientation
    assert decoded.pixels.shape == (height, width, 3) and decoded.pixels.dtype == np.uint8
    assert (decoded.full_width, decoded.full_height, decoded.scale) == (width, height, 1.0)
    # Same picture up to JPEG re-encoding; a wrong flip or rotation differs by tens of levels.
    assert _mean_difference(decoded.pixels, upright) < 4.0
    if orientation != 1:
        assert _mean_difference(decoded.pixels, upright[::-1, ::-1]) > 20.0


@pytest.mark.parametrize(
    "fmt",
    [
        "JPEG",
        "PNG",
        "WEBP",
        "TIFF",
    ],
)
@pytest.mark.parametrize("max_side", [None, 200])
def test_rotated_photo_in_every_format_reports_its_upright_full_size(
    landscape: Path, tmp_path: Path, fmt: str, max_side: int | None
) -> None:
    upright = _rgb(landscape)
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    stored = tmp_path / f"rotated.{fmt.lower()}"
    Image.fromarray(_as_stored(upright, 6)).save(stored, fmt, exif=exif)

    decoded = decode_image(stored, max_side=max_side)

    height, width = decoded.pixels.shape[:2]
    assert (decoded.full_width, decoded.full_height) == (500, 332)
    assert decoded.scale >= 1.0
    assert abs(width * decoded.scale - 500) <= decoded.scale
    assert abs(height * decoded.scale - 332) <= decoded.scale
    expected = np.asarray(Image.fromarray(upright).resize((width, height), Image.Resampling.BOX))
    assert _mean_difference(decoded.pixels, expected) < 6.0


@pytest.mark.parametrize("orientation", [6, 8])
def test_reduced_decode_keeps_orientation_and_full_size(
    portrait_1080p: Path, tmp_path: Path, orientation: int
) -> None:
    upright = _rgb(portrait_1080p)  # 1080 rows x 1920 columns
    stored = _save_oriented(upright, orientation, tmp_path / "rotated.jpg")

    decoded = decode_image(stored, max_side=480)

    assert (decoded.full_width, decoded.full_height) == (1920, 1080)
    assert decoded.orientation == orientation
    height, width = decoded.pixels.shape[:2]
    assert max(height, width) == 480 and width > height
    assert decoded.scale == pytest.approx(4.0, abs=0.02)
    assert abs(width * decoded.scale - 1920) <= decoded.scale
    assert abs(height * decoded.scale - 1080) <= decoded.scale
    expected = np.asarray(Image.fromarray(upright).resize((width, height), Image.Resampling.BOX))
    assert _mean_difference(decoded.pixels, expected) < 6.0


def test_reduced_decode_of_a_png(faces_dir: Path) -> None:
    png = require_asset(faces_dir / "edge-cases" / "fr_32bit.png")  # 626 x 1200, no DCT scaling

    decoded = decode_image(png, max_side=300)

    assert decoded.pixels.shape == (300, 156, 3)
    assert (decoded.full_width, decoded.full_height) == (626, 1200)
    assert decoded.scale == pytest.approx(626 / 156)


def test_max_side_above_the_image_size_decodes_at_full_size(landscape: Path) -> None:
    decoded = decode_image(landscape, max_side=4096)

    assert decoded.pixels.shape == (332, 500, 3)
    assert decoded.scale == 1.0
    np.testing.assert_array_equal(decoded.pixels, _rgb(landscape))


# --- colour modes ---------------------------------------------------------------------------------


def test_rgba_png_decodes_to_its_rgb_pixels(faces_dir: Path) -> None:
    png = require_asset(faces_dir / "edge-cases" / "fr_32bit.png")
    with Image.open(png) as image:
        assert image.mode == "RGBA"
        rgba = np.asarray(image)

    decoded = decode_image(png)

    assert decoded.image.mode == "RGB"
    assert decoded.pixels.shape == (1200, 626, 3) and decoded.pixels.dtype == np.uint8
    opaque = rgba[..., 3] == 255
    np.testing.assert_array_equal(decoded.pixels[opaque], rgba[..., :3][opaque])


def test_transparent_pixels_become_white(faces_dir: Path, tmp_path: Path) -> None:
    with Image.open(require_asset(faces_dir / "edge-cases" / "fr_32bit.png")) as image:
        rgba = np.array(image)
    rgba[:, :300, 3] = 0  # left part fully transparent
    rgba[:, 300:400, 3] = 128  # a half-transparent band
    target = tmp_path / "cut-out.png"
    Image.fromarray(rgba, "RGBA").save(target)

    pixels = decode_image(target).pixels

    assert (pixels[:, :300] == 255).all()
    np.testing.assert_array_equal(pixels[:, 400:], rgba[:, 400:, :3])
    band = rgba[:, 300:400, :3].astype(np.float64)
    np.testing.assert_allclose(pixels[:, 300:400], band * 128 / 255 + 255 * 127 / 255, atol=1.5)


def test_grayscale_png_decodes_to_three_equal_channels(faces_dir: Path) -> None:
    png = require_asset(faces_dir / "people-small" / "amy" / "amy1.png")
    with Image.open(png) as image:
        assert image.mode == "L"
        gray = np.asarray(image)

    pixels = decode_image(png).pixels

    assert pixels.shape == (*gray.shape, 3)
    for channel in range(3):
        np.testing.assert_array_equal(pixels[..., channel], gray)


def test_16_bit_grayscale_png_is_scaled_to_8_bits(faces_dir: Path, tmp_path: Path) -> None:
    with Image.open(require_asset(faces_dir / "people-small" / "amy" / "amy1.png")) as image:
        gray = np.asarray(image)
    deep = tmp_path / "deep.png"
    Image.fromarray(gray.astype(np.uint16) * 257).save(deep)  # 16-bit grayscale PNG
    with Image.open(deep) as image:
        assert image.mode.startswith("I")

    pixels = decode_image(deep).pixels

    expected = gray.astype(np.float64) * 255.0 / gray.max()
    assert np.abs(pixels[..., 0] - expected).max() <= 1.0
    assert (pixels[..., 0] == pixels[..., 2]).all()


# --- broken files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("max_side", [None, 200])
def test_truncated_jpeg_raises_media_error(
    landscape: Path, tmp_path: Path, max_side: int | None
) -> None:
    data = landscape.read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])

    with pytest.raises(MediaError) as caught:
        decode_image(truncated, max_side=max_side)

    assert "truncated" in caught.value.message
    assert caught.value.status_code == 422


def test_truncated_png_raises_media_error(faces_dir: Path, tmp_path: Path) -> None:
    data = require_asset(faces_dir / "edge-cases" / "fr_32bit.png").read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])

    with pytest.raises(MediaError, match=r"^(cannot decode image|corrupt image data): "):
        decode_image(truncated)


@pytest.mark.parametrize(
    "data",
    [b"this is not a picture, only words. " * 40, bytes(range(256)) * 16],
    ids=["text", "binary"],
)
def test_garbage_raises_media_error(tmp_path: Path, data: bytes) -> None:
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(data)

    with pytest.raises(MediaError, match=r"not a decodable image \(unidentified format\)"):
        decode_image(garbage)


def test_jpeg_header_followed_by_garbage_raises_media_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 16)

    with pytest.raises(MediaError):
        decode_image(broken)


def test_empty_and_vanished_files_raise_media_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()

    with pytest.raises(MediaError, match=r"empty file \(0 bytes\)"):
        decode_image(empty)
    with pytest.raises(MediaError, match="No such file"):
        decode_image(tmp_path / "vanished.jpg")


# --- thumbnails -----------------------------------------------------------------------------------


def test_thumbnails_of_both_sizes_are_written_under_the_content_hash(
    portrait_1080p: Path, tmp_path: Path
) -> None:
    stored = _save_oriented(_rgb(portrait_1080p), 6, tmp_path / "rotated.jpg")
    digest = content_hash(stored)
    thumbnails = tmp_path / "thumbnails"
    decoded = decode_image(stored, max_side=2048)

    write_thumbnails(decoded, thumbnails, digest)

    written = sorted(p.relative_to(thumbnails) for p in thumbnails.rglob("*") if p.is_file())
    assert written == sorted(
        Path(digest[:2], digest[2:4], f"{digest}-{name}.{fmt.lower()}")
        for name, (_, fmt) in THUMBNAIL_SIZES.items()
    )
    for name, (side, fmt) in THUMBNAIL_SIZES.items():
        path = thumbnails / digest[:2] / digest[2:4] / f"{digest}-{name}.{fmt.lower()}"
        with Image.open(path) as thumbnail:
            assert thumbnail.format == fmt
            width, height = thumbnail.size
            assert width == side  # landscape after orientation: the width is the long side
            assert abs(height - side * 1080 / 1920) <= 1
            expected = decoded.image.resize(thumbnail.size, Image.Resampling.BOX)
            assert _mean_difference(np.asarray(thumbnail.convert("RGB")), np.asarray(expected)) < 6


def test_thumbnails_are_not_rewritten(landscape: Path, tmp_path: Path) -> None:
    digest = content_hash(landscape)
    thumbnails = tmp_path / "thumbnails"
    write_thumbnails(decode_image(landscape), thumbnails, digest)
    files = sorted(p for p in thumbnails.rglob("*") if p.is_file())
    stamps = [p.stat().st_mtime_ns for p in files]
    os.utime(files[0], ns=(1, 1))

    write_thumbnails(decode_image(landscape), thumbnails, digest)

    assert sorted(p for p in thumbnails.rglob("*") if p.is_file()) == files  # no .tmp left over
    assert [p.stat().st_mtime_ns for p in files] == [1, *stamps[1:]]


# --- end to end: orientation and face boxes -------------------------------------------------------


def test_face_boxes_do_not_depend_on_how_the_pixels_are_stored(
    portrait_1080p: Path, tmp_path: Path, models_dir: Path
) -> None:
    upright = _rgb(portrait_1080p)
    root = tmp_path / "photos"
    root.mkdir()
    Image.fromarray(upright).save(root / "upright.jpg", quality=95)
    _save_oriented(upright, 6, root / "rotated-6.jpg")
    _save_oriented(upright, 8, root / "rotated-8.jpg")
    settings = make_settings(
        tmp_path / "data", models_dir, model_pack="yunet-dlib", workers=1, database_url=None
    )

    service = IndexService(settings)
    summary = service.index([root])

    assert (summary.pipeline.processed, summary.pipeline.failed) == (3, 0)
    with session_scope(service.factory) as session:
        rows = session.execute(
            select(Asset.path, Asset.orientation, Asset.width, Asset.height, Asset.status, Face)
            .join(Face, Face.asset_id == Asset.id)
            .order_by(Asset.path)
        ).all()
    by_name = {Path(row.path).name: row for row in rows}
    assert sorted(by_name) == ["rotated-6.jpg", "rotated-8.jpg", "upright.jpg"]  # one face each
    assert len(rows) == 3
    reference = by_name["upright.jpg"].Face
    for name, orientation in (("upright.jpg", 1), ("rotated-6.jpg", 6), ("rotated-8.jpg", 8)):
        row = by_name[name]
        assert (row.orientation, row.width, row.height) == (orientation, 1920, 1080)
        assert row.status == AssetStatus.DONE
        face = row.Face
        box = np.array([face.box_x, face.box_y, face.box_width, face.box_height])
        expected = [reference.box_x, reference.box_y, reference.box_width, reference.box_height]
        np.testing.assert_allclose(box, expected, atol=3.0)
        np.testing.assert_allclose(face.landmarks, reference.landmarks, atol=3.0)
        # In oriented coordinates the face lies inside the 1920 x 1080 picture.
        assert face.box_x >= 0 and face.box_x + face.box_width <= 1920
        assert face.box_y >= 0 and face.box_y + face.box_height <= 1080


def test_duplicate_files_are_indexed_side_by_side(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    """Copies of one photo share their content-addressed thumbnails and crops: two workers
    writing them at the same moment must both succeed (a shared temporary name made one
    rename fail)."""
    source = require_asset(faces_dir / "group" / "faceapi_bbt1.jpg")
    root = tmp_path / "copies"
    root.mkdir()
    for index in range(8):
        (root / f"copy{index}.jpg").symlink_to(source)
    service = IndexService(make_settings(tmp_path / "data", models_dir, workers=2))
    summary = service.index([root])
    assert (summary.pipeline.processed, summary.pipeline.failed) == (8, 0)
    leftovers = [p for p in (tmp_path / "data").rglob("*.tmp")]
    assert leftovers == []
