"""What a file is comes from its content, the extension being only a hint: real photos and videos
of the shared assets under honest, wrong and missing extensions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from image_search.library.filekinds import FileKind, classify_file
from image_search.library.models import AssetKind
from tests.conftest import require_asset


def _classify(path: Path) -> FileKind | None:
    return classify_file(path, path.stat().st_size)


def _copy_as(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize(
    ("relative", "mime"),
    [
        ("group/dlib_2008_002470.jpg", "image/jpeg"),
        ("people-small/amy/amy1.png", "image/png"),
        ("edge-cases/fr_32bit.png", "image/png"),
    ],
)
def test_real_photos_are_images(faces_dir: Path, relative: str, mime: str) -> None:
    assert _classify(require_asset(faces_dir / relative)) == FileKind(AssetKind.IMAGE, mime)


def test_png_named_jpg_is_an_image_with_the_png_mime_type(faces_dir: Path, tmp_path: Path) -> None:
    renamed = _copy_as(
        require_asset(faces_dir / "people-small" / "raj" / "raj1.png"), tmp_path / "x.jpg"
    )

    assert _classify(renamed) == FileKind(AssetKind.IMAGE, "image/png", None)


@pytest.mark.parametrize("name", ["IMG_0001.dat", "no-extension", "photo.JPEG.bak"])
def test_jpeg_under_another_or_no_extension_is_an_image(
    faces_dir: Path, tmp_path: Path, name: str
) -> None:
    renamed = _copy_as(require_asset(faces_dir / "group" / "fr_two_people.jpg"), tmp_path / name)

    assert _classify(renamed) == FileKind(AssetKind.IMAGE, "image/jpeg", None)


@pytest.mark.parametrize(("name", "kind"), [("notes.jpg", "image"), ("clip.mp4", "video")])
def test_text_under_a_media_extension_is_kept_with_a_problem(
    tmp_path: Path, name: str, kind: str
) -> None:
    path = tmp_path / name
    path.write_text("this is a text file with a media extension\n")

    result = _classify(path)

    assert result is not None, "a file promising media must be registered, not ignored"
    assert (result.kind, result.mime_type) == (kind, None)
    expected = f"content is not a supported {kind} format (no known image or video signature)"
    assert result.problem == expected


def test_mp4_named_png_is_a_video(video_dir: Path, tmp_path: Path) -> None:
    renamed = _copy_as(
        require_asset(video_dir / "odd" / "svu_example-short.mp4"), tmp_path / "still.png"
    )

    result = _classify(renamed)

    assert result == FileKind(AssetKind.VIDEO, "video/mp4", None)


def test_pdf_named_jpg_is_registered_with_the_detected_type(tmp_path: Path) -> None:
    path = tmp_path / "scan.jpg"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")

    result = _classify(path)

    assert result is not None
    assert (result.kind, result.mime_type) == (AssetKind.IMAGE, "application/pdf")
    assert result.problem is not None and "application/pdf" in result.problem


@pytest.mark.parametrize(("name", "kind"), [("empty.jpg", "image"), ("empty.mov", "video")])
def test_empty_media_file_is_a_problem(tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    path.touch()

    assert classify_file(path, 0) == FileKind(AssetKind(kind), None, "empty file (0 bytes)")


@pytest.mark.parametrize("name", ["notes.txt", "index.db", "README", "empty.txt"])
def test_files_that_are_not_media_are_ignored(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("" if name.startswith("empty") else "plain text, not a photo\n")

    assert _classify(path) is None


def test_jpeg_named_txt_is_still_found(faces_dir: Path, tmp_path: Path) -> None:
    renamed = _copy_as(require_asset(faces_dir / "group" / "fr_two_people.jpg"), tmp_path / "a.txt")

    assert _classify(renamed) == FileKind(AssetKind.IMAGE, "image/jpeg", None)


@pytest.mark.parametrize("name", ["dlib_MOT20-08-raw_shorter.h264", "dlib_MOT17-13-SDP-raw.h265"])
def test_raw_elementary_streams_are_videos(video_dir: Path, name: str) -> None:
    assert _classify(require_asset(video_dir / "odd" / name)) == FileKind(
        AssetKind.VIDEO, None, None
    )


@pytest.mark.parametrize(
    ("relative", "mime"),
    [
        ("faces/fr_short_hamilton_clip.mp4", "video/mp4"),
        ("odd/svu_example.mp4", "video/mp4"),
        ("odd/svu_rotated90.mp4", "video/mp4"),
        ("odd/svu_buggy_mov_header.mov", "video/quicktime"),
        ("odd/svu_no_nb_frames.mkv", "video/x-matroska"),
        ("odd/svu_example.webm", "video/webm"),
    ],
)
def test_container_videos_are_videos(video_dir: Path, relative: str, mime: str) -> None:
    assert _classify(require_asset(video_dir / relative)) == FileKind(AssetKind.VIDEO, mime, None)


def test_mp4_without_extension_is_a_video(video_dir: Path, tmp_path: Path) -> None:
    renamed = _copy_as(require_asset(video_dir / "odd" / "svu_example.mp4"), tmp_path / "VID_0001")

    assert _classify(renamed) == FileKind(AssetKind.VIDEO, "video/mp4", None)


def test_file_gone_before_it_is_read_is_a_problem(tmp_path: Path) -> None:
    """Deleted between the folder walk and the sniffing (a sync client, a user)."""
    gone = tmp_path / "gone.jpg"

    result = classify_file(gone, 1234)

    assert result is not None
    assert (result.kind, result.mime_type) == (AssetKind.IMAGE, None)
    assert result.problem is not None and result.problem.startswith("cannot read file")


def test_file_gone_without_media_extension_is_ignored(tmp_path: Path) -> None:
    assert classify_file(tmp_path / "gone.txt", 1234) is None


def test_animated_gif_is_a_video_and_a_still_gif_an_image(
    video_dir: Path, faces_dir: Path, tmp_path: Path
) -> None:
    """Animated GIFs have their frames sampled like a video's; a one-frame GIF is a photo."""
    animated = require_asset(video_dir / "faces" / "dlib_elon-musk-smoke.gif")
    assert _classify(animated) == FileKind(AssetKind.VIDEO, "image/gif")
    still = tmp_path / "still.gif"
    with Image.open(faces_dir / "people-small" / "amy" / "amy1.png") as photo:
        photo.convert("P").save(still)
    assert _classify(still) == FileKind(AssetKind.IMAGE, "image/gif")
