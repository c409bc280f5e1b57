"""decode_image: any photo in, RGB pixels out, or an ImageError that says what was wrong."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from furima.exceptions import DataError, ImageError
from furima.features import MAX_IMAGE_BYTES, decode_image


def encoded(picture: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()


def test_real_jpeg_decodes_to_rgb(myntra_photos: pd.DataFrame) -> None:
    pixels = decode_image(myntra_photos["jpeg"].iloc[0])
    assert pixels.dtype == np.uint8
    assert pixels.shape == (80, 60, 3)  # the Myntra photos are 60 x 80


def test_resize_gives_a_square(myntra_photos: pd.DataFrame) -> None:
    assert decode_image(myntra_photos["jpeg"].iloc[0], size=224).shape == (224, 224, 3)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "RGBA", "LA"])
def test_every_mode_becomes_rgb(mode: str) -> None:
    picture = Image.new("RGB", (40, 30), (200, 30, 30)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I;16" else "PNG"
    assert decode_image(encoded(picture, fmt)).shape == (30, 40, 3)


def test_transparent_pixels_become_white() -> None:
    picture = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert decode_image(encoded(picture, "PNG"))[0, 0].tolist() == [255, 255, 255]


def test_exif_rotation_is_applied() -> None:
    picture = Image.new("RGB", (40, 20))
    exif = picture.getexif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue()).shape == (40, 20, 3)


def test_paths_and_pil_images_are_accepted(tmp_path: Path) -> None:
    picture = Image.new("RGB", (8, 6), (0, 128, 0))
    file = tmp_path / "photo.png"
    picture.save(file)
    assert decode_image(file)[0, 0].tolist() == [0, 128, 0]
    assert decode_image(str(file)).shape == (6, 8, 3)
    assert decode_image(picture).shape == (6, 8, 3)


def test_empty_bytes() -> None:
    with pytest.raises(ImageError, match=r"upload is empty \(0 bytes\)"):
        decode_image(b"", name="upload")


def test_not_an_image() -> None:
    with pytest.raises(ImageError, match="is not an image furima can read"):
        decode_image(b"%PDF-1.4 this is a pdf")


def test_truncated_jpeg(myntra_photos: pd.DataFrame) -> None:
    data = myntra_photos["jpeg"].iloc[0]
    with pytest.raises(ImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = encoded(Image.new("1", (10_000, 10_000)), "PNG")  # 100 megapixels, a few KB
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="more than 50 megapixels"):
        decode_image(bomb)


def test_oversized_upload_is_refused() -> None:
    with pytest.raises(ImageError, match="the limit is 26 MB"):
        decode_image(b"\xff" * (MAX_IMAGE_BYTES + 1))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        decode_image(tmp_path / "nope.jpg")


def test_wrong_type() -> None:
    with pytest.raises(ImageError, match="got int"):
        decode_image(42)


def test_image_error_is_a_data_error() -> None:
    assert issubclass(ImageError, DataError)
