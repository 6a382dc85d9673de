"""Decide whether a file is an image or a video from its content, with the extension as a hint.

Content is sniffed from magic numbers with the ``filetype`` library. Raw H.264/H.265 elementary
streams have no container signature, so they are recognised by extension alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image

from image_search.library.models import AssetKind

IMAGE_MIME_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/avif",
        "image/tiff",
        "image/gif",
        "image/bmp",
        "image/x-ms-bmp",
    }
)
VIDEO_MIME_TYPES = frozenset(
    {
        "video/mp4",
        "video/quicktime",
        "video/x-matroska",
        "video/webm",
        "video/x-msvideo",
        "video/mpeg",
        "video/x-flv",
        "video/x-m4v",
        "video/3gpp",
        "video/x-ms-wmv",
    }
)
IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".webp",
        ".heic",
        ".heif",
        ".avif",
        ".tif",
        ".tiff",
        ".gif",
        ".bmp",
    }
)
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".mpg",
        ".mpeg",
        ".3gp",
        ".mts",
        ".m2ts",
        ".wmv",
        ".flv",
    }
)
# Elementary streams without a container: no magic number to sniff.
RAW_VIDEO_EXTENSIONS = frozenset({".h264", ".264", ".h265", ".265", ".hevc"})


@dataclass(frozen=True, slots=True)
class FileKind:
    """What a file is: ``kind`` image/video, the sniffed MIME type, and a problem if any.

    ``problem`` is set when the extension promises media but the content is not media
    (empty, truncated header, mislabelled); such files are still registered so they show up
    as failed with this reason instead of being silently ignored.
    """

    kind: AssetKind
    mime_type: str | None
    problem: str | None = None


def classify_file(path: Path, size: int) -> FileKind | None:
    """Classify ``path`` (of ``size`` bytes); ``None`` means "not a photo or video, ignore it"."""
    suffix = path.suffix.lower()
    by_extension = (
        AssetKind.IMAGE
        if suffix in IMAGE_EXTENSIONS
        else AssetKind.VIDEO
        if suffix in VIDEO_EXTENSIONS or suffix in RAW_VIDEO_EXTENSIONS
        else None
    )
    if size == 0:
        return FileKind(by_extension, None, "empty file (0 bytes)") if by_extension else None
    try:
        guess = filetype.guess(str(path))
    except OSError as exc:
        if by_extension is None:
            return None
        return FileKind(by_extension, None, f"cannot read file: {exc.strerror or exc}")
    mime = guess.mime if guess else None
    if mime == "image/gif" and _is_animated(path):
        return FileKind(AssetKind.VIDEO, mime)  # its frames are sampled like a video's
    if mime in IMAGE_MIME_TYPES:
        return FileKind(AssetKind.IMAGE, mime)
    if mime in VIDEO_MIME_TYPES:
        return FileKind(AssetKind.VIDEO, mime)
    if suffix in RAW_VIDEO_EXTENSIONS:
        return FileKind(AssetKind.VIDEO, None)
    if by_extension is None:
        return None
    found = f"detected {mime}" if mime else "no known image or video signature"
    return FileKind(
        by_extension, mime, f"content is not a supported {by_extension} format ({found})"
    )


def _is_animated(path: Path) -> bool:
    """An image with more than one frame (animated GIF): Pillow reads up to the second frame."""
    try:
        with Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except Exception:  # undecodable: the image decoder reports why later
        return False
