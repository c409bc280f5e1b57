"""Colour features read the product's colour in CIELAB and leave the background out."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from furima.exceptions import ImageError
from furima.features import ColourEncoder

_CELLS = 5 * 8 * 8  # L* x a* x b* histogram
_REGION = _CELLS + 9  # histogram, mean and spread of L*a*b*, L* percentiles
_WHOLE, _CENTRE = 0, _REGION


def _photo(
    product: tuple[int, int, int],
    background: tuple[int, int, int],
    edge: tuple[int, int, int] | None = None,
) -> bytes:
    """A 60x80 JPEG: a product-coloured rectangle in the middle of a plain background, with
    an optional band of ``edge`` colour along the rectangle's top and bottom."""
    pixels = np.full((80, 60, 3), background, dtype=np.uint8)
    pixels[10:70, 10:50] = product
    if edge is not None:
        pixels[10:20, 10:50] = pixels[60:70, 10:50] = edge
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _histogram(features: np.ndarray, region: int = _WHOLE) -> np.ndarray:
    return features[region : region + _CELLS]


def _cell(lightness: int, a: int, b: int) -> int:
    return (lightness * 8 + a) * 8 + b


def test_a_red_product_on_white_reads_red_and_the_background_is_left_out() -> None:
    red = ColourEncoder().encode([_photo((200, 20, 20), (255, 255, 255))])[0]
    assert red.shape == (ColourEncoder.dim,) == (2 * _REGION + 1,)
    assert _histogram(red).sum() == pytest.approx(1.0)
    # L* 43, a* +66, b* +50: the middle lightness bin, both opponent axes at their red end
    assert _histogram(red)[_cell(2, 7, 7)] == pytest.approx(1.0)
    assert red[_CELLS : _CELLS + 3] == pytest.approx([0.43, 0.66, 0.50], abs=0.02)  # mean L*a*b*
    assert red[-1] == pytest.approx(60 * 40 / (80 * 60))  # the product's share of the photo


def test_navy_and_black_fall_in_different_cells() -> None:
    navy, black = ColourEncoder().encode(
        [_photo((20, 30, 90), (255, 255, 255)), _photo((10, 10, 10), (255, 255, 255))]
    )
    assert _histogram(black).argmax() == _cell(0, 4, 4)  # darkest, neutral
    assert _histogram(navy).argmax() == _cell(0, 5, 1)  # dark, towards blue (b* -38)


def test_the_same_product_on_another_background_gives_the_same_histogram() -> None:
    on_white, on_grey = ColourEncoder().encode(
        [_photo((20, 40, 200), (255, 255, 255)), _photo((20, 40, 200), (200, 200, 200))]
    )
    assert np.abs(_histogram(on_white) - _histogram(on_grey)).sum() < 0.01


def test_the_centre_describes_the_product_without_its_edges() -> None:
    red_with_black_bands = _photo((200, 20, 20), (255, 255, 255), edge=(10, 10, 10))
    features = ColourEncoder().encode([red_with_black_bands])[0]
    whole, centre = _histogram(features, _WHOLE), _histogram(features, _CENTRE)
    assert whole[_cell(0, 4, 4)] == pytest.approx(1 / 3)  # 20 of its 60 rows are black
    assert centre[_cell(2, 7, 7)] == pytest.approx(1.0)  # rows 21-59 of the photo


def test_a_photo_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(ImageError, match="image 1"):
        ColourEncoder().encode([_photo((1, 2, 3), (255, 255, 255)), b"not a photo"])
