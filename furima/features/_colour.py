"""Colour features: what colour the product is, with the photo's background left out.

Pooled ImageNet features keep shape and texture but little hue, so colour is read off the
pixels directly: the background colour is estimated from the photo's border, pixels close to
it are dropped, and the rest are histogrammed in HSV (hue x saturation x value for coloured
pixels, value alone for greys), with the product's mean colour and its share of the photo.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from furima._progress import tracker
from furima.features._images import ImageInput, decode_image

__all__ = ["ColourEncoder"]

_HUES, _SATURATIONS, _VALUES, _GREYS = 12, 2, 3, 6
_GREY_SATURATION = 0.2  # below: a grey (black, white, silver), binned by value only
_BACKGROUND_DISTANCE = 0.1  # RGB distance (0-1 scale) within which a pixel is background
_MIN_PRODUCT_SHARE = 0.05  # with less product than this, the whole photo is used
_SIDE = 64  # photos are shrunk to at most this many pixels per side first


class ColourEncoder:
    """Photos to colour features: an HSV histogram of the product's pixels (sums to 1), its
    mean RGB and HSV, and the share of the photo it covers."""

    name = "hsv-histogram-v1"
    dim = _HUES * _SATURATIONS * _VALUES + _GREYS + 7

    def encode(self, images: Sequence[ImageInput], *, progress: bool = False) -> np.ndarray:
        """Encode photos (bytes, paths, PIL images or ``(H, W, 3)`` uint8 arrays)."""
        out = np.empty((len(images), self.dim), dtype=np.float32)
        with tracker(progress) as bar:
            bar.start("Colour features", total=len(images))
            for i, image in enumerate(images):
                out[i] = self.features(image, name=f"image {i}")
                if i % 256 == 0:
                    bar.update(i + 1)
            bar.update(len(images))
        return out

    def features(self, image: ImageInput | np.ndarray, *, name: str = "image") -> np.ndarray:
        """Colour features of one photo."""
        rgb = _small_rgb(image, name)
        pixels = rgb.reshape(-1, 3)
        product = _product_mask(rgb).reshape(-1)
        share = float(product.mean())
        if share < _MIN_PRODUCT_SHARE:
            product = np.ones_like(product)
        chosen = pixels[product]
        hsv = _rgb_to_hsv(chosen)
        histogram = _histogram(hsv)
        return np.concatenate([histogram, chosen.mean(axis=0), hsv.mean(axis=0), [share]]).astype(
            np.float32
        )


def _small_rgb(image: ImageInput | np.ndarray, name: str) -> np.ndarray:
    """``(H, W, 3)`` floats in [0, 1], at most ``_SIDE`` pixels per side."""
    if isinstance(image, np.ndarray):
        from PIL import Image

        image = Image.fromarray(image)
    rgb = decode_image(image, name=name)
    height, width = rgb.shape[:2]
    step = max(1, int(np.ceil(max(height, width) / _SIDE)))
    return rgb[::step, ::step].astype(np.float32) / 255.0


def _product_mask(rgb: np.ndarray) -> np.ndarray:
    """True where a pixel differs from the background colour (the median border pixel)."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0)
    distance = np.sqrt(((rgb - background) ** 2).sum(axis=2))
    mask: np.ndarray = distance > _BACKGROUND_DISTANCE
    return mask


def _rgb_to_hsv(pixels: np.ndarray) -> np.ndarray:
    """``[n, 3]`` RGB in [0, 1] to HSV in [0, 1]."""
    high, low = pixels.max(axis=1), pixels.min(axis=1)
    chroma = high - low
    safe = np.where(chroma > 0, chroma, 1.0)
    r, g, b = pixels.T
    hue = np.select(
        [high == r, high == g],
        [((g - b) / safe) % 6, (b - r) / safe + 2],
        default=(r - g) / safe + 4,
    )
    hue = np.where(chroma > 0, hue / 6.0, 0.0)
    saturation = np.where(high > 0, chroma / np.where(high > 0, high, 1.0), 0.0)
    return np.stack([hue, saturation, high], axis=1)


def _histogram(hsv: np.ndarray) -> np.ndarray:
    hue, saturation, value = hsv.T
    grey = saturation < _GREY_SATURATION
    h = np.minimum((hue * _HUES).astype(int), _HUES - 1)
    s = np.minimum(
        ((saturation - _GREY_SATURATION) / (1 - _GREY_SATURATION) * _SATURATIONS).astype(int),
        _SATURATIONS - 1,
    )
    v = np.minimum((value * _VALUES).astype(int), _VALUES - 1)
    coloured = np.bincount(
        ((h * _SATURATIONS + s) * _VALUES + v)[~grey], minlength=_HUES * _SATURATIONS * _VALUES
    )
    greys = np.bincount(
        np.minimum((value * _GREYS).astype(int), _GREYS - 1)[grey], minlength=_GREYS
    )
    counts = np.concatenate([coloured, greys]).astype(np.float64)
    result: np.ndarray = counts / max(counts.sum(), 1.0)
    return result
