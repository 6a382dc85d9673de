"""The cause classifier (recovery/causes.py) on the exact messages the code produces: real
broken files through the real decoders where the machine can make them, the literal message
templates of the code otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from image_search.errors import MediaError
from image_search.library.filekinds import classify_file
from image_search.library.media import decode_image
from image_search.recovery.causes import CAUSES, RULES, classify, fix_command

# Literal messages of the code (grep the quoted text to find where each is made).
MESSAGES = [
    # library/filekinds.py, library/service.py (sniffing, hashing)
    ("empty file (0 bytes)", "discovered", "image", "empty"),
    ("cannot read file: Permission denied", "discovered", "image", "permission_denied"),
    ("cannot read file: Permission denied", "hashed", "video", "permission_denied"),
    ("cannot read file: No such file or directory", "hashed", "image", "file_not_found"),
    ("no longer a photo or video", "hashed", "image", "unsupported_format"),
    (
        "content is not a supported image format (no known image or video signature)",
        "discovered",
        "image",
        "unsupported_format",
    ),
    (
        "content is not a supported video format (detected image/jpeg)",
        "discovered",
        "video",
        "unsupported_format",
    ),
    # library/media.py
    ("not a decodable image (unidentified format)", "metadata", "image", "unsupported_format"),
    (
        "cannot decode image: image file is truncated (25 bytes not processed)",
        "metadata",
        "image",
        "truncated",
    ),
    (
        "cannot decode image: broken data stream when reading image file",
        "metadata",
        "image",
        "corrupt",
    ),
    ("corrupt image data: bad marker", "metadata", "image", "corrupt"),
    ("cannot decode image: decoder error -2", "metadata", "image", "corrupt"),
    (
        "image too large to decode safely: Image size (225000000 pixels) exceeds limit of "
        "178956970 pixels, could be decompression bomb DOS attack.",
        "metadata",
        "image",
        "too_large",
    ),
    # jobs/worker.py, jobs/pipeline.py
    ("out of memory while decoding", "faces", "image", "out_of_memory"),
    ("the worker process crashed while processing this file", "faces", "image", "worker_crash"),
    ("ValueError: operands could not be broadcast together", "faces", "image", "other"),
    # library/video.py
    (
        "unsupported codec: FFmpeg has no decoder for this video stream",
        "metadata",
        "video",
        "unsupported_codec",
    ),
    ("unsupported codec: prores", "metadata", "video", "unsupported_codec"),
    ("no video stream", "metadata", "video", "empty"),
    ("no decodable video frames", "faces", "video", "empty"),
    (
        "corrupt or truncated video: Invalid data found when processing input "
        "(avcodec_send_packet())",
        "faces",
        "video",
        "corrupt",
    ),
    ("corrupt or truncated video: End of file", "metadata", "video", "truncated"),
    (
        "truncated video: only 4.1 s of 9.4 s could be decoded (Invalid data found when "
        "processing input)",
        "faces",
        "video",
        "truncated",
    ),
    ("cannot open video: End of file", "metadata", "video", "truncated"),
    ("cannot open video: Invalid data found when processing input", "metadata", "video", "corrupt"),
    ("cannot open video: Unknown error occurred", "metadata", "video", "unsupported_format"),
    # jobs/clip_stage.py: decoding errors keep their cause; anything else is the model
    ("cannot decode image: image file is truncated", "clip", "image", "truncated"),
    (
        "RuntimeError: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION",
        "clip",
        "image",
        "model_unavailable",
    ),
    # ml/weights.py
    (
        "yunet.onnx (YuNet face detector) not found in /models or /cache, and downloads are "
        "off. Copy it from https://example.org into IMAGE_SEARCH_MODELS_DIR.",
        "faces",
        "image",
        "model_unavailable",
    ),
]


@pytest.mark.parametrize(("error", "stage", "kind", "expected"), MESSAGES)
def test_messages_of_the_code_map_to_their_cause(
    error: str, stage: str, kind: str, expected: str
) -> None:
    assert classify(error, stage, kind).id == expected


def test_patterns_are_case_insensitive_substrings() -> None:
    assert classify("UNSUPPORTED CODEC: HEVC").id == "unsupported_codec"
    assert classify("The Worker Process Crashed (signal 11)").id == "worker_crash"
    assert classify("file could not be read: permission denied by policy").id == (
        "permission_denied"
    )


def test_unknown_or_missing_messages_are_other() -> None:
    assert classify(None).id == "other"
    assert classify("").id == "other"
    assert classify("something nobody foresaw", "faces", "image").id == "other"


def test_every_rule_names_a_known_cause_and_every_cause_is_explained() -> None:
    assert {rule.cause for rule in RULES} <= set(CAUSES)
    for cause in CAUSES.values():
        assert cause.title and cause.guidance.endswith("."), cause.id
    for required in (
        "unsupported_codec",
        "truncated",
        "corrupt",
        "empty",
        "permission_denied",
        "file_not_found",
        "unsupported_format",
        "too_large",
        "out_of_memory",
        "worker_crash",
        "model_unavailable",
        "other",
    ):
        assert required in CAUSES
    assert "ffmpeg -i" in CAUSES["unsupported_codec"].guidance
    assert "libx264" in CAUSES["unsupported_codec"].guidance


def test_fix_commands_quote_the_path() -> None:
    path = "/photos/Summer 2020/it's.mov"
    command = fix_command("unsupported_codec", path, "video")
    assert command == (
        "ffmpeg -i '/photos/Summer 2020/it'\"'\"'s.mov' -c:v libx264 -c:a aac "
        "'/photos/Summer 2020/it'\"'\"'s-h264.mp4'"
    )
    assert fix_command("permission_denied", "/p/a b.jpg", "image") == "chmod a+r '/p/a b.jpg'"
    assert fix_command("unsupported_format", "/p/x.avi", "video") is not None
    assert fix_command("unsupported_format", "/p/x.jpg", "image") is None
    assert fix_command("truncated", "/p/x.jpg", "image") is None


def _decode_error(path: Path) -> str:
    with pytest.raises(MediaError) as failure:
        decode_image(path, 640)
    return failure.value.message


def test_real_broken_photos(tmp_path: Path, faces_dir: Path) -> None:
    """Files broken the ways users meet, through the real sniffing and decoding."""
    photo = (faces_dir / "group" / "faceapi_bbt1.jpg").read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photo[: len(photo) // 2])
    assert classify(_decode_error(truncated), "metadata", "image").id == "truncated"

    png = sorted((faces_dir / "people-small").glob("*/*.png"))[0].read_bytes()
    half_png = tmp_path / "half.png"
    half_png.write_bytes(png[: len(png) // 2])
    assert classify(_decode_error(half_png), "metadata", "image").id == "truncated"

    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    kind = classify_file(empty, 0)
    assert kind is not None and kind.problem is not None
    assert classify(kind.problem, "discovered", "image").id == "empty"
    assert classify(_decode_error(empty), "metadata", "image").id == "empty"

    text = tmp_path / "notes.jpg"
    text.write_text("not a photo\n" * 50)
    kind = classify_file(text, text.stat().st_size)
    assert kind is not None and kind.problem is not None
    assert classify(kind.problem, "discovered", "image").id == "unsupported_format"
    assert classify(_decode_error(text), "metadata", "image").id == "unsupported_format"

    # A PNG header promising 225 megapixels (1 bit each: a small file).
    bomb = tmp_path / "bomb.png"
    Image.new("1", (15000, 15000)).save(bomb)
    assert classify(_decode_error(bomb), "metadata", "image").id == "too_large"


def test_real_broken_videos(tmp_path: Path, video_dir: Path) -> None:
    """The video reader's messages for files of ../shared/data/video/odd and a cut copy."""
    video = pytest.importorskip("image_search.library.video")

    def open_error(path: Path) -> str:
        with pytest.raises(MediaError) as failure:
            container = video.open_container(path)
            try:
                video.probe_video(container)
            finally:
                container.close()
        return str(failure.value.message)

    clip = (video_dir / "faces" / "liveportrait_source_s18.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip[:2000])
    assert classify(open_error(cut), "metadata", "video").id == "truncated"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert classify(open_error(empty), "metadata", "video").id == "empty"
    no_stream = open_error(video_dir / "odd" / "svu_empty.mp4")
    assert classify(no_stream, "metadata", "video").id == "empty"
