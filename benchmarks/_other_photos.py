"""Photos of things a fashion catalog does not sell, to check that the assistant says so.

All of them come from what is installed (nothing is downloaded):

- two real photographs that ship with scikit-learn (a temple in China, a flower);
- pictures drawn here that share a product photo's plain white background, the hardest case
  for a similarity check: a line chart, a bar chart, a page of text, an app screen;
- random noise and flat colours.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

__all__ = ["other_photos"]

_SIZE = (300, 400)  # width, height: portrait, as catalog photos are


def other_photos() -> dict[str, bytes]:
    """Name -> encoded photo (JPEG for photographs, PNG for drawings)."""
    from sklearn.datasets import load_sample_image

    photos = {
        "photograph: temple": _encoded(load_sample_image("china.jpg"), "JPEG"),
        "photograph: flower": _encoded(load_sample_image("flower.jpg"), "JPEG"),
        "drawing: line chart": _encoded(_line_chart(), "PNG"),
        "drawing: bar chart": _encoded(_bar_chart(), "PNG"),
        "drawing: page of text": _encoded(_text_page(), "PNG"),
        "drawing: app screen": _encoded(_app_screen(), "PNG"),
    }
    rng = np.random.default_rng(0)
    for i in range(2):
        noise = rng.integers(0, 256, (_SIZE[1], _SIZE[0], 3), dtype=np.uint8)
        photos[f"noise {i + 1}"] = _encoded(noise, "PNG")
    for name, colour in (("red", (200, 30, 30)), ("black", (0, 0, 0)), ("grey", (128, 128, 128))):
        photos[f"flat {name}"] = _encoded(np.full((_SIZE[1], _SIZE[0], 3), colour, np.uint8), "PNG")
    return photos


def _encoded(image: Image.Image | np.ndarray, image_format: str) -> bytes:
    from PIL import Image

    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format=image_format)
    return buffer.getvalue()


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", _SIZE, "white")
    return image, ImageDraw.Draw(image)


def _line_chart() -> Image.Image:
    image, draw = _canvas()
    draw.line([(40, 40), (40, 360), (280, 360)], fill="black", width=2)
    points = [(40 + 30 * i, 360 - v) for i, v in enumerate((40, 120, 90, 210, 180, 260, 240, 300))]
    draw.line(points, fill=(31, 119, 180), width=3)
    for x, y in points:
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(31, 119, 180))
    draw.text((100, 15), "monthly sales", fill="black")
    return image


def _bar_chart() -> Image.Image:
    image, draw = _canvas()
    for i, height in enumerate((120, 260, 180, 300, 90)):
        left = 50 + 45 * i
        draw.rectangle([left, 360 - height, left + 30, 360], fill=(255, 127, 14))
    draw.line([(40, 360), (280, 360)], fill="black", width=2)
    return image


def _text_page() -> Image.Image:
    image, draw = _canvas()
    for line in range(18):
        words = "Terms of sale: items are shipped within three days of payment."
        draw.text((20, 20 + 20 * line), words[: 30 + (line * 7) % 30], fill="black")
    return image


def _app_screen() -> Image.Image:
    image, draw = _canvas()
    draw.rectangle([0, 0, 300, 50], fill=(33, 33, 33))
    draw.text((15, 18), "My orders", fill="white")
    for row in range(5):
        top = 70 + 62 * row
        draw.rectangle([15, top, 285, top + 50], outline=(200, 200, 200), width=2)
        draw.rectangle([25, top + 8, 59, top + 42], fill=(180, 200, 230))
        draw.text((70, top + 18), f"Order #{1040 + row}  shipped", fill=(60, 60, 60))
    return image
