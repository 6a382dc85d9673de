"""Why an asset failed: its error text (plus failing stage and kind) mapped to a cause with a
stable id, a short title and what the user can do about it.

The mapping is data: ``RULES`` is an ordered list of ``Rule`` (first match wins). A rule
matches when the lower-cased error text contains any of its ``patterns`` (plain substrings,
no regular expressions) and, when given, the asset's ``stages`` / ``kinds``. A rule without
patterns matches on stage or kind alone. The order goes from the most specific evidence
(worker crash, permissions) to the vaguest (corrupt data), so that a message such as
"corrupt or truncated video: End of file" lands in ``truncated`` (its FFmpeg part says the
file ends early) while "corrupt or truncated video: Invalid data found ..." lands in
``corrupt``. Anything unmatched is ``other``.

The messages this maps come from library/filekinds.py (sniffing), library/service.py
(hashing: "cannot read file: <strerror>"), library/media.py (image decoding),
library/video.py ("unsupported codec: ...", "no video stream", "no decodable video frames",
"corrupt or truncated video: <FFmpeg message>", "truncated video: only ...", "cannot open
video: ...", "empty file (0 bytes)"), jobs/worker.py ("out of memory while decoding",
"<Exception>: <text>"), jobs/pipeline.py ("the worker process crashed while processing this
file") and jobs/clip_stage.py (decoding errors at stage ``clip``). A new wording needs at
most one more substring here (tests/recovery/test_causes.py pins every current message).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath


@dataclass(frozen=True, slots=True)
class Cause:
    """A kind of failure: ``id`` (stable, used in the API and the CLI), ``title`` (a few
    words) and ``guidance`` (what to do, one or two sentences)."""

    id: str
    title: str
    guidance: str


@dataclass(frozen=True, slots=True)
class Rule:
    """``cause`` applies when the error contains any of ``patterns`` (case-insensitive
    substrings; empty = any error) and the asset's stage / kind is in ``stages`` / ``kinds``
    (empty = any)."""

    cause: str
    patterns: tuple[str, ...] = ()
    stages: frozenset[str] = field(default_factory=frozenset)
    kinds: frozenset[str] = field(default_factory=frozenset)

    def matches(self, error: str, stage: str | None, kind: str | None) -> bool:
        """Whether this rule explains ``error`` (already lower-cased) at ``stage`` for
        ``kind``."""
        if self.stages and stage not in self.stages:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        return not self.patterns or any(p in error for p in self.patterns)


OTHER = "other"
CONVERT_COMMAND = "ffmpeg -i {path} -c:v libx264 -c:a aac {converted}"
PERMISSION_COMMAND = "chmod a+r {path}"

CAUSES: dict[str, Cause] = {
    cause.id: cause
    for cause in (
        Cause(
            "unsupported_codec",
            "Unsupported video codec",
            "The video uses a codec this installation cannot decode. Convert it to H.264/AAC "
            "with ffmpeg (ffmpeg -i in -c:v libx264 -c:a aac out.mp4), keep the copy in the "
            "library, then retry.",
        ),
        Cause(
            "truncated",
            "File cut short",
            "The file ends before its data does, usually an interrupted copy or download. Copy "
            "it again from the source (camera, phone or backup), then retry.",
        ),
        Cause(
            "corrupt",
            "Damaged data",
            "The file's data is damaged. Restore it from the camera, phone or a backup, then "
            "retry; if no good copy exists, ignore it.",
        ),
        Cause(
            "empty",
            "Empty file or no picture",
            "The file has no content (0 bytes), no video stream or no frames to read. Copy "
            "it again from the source, or ignore it.",
        ),
        Cause(
            "permission_denied",
            "Permission denied",
            "image-search may not read the file. Give the user running image-search read "
            "access (chmod a+r on the file, and a+x on its folders), then retry.",
        ),
        Cause(
            "file_not_found",
            "File not found",
            "The file disappeared between the scan and its processing (moved, renamed or on "
            "a disconnected drive). Reconnect the drive or index the folder again.",
        ),
        Cause(
            "unsupported_format",
            "Not a photo or video format",
            "The content is not a format image-search reads, or the file's extension does "
            "not match what is inside. Open it in another program; convert it (photos to "
            "JPEG, videos with ffmpeg) or ignore it.",
        ),
        Cause(
            "too_large",
            "Image too large",
            "The image has more pixels than is safe to decode (a decompression bomb guard). "
            "Scale it down in an image editor, then retry.",
        ),
        Cause(
            "out_of_memory",
            "Out of memory",
            "Decoding the file needed more memory than was free. Retry when the machine is "
            "less busy, or with fewer workers (IMAGE_SEARCH_WORKERS=1).",
        ),
        Cause(
            "worker_crash",
            "The worker process crashed",
            "The worker process crashed while processing this file (often a decoder bug on "
            "an unusual file). Retry once; if it crashes again, convert the file or ignore it.",
        ),
        Cause(
            "model_unavailable",
            "Model could not run",
            "A model (face detection or text search) could not be loaded or run on this file. "
            "Check the model files (IMAGE_SEARCH_MODELS_DIR) and the server log, then retry.",
        ),
        Cause(
            OTHER,
            "Other errors",
            "An unexpected error. The message says more; retry once, and report it if it "
            "fails again.",
        ),
    )
}

RULES: tuple[Rule, ...] = (
    Rule("worker_crash", ("worker process crashed", "brokenprocesspool", "terminated abruptly")),
    Rule("out_of_memory", ("out of memory", "memoryerror", "cannot allocate memory")),
    Rule(
        "model_unavailable",
        ("onnxruntime", "model pack", "downloads are off", "cannot download", "modelerror"),
    ),
    Rule("permission_denied", ("permission denied", "operation not permitted", "access denied")),
    Rule("file_not_found", ("no such file or directory", "file not found", "filenotfounderror")),
    Rule(
        "empty",
        ("empty file", "(0 bytes)", "no video stream", "no frames", "no decodable"),
    ),
    Rule("too_large", ("too large to decode", "decompression bomb", "exceeds limit of")),
    Rule(
        "unsupported_codec",
        ("unsupported codec", "decoder not found", "no decoder", "codec not currently supported"),
    ),
    Rule(
        "truncated",
        (
            "is truncated",
            "truncated file",
            "truncated video: only",
            "moov atom not found",
            "end of file",
            "premature end",
            "unexpected end",
        ),
    ),
    Rule(
        "corrupt",
        (
            "corrupt",
            "invalid data",
            "broken data stream",
            "broken png",
            "damaged",
            "bad huffman",
        ),
    ),
    Rule(
        "unsupported_format",
        (
            "unidentified format",
            "not a supported",
            "cannot identify image",
            "no longer a photo or video",
            "unknown format",
        ),
    ),
    # Weaker evidence, after the specific rules: a decoder that gave up on the data, a
    # container FFmpeg cannot open at all.
    Rule("corrupt", ("cannot decode", "decoder error")),
    Rule("unsupported_format", ("cannot open video",)),
    # Whatever fails at the CLIP stage and is not a decoding problem: the text-search model.
    Rule("model_unavailable", stages=frozenset({"clip"})),
)


def classify(error: str | None, stage: str | None = None, kind: str | None = None) -> Cause:
    """The cause of a failure with message ``error`` at pipeline ``stage`` (``error_stage``)
    of an asset of ``kind`` (image / video); ``CAUSES["other"]`` when no rule applies or the
    message is missing. Pure and cached (the same message is classified once)."""
    return CAUSES[_classify(error or "", stage, kind)]


@lru_cache(maxsize=4096)
def _classify(error: str, stage: str | None, kind: str | None) -> str:
    text = error.lower()
    for rule in RULES:
        if rule.matches(text, stage, kind):
            return rule.cause
    return OTHER


def fix_command(cause_id: str, path: str, kind: str | None) -> str | None:
    """A shell command that fixes one asset of this cause, or None: for ``unsupported_codec``
    (and a video of ``unsupported_format``) an ffmpeg conversion to ``<name>-h264.mp4`` next
    to the file; for ``permission_denied`` a chmod. Paths are shell-quoted."""
    if cause_id == "unsupported_codec" or (cause_id == "unsupported_format" and kind == "video"):
        source = PurePosixPath(path)
        converted = source.with_name(f"{source.stem}-h264.mp4")
        return CONVERT_COMMAND.format(path=shlex.quote(path), converted=shlex.quote(str(converted)))
    if cause_id == "permission_denied":
        return PERMISSION_COMMAND.format(path=shlex.quote(path))
    return None
