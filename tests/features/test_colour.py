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
_LAYOUT = 2 * _REGION + 1  # then 4 horizontal bands of the product's bounding box, top first
_BAND_CELLS = 4 * 6 * 6  # each band's coarser L* x a* x b* histogram
_BAND = _BAND_CELLS + 4  # histogram, mean L*a*b*, share of the band that is product


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
    assert red.shape == (ColourEncoder.dim,) == (_LAYOUT + 4 * _BAND,)
    assert _histogram(red).sum() == pytest.approx(1.0)
    # L* 43, a* +66, b* +50: the middle lightness bin, both opponent axes at their red end
    assert _histogram(red)[_cell(2, 7, 7)] == pytest.approx(1.0)
    assert red[_CELLS : _CELLS + 3] == pytest.approx([0.43, 0.66, 0.50], abs=0.02)  # mean L*a*b*
    assert red[_LAYOUT - 1] == pytest.approx(60 * 40 / (80 * 60))  # the share of the photo


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


def test_the_layout_says_which_part_of_the_product_has_which_colour() -> None:
    """A product red in its top quarter and navy below (a shirt worn with dark trousers): the
    top band reads red, the other three navy, the whole product a mix."""
    pixels = np.full((80, 60, 3), 255, dtype=np.uint8)
    pixels[10:25, 15:45] = (200, 20, 20)
    pixels[25:70, 15:45] = (20, 30, 90)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    features = ColourEncoder().encode([buffer.getvalue()])[0]
    bands = features[_LAYOUT:].reshape(4, _BAND)
    red, navy = (1 * 6 + 5) * 6 + 5, (0 * 6 + 3) * 6 + 1  # L*a*b* 43/66/50 and 16/12/-38
    assert [band[:_BAND_CELLS].argmax() for band in bands] == [red, navy, navy, navy]
    top_mean = bands[0, _BAND_CELLS : _BAND_CELLS + 3]
    assert top_mean == pytest.approx([0.43, 0.66, 0.50], abs=0.02)
    assert bands[:, -1] == pytest.approx(np.ones(4))  # the box is all product
    assert _histogram(features)[_cell(2, 7, 7)] == pytest.approx(0.25, abs=0.02)  # a quarter red


def test_a_photo_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(ImageError, match="image 1"):
        ColourEncoder().encode([_photo((1, 2, 3), (255, 255, 255)), b"not a photo"])
