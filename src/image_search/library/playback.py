"""Can a browser play a video file as it is? The MIME type with its ``codecs`` parameter.

The server only guesses (``Playback.playable``); the browser decides: the UI asks
``HTMLMediaElement.canPlayType(mime_type)`` and uses the original when the answer is
"probably" or "maybe", otherwise a transcoded snippet (library/snippets.py), and also falls
back to the transcode when the original fails to load. Builds differ: Chromium without
proprietary codecs has no H.264, Safari plays HEVC, Firefox on Linux depends on system codecs,
so one server-side rule cannot be right for every browser.

The server's rule: MP4/MOV (ISO BMFF) or WebM carrying H.264, VP8, VP9 or AV1 video with no
audio or AAC, MP3, Opus or Vorbis audio, are playable (WebM only with VP8/VP9/AV1 and
Opus/Vorbis). HEVC, MPEG-4 part 2, raw elementary streams (.h264, .h265), animated GIF, AVI,
MPEG-TS, Matroska with H.264 and anything else need the transcode.

Sources for the type strings:
- The ``codecs`` parameter: RFC 6381 ("The 'Codecs' and 'Profiles' Parameters for 'Bucket'
  Media Types"), section 3; MDN "The 'codecs' parameter in common media types"
  (https://developer.mozilla.org/en-US/docs/Web/Media/Formats/codecs_parameter);
  WHATWG HTML, "canPlayType()" (https://html.spec.whatwg.org/multipage/media.html).
- AVC: ``avc1.PPCCLL`` = profile_idc, constraint flags, level_idc in hex (ISO/IEC 14496-15,
  the first bytes of the avcC box / of the sequence parameter set).
- HEVC: ``hvc1|hev1.<space><profile>.<compat, bit-reversed hex>.<L|H><level>.<constraints>``
  (ISO/IEC 14496-15 annex E, from the hvcC box).
- VP9: ``vp09.PP.LL.DD`` (VP Codec ISO Media File Format Binding, "Codecs Parameter String");
  WebM uses the plain ``vp8``/``vp9`` names (webmproject.org, MDN).
- AV1: ``av01.P.LLT.DD`` (AV1 Codec ISO Media File Format Binding, section 5, from av1C).
- Audio: ``mp4a.40.2`` AAC-LC, ``mp4a.40.5`` HE-AAC, ``mp4a.40.29`` HE-AACv2, ``mp4a.6B``
  MP3 in MP4 (MP4 registration authority object types), ``opus``, ``vorbis``, ``flac``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import av
import av.error

from image_search.errors import MediaError
from image_search.library.video import count_duration, open_container

ISO_BMFF_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2"})
WEBM_FORMATS = frozenset({"matroska", "webm"})
MP4_VIDEO_CODECS = frozenset({"h264", "vp9", "av1"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "opus"})
WEBM_VIDEO_CODECS = frozenset({"vp8", "vp9", "av1"})
WEBM_AUDIO_CODECS = frozenset({"opus", "vorbis"})

# Generic codec strings when the stream does not tell its profile and level: H.264 Constrained
# Baseline level 3.0 (every H.264 decoder has it), VP9 profile 0 level 1 8-bit, AV1 Main 8-bit
# level 4.0.
GENERIC_AVC = "avc1.42E01E"
GENERIC_AV1 = "av01.0.08M.08"

# H.264 profile names as FFmpeg reports them -> (profile_idc, constraint flags byte).
_AVC_PROFILES = {
    "Baseline": (0x42, 0x00),
    "Constrained Baseline": (0x42, 0xC0),
    "Main": (0x4D, 0x00),
    "Extended": (0x58, 0x00),
    "High": (0x64, 0x00),
    "High 10": (0x6E, 0x00),
    "High 4:2:2": (0x7A, 0x00),
    "High 4:4:4 Predictive": (0xF4, 0x00),
}
_AAC_OBJECT_TYPES = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29, "Main": 1, "LTP": 4}
# (max luma picture size in samples, level * 10): VP9 levels (VP9 bitstream spec, annex A).
_VP9_LEVELS = (
    (36_864, 10),
    (73_728, 11),
    (122_880, 20),
    (245_760, 21),
    (552_960, 30),
    (983_040, 31),
    (2_228_224, 41),
    (8_912_896, 51),
    (35_651_584, 61),
)
# Container (FFmpeg format name) -> MIME type for the HTTP header and canPlayType.
_CONTAINER_TYPES = {
    "gif": "image/gif",
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "flv": "video/x-flv",
    "asf": "video/x-ms-asf",
    "ogg": "video/ogg",
}


@dataclass(frozen=True, slots=True)
class StreamFacts:
    """What decides playback, read from the container (``probe_streams``).

    ``container``: FFmpeg format name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "gif",
    "h264"); ``extension``: the file's lower-case suffix with the dot; codec names are FFmpeg's
    (h264, hevc, vp9, aac, ...); ``video_tag``: the four-character sample entry (avc1, hvc1,
    hev1) when the container has one; ``extradata``: the decoder configuration record
    (avcC, hvcC, av1C) or an Annex B parameter set; ``duration``: seconds, None if unknown.
    """

    container: str
    extension: str
    video_codec: str | None
    video_tag: str | None = None
    video_profile: str | None = None
    video_level: int | None = None
    extradata: bytes = b""
    width: int = 0
    height: int = 0
    bit_depth: int = 8
    audio_codec: str | None = None
    audio_profile: str | None = None
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class Playback:
    """How a browser can get a video.

    ``content_type``: bare MIME type for the original's Content-Type header;
    ``mime_type``: the same with a ``codecs`` parameter for ``canPlayType``, or None when no
    browser plays the container at all (raw streams); ``playable``: the server's guess for a
    current browser; ``reason``: why not, for the UI and logs.
    """

    content_type: str
    mime_type: str | None
    playable: bool
    reason: str | None = None


def _formats(container: str) -> set[str]:
    return set(container.split(","))


def decide_playback(facts: StreamFacts) -> Playback:
    """The playback decision for a stream (pure: no file access)."""
    formats = _formats(facts.container)
    video, audio = facts.video_codec, facts.audio_codec
    if formats & ISO_BMFF_FORMATS:
        # MOV and 3GP are ISO BMFF too: browsers play them as video/mp4 (Chromium reports
        # nothing for video/quicktime) when the codecs are right.
        codecs = _join(_video_codec_string(facts, webm=False), _audio_codec_string(facts))
        mime = f'video/mp4; codecs="{codecs}"' if codecs else "video/mp4"
        if video not in MP4_VIDEO_CODECS:
            return Playback("video/mp4", mime, False, _video_reason(video))
        if audio is not None and audio not in MP4_AUDIO_CODECS:
            return Playback("video/mp4", mime, False, f"{audio} audio does not play in browsers")
        return Playback("video/mp4", mime, True)
    if formats & WEBM_FORMATS:
        webm = video in WEBM_VIDEO_CODECS and (audio is None or audio in WEBM_AUDIO_CODECS)
        bare = "video/webm" if webm else "video/x-matroska"
        codecs = _join(_video_codec_string(facts, webm=webm), _audio_codec_string(facts))
        mime = f'{bare}; codecs="{codecs}"' if codecs else bare
        if not webm:
            return Playback(
                bare, mime, False, "Matroska with these codecs is not WebM: browsers need WebM"
            )
        return Playback(bare, mime, True)
    other = next((t for name, t in _CONTAINER_TYPES.items() if name in formats), None)
    if other is None:  # raw elementary streams and the rest: no <video> plays them
        return Playback(
            "application/octet-stream",
            None,
            False,
            f"{facts.container} streams do not play in browsers",
        )
    if other == "image/gif":
        return Playback(other, other, False, "animated GIF is an image, not a video")
    return Playback(other, other, False, f"{other} does not play in browsers")


def _video_reason(video: str | None) -> str:
    names = {"hevc": "HEVC (H.265)", "mpeg4": "MPEG-4 part 2", "h263": "H.263"}
    if video is None:
        return "no video stream"
    return f"{names.get(video, video)} video plays in few browsers"


def _join(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


def _video_codec_string(facts: StreamFacts, webm: bool) -> str | None:
    codec = facts.video_codec
    if codec == "h264":
        return avc_codec_string(facts.extradata, facts.video_profile, facts.video_level)
    if codec == "hevc":
        return hevc_codec_string(facts.extradata, facts.video_tag)
    if codec == "vp8":
        return "vp8"
    if codec == "vp9":
        if webm:
            return "vp9"
        profile = _profile_number(facts.video_profile)
        level = next((lv for size, lv in _VP9_LEVELS if facts.width * facts.height <= size), 62)
        return f"vp09.{profile:02d}.{level:02d}.{facts.bit_depth:02d}"
    if codec == "av1":
        return av1_codec_string(facts.extradata)
    if codec == "mpeg4":
        return "mp4v.20.9"  # MPEG-4 Visual, Simple Profile level 0 (RFC 6381 section 3.3)
    return None


def _audio_codec_string(facts: StreamFacts) -> str | None:
    codec = facts.audio_codec
    if codec == "aac":
        return f"mp4a.40.{_AAC_OBJECT_TYPES.get(facts.audio_profile or 'LC', 2)}"
    if codec == "mp3":
        return "mp4a.6B" if _formats(facts.container) & ISO_BMFF_FORMATS else "mp3"
    # opus, vorbis, flac by their names; other names are unknown to browsers (canPlayType
    # answers "" for them).
    return codec


def _profile_number(name: str | None) -> int:
    """ "Profile 2" -> 2 (FFmpeg's VP9/AV1 profile names); 0 when unknown."""
    if name and name.split()[-1].isdigit():
        return int(name.split()[-1])
    return 0


def avc_codec_string(extradata: bytes, profile: str | None, level: int | None) -> str:
    """``avc1.PPCCLL`` from an avcC record (version byte 1, then profile, constraint flags,
    level) or an Annex B sequence parameter set (start code, NAL type 7, then the same three
    bytes); else from FFmpeg's profile name and level; else ``GENERIC_AVC``."""
    if len(extradata) >= 4 and extradata[0] == 1:
        return "avc1." + extradata[1:4].hex().upper()
    start = extradata.find(b"\x00\x00\x01")
    while start >= 0 and start + 6 <= len(extradata):
        if extradata[start + 3] & 0x1F == 7:
            return "avc1." + extradata[start + 4 : start + 7].hex().upper()
        start = extradata.find(b"\x00\x00\x01", start + 3)
    if profile in _AVC_PROFILES and level is not None and 0 < level < 256:
        idc, flags = _AVC_PROFILES[profile]
        return f"avc1.{idc:02X}{flags:02X}{level:02X}"
    return GENERIC_AVC


def hevc_codec_string(extradata: bytes, tag: str | None) -> str:
    """``hvc1.1.6.L93.B0``-style string from an hvcC record (ISO/IEC 14496-15 E.3); a generic
    Main profile level 3.1 string without one."""
    prefix = tag if tag in {"hvc1", "hev1"} else "hvc1"
    if len(extradata) < 13 or extradata[0] != 1:
        return f"{prefix}.1.6.L93.B0"
    space = "" if extradata[1] >> 6 == 0 else "ABC"[(extradata[1] >> 6) - 1]
    tier = "H" if extradata[1] & 0x20 else "L"
    profile_idc = extradata[1] & 0x1F
    compat = int.from_bytes(extradata[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(extradata[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    level = extradata[12]
    parts = [prefix, f"{space}{profile_idc}", f"{reversed_compat:X}", f"{tier}{level}"]
    parts += [f"{b:02X}" for b in constraints]
    return ".".join(parts)


def av1_codec_string(extradata: bytes) -> str:
    """``av01.P.LLT.DD`` from an av1C record (marker bit set in the first byte); else
    ``GENERIC_AV1``."""
    if len(extradata) < 4 or not extradata[0] & 0x80:
        return GENERIC_AV1
    profile = extradata[1] >> 5
    level = extradata[1] & 0x1F
    tier = "H" if extradata[2] & 0x80 else "M"
    high_bitdepth, twelve_bit = extradata[2] & 0x40, extradata[2] & 0x20
    depth = 12 if twelve_bit else 10 if high_bitdepth else 8
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


def probe_streams(path: Path) -> StreamFacts:
    """Read the container header of ``path`` (no decoding) into ``StreamFacts``; a raw
    stream's duration is counted from its packets (``video.count_duration``). Cached per
    (path, size, mtime). Raises ``MediaError`` with the reason (``video.open_container``) when
    the file cannot be opened as media."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from exc
    return _probe(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _probe(path: str, size: int, mtime_ns: int) -> StreamFacts:
    del size, mtime_ns  # cache key only
    try:
        with open_container(Path(path)) as container:
            facts = StreamFacts(
                container=container.format.name,
                extension=Path(path).suffix.lower(),
                video_codec=None,
                duration=container.duration / 1_000_000 if container.duration else None,
            )
            if container.streams.audio:
                audio = container.streams.audio[0].codec_context
                facts = replace(facts, audio_codec=audio.name, audio_profile=audio.profile)
            if not container.streams.video:
                return facts
            video = container.streams.video[0]
            ctx = video.codec_context
            tag = ctx.codec_tag.strip("\x00") if isinstance(ctx.codec_tag, str) else ""
            level = getattr(ctx, "level", None)
            facts = replace(
                facts,
                video_codec=ctx.name,
                video_tag=tag or None,
                video_profile=ctx.profile,
                video_level=level if isinstance(level, int) and level > 0 else None,
                extradata=bytes(ctx.extradata or b""),
                width=ctx.width,
                height=ctx.height,
                bit_depth=10 if ctx.pix_fmt and "10" in ctx.pix_fmt else 8,
            )
            if facts.duration is None and video.duration and video.time_base:
                facts = replace(facts, duration=float(video.duration * video.time_base))
            if facts.duration is None:
                rate = video.average_rate or video.guessed_rate
                duration = count_duration(Path(path), float(rate) if rate else None)
                facts = replace(facts, duration=duration)
            return facts
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot open video: {exc.strerror or exc}") from exc
