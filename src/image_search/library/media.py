"""Decode photos: EXIF orientation applied, reduced-size JPEG decoding, thumbnails and face crops.

Every pixel coordinate the project stores refers to the image *after* EXIF orientation, at its
full resolution; ``DecodedImage.scale`` converts from the decoded (possibly reduced) pixels.
"""

from __future__ import annotations

import contextlib
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from image_search.errors import MediaError

try:  # HEIC/HEIF support registers itself with Pillow.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pass

# Decompression bombs are refused above this many pixels (about 16k x 11k).
Image.MAX_IMAGE_PIXELS = 180_000_000

# EXIF orientations 5..8 swap width and height (EXIF 2.32, tag 0x0112).
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}

THUMBNAIL_SIZES: dict[str, tuple[int, str]] = {
    # name: (longest side in px, format)
    "small": (250, "WEBP"),
    "preview": (1440, "JPEG"),
}


@dataclass(slots=True)
class DecodedImage:
    """An image decoded for processing.

    ``pixels``: RGB, uint8, shape (height, width, 3), EXIF orientation applied.
    ``full_width``/``full_height``: the oriented size at full resolution, in pixels.
    ``scale``: full-resolution pixels per decoded pixel (>= 1.0).
    """

    pixels: np.ndarray
    full_width: int
    full_height: int
    orientation: int
    scale: float
    image: Image.Image


def decode_image(path: Path, max_side: int | None = None) -> DecodedImage:
    """Decode ``path`` to RGB with EXIF orientation applied, at most ``max_side`` px per side.

    JPEGs are decoded with libjpeg's DCT scaling (``Image.draft``) when the full resolution is
    not needed, which is several times faster than decoding and then resizing.

    Raises ``MediaError`` with a precise reason for empty, truncated, unidentifiable or
    otherwise undecodable files.
    """
    try:
        if path.stat().st_size == 0:
            raise MediaError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            try:
                orientation = _orientation(image)
                raw_width, raw_height = image.size
                if max_side and image.format == "JPEG":
                    image.draft("RGB", (max_side, max_side))
                image.load()
                # Some Pillow plugins (TIFF) orient on load and drop the tag: only an
                # orientation still present after loading is applied below and swaps the size.
                pending_orientation = _orientation(image)
            except BaseException:
                image.close()
                raise
    except MediaError:
        raise
    except UnidentifiedImageError as exc:
        raise MediaError("not a decodable image (unidentified format)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"image too large to decode safely: {exc}") from exc
    except OSError as exc:
        raise MediaError(f"cannot decode image: {exc}") from exc
    except (ValueError, SyntaxError) as exc:
        raise MediaError(f"corrupt image data: {exc}") from exc

    oriented: Image.Image = image
    with contextlib.suppress(Exception):  # a broken EXIF block must not cost the pixels
        oriented = ImageOps.exif_transpose(image) or image
    rgb = _to_rgb(oriented)
    if max_side and max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    full_width, full_height = (
        (raw_height, raw_width)
        if pending_orientation in _TRANSPOSED_ORIENTATIONS
        else (raw_width, raw_height)
    )
    return DecodedImage(
        pixels=np.asarray(rgb, dtype=np.uint8),
        full_width=full_width,
        full_height=full_height,
        orientation=orientation,
        scale=full_width / rgb.width,
        image=rgb,
    )


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(0x0112, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any mode (RGBA, LA, P with transparency, I;16, CMYK) onto white RGB."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        image = Image.fromarray((array * (255.0 / peak)).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def sharded_path(root: Path, content_hash: str, suffix: str) -> Path:
    """``root/ab/cd/<hash><suffix>``: files stored by content hash, 65,536 folders at most."""
    return root / content_hash[:2] / content_hash[2:4] / f"{content_hash}{suffix}"


def write_thumbnails(decoded: DecodedImage, thumbnails_dir: Path, content_hash: str) -> None:
    """Write every size of ``THUMBNAIL_SIZES`` for an image, named by its content hash.

    Writing goes through a temporary file and a rename, so a crash never leaves half a file.
    """
    for name, (side, fmt) in THUMBNAIL_SIZES.items():
        target = sharded_path(thumbnails_dir, content_hash, f"-{name}.{fmt.lower()}")
        if target.exists():
            continue
        copy = decoded.image.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        _save_atomically(copy, target, fmt, quality=80)


def write_face_crop(
    decoded: DecodedImage,
    box_xywh: tuple[float, float, float, float],
    target: Path,
    margin: float = 0.3,
    side: int = 200,
) -> None:
    """Save a square-ish crop around a face box (full-resolution pixels) as JPEG
    (``face_crop``); an existing ``target`` is kept."""
    if target.exists():
        return
    crop = face_crop(decoded.image, decoded.scale, box_xywh, margin, side)
    if crop is not None:
        save_jpeg(crop, target)


def face_crop(
    image: Image.Image,
    scale: float,
    box_xywh: tuple[float, float, float, float],
    margin: float = 0.3,
    side: int = 200,
) -> Image.Image | None:
    """The crop around a face box given in full-resolution pixels of an ``image`` decoded at
    ``scale`` (full pixels per image pixel): ``margin`` widens the box by that fraction of its
    size on every side; scaled so its longest side is at most ``side`` px. None when the box
    lies outside the image."""
    x, y, w, h = (v / scale for v in box_xywh)
    pad_x, pad_y = w * margin, h * margin
    left = max(0, int(x - pad_x))
    top = max(0, int(y - pad_y))
    right = min(image.width, int(x + w + pad_x))
    bottom = min(image.height, int(y + h + pad_y))
    if right <= left or bottom <= top:
        return None
    crop = image.crop((left, top, right, bottom))
    crop.thumbnail((side, side), Image.Resampling.LANCZOS)
    return crop


def save_jpeg(image: Image.Image, target: Path, quality: int = 85) -> None:
    """Write ``image`` as JPEG through a temporary file and a rename (crash-safe)."""
    _save_atomically(image, target, "JPEG", quality=quality)


def _save_atomically(image: Image.Image, target: Path, fmt: str, quality: int) -> None:
    """Write through a temporary file of this writer alone, then rename: two workers writing
    the same content-addressed file (duplicate files in a library) never collide, and the
    last rename wins with identical bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        image.save(temporary, fmt, quality=quality)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
