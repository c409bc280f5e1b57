"""Telling image files from other files by their leading bytes, not by their names."""

from __future__ import annotations

__all__ = ["describe_upload", "image_media_type"]

# (leading bytes, offset, media type) of the photo formats furima decodes.
_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)

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


def image_media_type(data: bytes) -> str | None:
    """``image/jpeg`` and the like when ``data`` starts like a readable photo, else ``None``."""
    for magic, offset, media_type in _IMAGE_MAGIC:
        if data[offset : offset + len(magic)] == magic and (
            media_type != "image/webp" or data.startswith(b"RIFF")
        ):
            return media_type
    return None


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
