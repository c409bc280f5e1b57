"""Photo decoding: bytes or files in, RGB pixel arrays out, or an error that says why not."""

from __future__ import annotations

import io
import warnings
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import ImageError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "ImageInput",
    "decode_image",
    "image_dimensions",
    "open_rgb",
]

#: Larger uploads are refused before decoding (a phone photo is 2-8 MB).
MAX_IMAGE_BYTES = 25 * 1024 * 1024
#: Larger images are refused as likely decompression bombs (50 megapixels).
MAX_IMAGE_PIXELS = 50_000_000
# (leading bytes, offset, media type) of the photo formats furima reads: a file that starts
# like one but fails to decode is damaged rather than "not an image".
_IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)

ImageInput = bytes | str | PathLike[str] | Any
"""Encoded image bytes, a path to an image file, or a ``PIL.Image.Image``."""


def decode_image(image: ImageInput, *, size: int | None = None, name: str = "image") -> np.ndarray:
    """Decode one photo into an ``(H, W, 3)`` uint8 RGB array.

    Any mode is accepted (greyscale, palette, RGBA over white, CMYK, 16-bit), EXIF rotation is
    applied, and ``size`` resizes to ``size x size``. Empty, truncated, oversized or non-image
    inputs raise :class:`ImageError` naming ``name`` and the reason.
    """
    picture = open_rgb(image, name=name)
    if size is not None:
        from PIL import Image

        picture = picture.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(picture, dtype=np.uint8)


def open_rgb(image: ImageInput, *, name: str = "image") -> Image.Image:
    """Decode one photo into an RGB ``PIL.Image`` at its own size, as :func:`decode_image`
    does (for callers that resize one photo several ways and should decode it once)."""
    return _to_rgb(_open(image, name), name)


def image_dimensions(image: ImageInput, *, name: str = "image") -> tuple[int, int]:
    """A photo's ``(width, height)`` read from its header, without decoding the pixels;
    unreadable inputs raise :class:`ImageError` as :func:`decode_image` does."""
    width, height = _open(image, name).size
    return int(width), int(height)


def image_media_type(data: bytes) -> str | None:
    """``image/jpeg`` and the like when ``data`` starts like a photo furima reads, else ``None``."""
    for magic, offset, media_type in _IMAGE_SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (
            media_type != "image/webp" or data.startswith(b"RIFF")
        ):
            return media_type
    return None


def _open(image: ImageInput, name: str) -> Image.Image:
    from PIL import Image

    if isinstance(image, Image.Image):
        _check_pixels(image, name)
        return image
    data = _read_bytes(image, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise _bomb(name) from error
    except (OSError, ValueError, SyntaxError) as error:
        if image_media_type(data) is not None:
            raise _corrupt(name, error) from error
        raise ImageError(
            f"{name} is not an image furima can read ({len(data)} bytes; "
            "expected JPEG, PNG, WebP, GIF, BMP or TIFF)."
        ) from error
    _check_pixels(picture, name)
    return picture


def _read_bytes(image: ImageInput, name: str) -> bytes:
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
    elif isinstance(image, str | PathLike):
        path = Path(image)
        if not path.is_file():
            raise ImageError(f"{name}: no such file {str(path)!r}.")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise _too_large(name, path.stat().st_size)
        data = path.read_bytes()
    else:
        raise ImageError(
            f"{name} must be image bytes, a file path or a PIL image, got {type(image).__name__}."
        )
    if not data:
        raise ImageError(f"{name} is empty (0 bytes); upload the photo file itself.")
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(name, len(data))
    return data


def _check_pixels(picture: Image.Image, name: str) -> None:
    width, height = picture.size
    if width < 1 or height < 1:
        raise ImageError(f"{name} has no pixels ({width}x{height}).")
    if width * height > MAX_IMAGE_PIXELS:
        raise _bomb(name, width, height)


def _to_rgb(picture: Image.Image, name: str) -> Image.Image:
    from PIL import Image, ImageOps

    try:
        picture = ImageOps.exif_transpose(picture)
        picture.load()
        if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
            rgba = picture.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            return canvas
        if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
            scaled = np.asarray(picture, dtype=np.float64)
            peak = max(float(scaled.max()), 1.0)
            picture = Image.fromarray((scaled * (255.0 / peak)).astype(np.uint8))
        return picture.convert("RGB")
    except (OSError, ValueError, SyntaxError) as error:
        raise _corrupt(name, error) from error


def _corrupt(name: str, error: Exception) -> ImageError:
    return ImageError(f"{name} is corrupt or truncated ({error}); re-export or re-upload it.")


def _too_large(name: str, size: int) -> ImageError:
    return ImageError(
        f"{name} is {size / 1e6:.1f} MB; the limit is {MAX_IMAGE_BYTES / 1e6:.0f} MB. "
        "Resize or compress the photo."
    )


def _bomb(name: str, width: int | None = None, height: int | None = None) -> ImageError:
    dims = f" ({width}x{height})" if width else ""
    return ImageError(
        f"{name} is too large{dims}: more than {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels. "
        "Resize the photo before uploading."
    )
