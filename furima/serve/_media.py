"""Photos in and out: naming what a non-photo upload is (by its leading bytes, not by its
name), and answering a listing's photo with caching headers.

Which uploads *are* photos is :func:`furima.features.image_media_type`'s answer."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["PHOTO_CACHE", "describe_upload", "photo_response"]

PHOTO_CACHE = "public, max-age=86400"

# Files sellers pick by mistake, named so the error can say what was sent.
_OTHER_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"ftypheic", 4, "an iPhone HEIC photo"),
    (b"ftypheix", 4, "an iPhone HEIC photo"),
    (b"ftypmif1", 4, "a HEIF photo"),
    (b"ftypavif", 4, "an AVIF image"),
    (b"ftyp", 4, "a video"),
    (b"%PDF", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a ZIP or Office file"),
    (b"<svg", 0, "an SVG drawing"),
    (b"<?xml", 0, "an XML file"),
)


def describe_upload(data: bytes, filename: str | None) -> str:
    """A few words on what a non-photo upload seems to be (``"a PDF document, 12 KB"``)."""
    kind = next(
        (name for magic, offset, name in _OTHER_MAGIC if data[offset:].startswith(magic)), None
    )
    if kind is None:
        kind = "a text file" if _looks_like_text(data[:512]) else "an unknown kind of file"
    named = f"{filename!r} looks like {kind}" if filename else f"it looks like {kind}"
    return f"{named}, {_size(len(data))}"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:  # a character cut at the end of the head is fine
        return error.start >= len(head) - 3
    return b"\x00" not in head


def _size(n_bytes: int) -> str:
    if n_bytes < 1000:
        return f"{n_bytes} bytes"
    if n_bytes < 1_000_000:
        return f"{n_bytes / 1000:.0f} KB"
    return f"{n_bytes / 1_000_000:.1f} MB"


def photo_response(data: bytes, if_none_match: str | None, *, cache: str = PHOTO_CACHE) -> Response:
    """A photo with its sniffed media type and an ETag; 304 when the caller holds it already."""
    from starlette.responses import Response

    from furima.features import image_media_type

    etag = f'"{hashlib.blake2b(data, digest_size=12).hexdigest()}"'
    headers = {"Cache-Control": cache, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    media_type = image_media_type(data) or "application/octet-stream"
    return Response(data, media_type=media_type, headers=headers)
