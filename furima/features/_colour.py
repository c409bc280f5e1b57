"""Colour features: what colour the product is, with the photo's background left out.

Pooled ImageNet features keep shape and texture but little hue, so colour is read off the
pixels directly. The background colour is estimated from the photo's border and pixels close
to it are dropped; the rest are histogrammed in CIELAB, whose lightness and two opponent-colour
axes follow perceived differences (navy sits apart from black, grey from white, far more than
in RGB or HSV). Two regions are described: the whole product, and its centre, which is the
garment itself rather than a sole, a strap or a model's skin at the edges. Each gets a
histogram, its mean and spread, and lightness percentiles; the product's share of the photo
comes last. They name base colours better than the HSV histogram they replaced
(``docs/benchmarks.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from furima._progress import tracker
from furima.features._images import ImageInput, decode_image

__all__ = ["ColourEncoder"]

_LIGHTNESS_BINS, _OPPONENT_BINS = 5, 8
_OPPONENT_RANGE = 60.0  # a* and b* are binned over [-60, 60]; beyond goes to the end bins
_HISTOGRAM = _LIGHTNESS_BINS * _OPPONENT_BINS * _OPPONENT_BINS
_SUMMARY = 9  # mean and standard deviation of L*, a*, b*; L* 10th, 50th and 90th percentiles
_BACKGROUND_DISTANCE = 0.1  # RGB distance (0-1 scale) within which a pixel is background
_MIN_PRODUCT_SHARE = 0.05  # with less product than this, the whole photo is used
_MIN_CENTRE_PIXELS = 20  # a centre with fewer product pixels is described as the whole
_SIDE = 80  # photos are shrunk to at most this many pixels per side first
# sRGB (D65) to XYZ, each row divided by the white point's X, Y or Z.
_RGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
) / np.array([[0.9505], [1.0], [1.089]])


class ColourEncoder:
    """Photos to colour features: CIELAB histograms and summaries of the product's pixels,
    whole and centre, and the share of the photo it covers."""

    name = "lab-histogram-v2"
    dim = 2 * (_HISTOGRAM + _SUMMARY) + 1

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
        product = _product_mask(rgb)
        share = float(product.mean())
        if share < _MIN_PRODUCT_SHARE:
            product = np.ones_like(product)
        centre = product & _centre(product.shape)
        if centre.sum() < _MIN_CENTRE_PIXELS:
            centre = product
        lab = _rgb_to_lab(rgb)
        parts = [_describe(lab[region]) for region in (product, centre)]
        return np.concatenate([*parts, [share]]).astype(np.float32)


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


def _centre(shape: tuple[int, ...]) -> np.ndarray:
    """The middle half of the photo in each direction."""
    height, width = shape[:2]
    rows = np.abs(np.arange(height) - height / 2) < height / 4
    columns = np.abs(np.arange(width) - width / 2) < width / 4
    result: np.ndarray = rows[:, None] & columns[None, :]
    return result


def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to CIELAB (D65): L* in [0, 100], a* and b* roughly in [-110, 110]."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ _RGB_TO_XYZ.T
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lightness = 116 * f[..., 1] - 16
    result: np.ndarray = np.stack(
        [lightness, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1
    )
    return result


def _describe(lab: np.ndarray) -> np.ndarray:
    """An ``(n, 3)`` set of CIELAB pixels as a normalised L* x a* x b* histogram, then its
    mean and spread and lightness percentiles (all scaled by 1/100)."""
    lightness = np.clip((lab[:, 0] / 100 * _LIGHTNESS_BINS).astype(int), 0, _LIGHTNESS_BINS - 1)
    opponent = np.clip(
        ((lab[:, 1:] + _OPPONENT_RANGE) / (2 * _OPPONENT_RANGE) * _OPPONENT_BINS).astype(int),
        0,
        _OPPONENT_BINS - 1,
    )
    cells = (lightness * _OPPONENT_BINS + opponent[:, 0]) * _OPPONENT_BINS + opponent[:, 1]
    counts = np.bincount(cells, minlength=_HISTOGRAM).astype(np.float64)
    summary = [lab.mean(axis=0), lab.std(axis=0), np.percentile(lab[:, 0], [10, 50, 90])]
    result: np.ndarray = np.concatenate([counts / max(counts.sum(), 1.0), *summary])
    result[_HISTOGRAM:] /= 100.0
    return result
