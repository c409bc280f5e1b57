"""Colour features read the product's colour and leave the background out."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from furima.exceptions import ImageError
from furima.features import ColourEncoder

_HISTOGRAM = 12 * 2 * 3 + 6


def _photo(product: tuple[int, int, int], background: tuple[int, int, int]) -> bytes:
    """A 60x80 JPEG: a product-coloured rectangle in the middle of a plain background."""
    pixels = np.full((80, 60, 3), background, dtype=np.uint8)
    pixels[20:60, 15:45] = product
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _hue_bin(features: np.ndarray) -> int:
    coloured = features[: 12 * 2 * 3].reshape(12, 2, 3)
    return int(coloured.sum(axis=(1, 2)).argmax())


def test_a_red_product_on_white_reads_red_and_the_background_is_left_out() -> None:
    red = ColourEncoder().encode([_photo((200, 20, 20), (255, 255, 255))])[0]
    assert red.shape == (ColourEncoder.dim,)
    assert red[:_HISTOGRAM].sum() == pytest.approx(1.0)
    assert _hue_bin(red) in (0, 11)  # red sits at hue 0 = 1: the first or the last bin
    assert red[:72].sum() > 0.9  # coloured pixels, not the white background
    share = red[-1]
    assert share == pytest.approx(40 * 30 / (80 * 60), abs=0.05)


def test_the_same_product_on_another_background_gives_nearly_the_same_histogram() -> None:
    encoder = ColourEncoder()
    on_white, on_grey = encoder.encode(
        [_photo((20, 40, 200), (255, 255, 255)), _photo((20, 40, 200), (200, 200, 200))]
    )
    assert _hue_bin(on_white) == _hue_bin(on_grey) == 7  # hue ~0.63: blue
    # only the blurred JPEG edge between product and background differs
    assert np.abs(on_white[:_HISTOGRAM] - on_grey[:_HISTOGRAM]).sum() < 0.3


def test_a_black_product_lands_in_the_darkest_grey_bin() -> None:
    black = ColourEncoder().encode([_photo((10, 10, 10), (255, 255, 255))])[0]
    greys = black[72:_HISTOGRAM]
    assert greys.argmax() == 0 and greys[0] > 0.9


def test_a_photo_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(ImageError, match="image 1"):
        ColourEncoder().encode([_photo((1, 2, 3), (255, 255, 255)), b"not a photo"])
