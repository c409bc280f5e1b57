"""Encoder outputs the listing assistant learns from: photo, colour and title features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from furima._progress import tracker
from furima.features import ColourEncoder, MiniLMEncoder, PhotoEncoder, decode_image
from furima.search import PoolFeatures

__all__ = ["ListingEncoders", "ListingFeatures"]

_CHUNK = 256  # photos decoded at a time (keeps memory flat on large catalogs)


@dataclass
class ListingFeatures:
    """Per listing: EfficientNet photo features, colour features, title features.

    Rows without a photo (``has_photo`` false) hold zeros in ``photos`` and ``colours``;
    rows without words hold zeros in ``titles`` (``has_text`` false).
    """

    photos: np.ndarray
    colours: np.ndarray
    titles: np.ndarray
    has_photo: np.ndarray
    has_text: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(a) for a in (self.photos, self.colours, self.titles, self.has_photo)}
        if len(sizes) != 1:
            raise ValueError(f"feature arrays have different row counts: {sorted(sizes)}.")

    @property
    def photo_inputs(self) -> np.ndarray:
        """What the classifiers see of a photo: its EfficientNet and colour features."""
        return np.concatenate([self.photos, self.colours], axis=1)

    def pool(self) -> PoolFeatures:
        """The part the similar-listing pool indexes."""
        return PoolFeatures(has_photo=self.has_photo, photos=self.photos, titles=self.titles)

    def __len__(self) -> int:
        return len(self.photos)


class ListingEncoders:
    """Encodes photos (decoded once for both photo encoders) and texts."""

    def __init__(self, photo: PhotoEncoder | None = None) -> None:
        self.photo = photo or PhotoEncoder()
        self.colour = ColourEncoder()
        self.text = MiniLMEncoder()

    def encode(
        self,
        photos: Sequence[Any | None],
        texts: Sequence[str | None],
        *,
        progress: bool = False,
    ) -> ListingFeatures:
        """Features of listings given as photos (``None``: no photo) and texts (``None``/``""``:
        no words). A photo that cannot be read raises :class:`ImageError` naming its row."""
        has_photo = np.array([_present(photo) for photo in photos], dtype=bool)
        photo_features = np.zeros((len(photos), self.photo.dim), np.float32)
        colour_features = np.zeros((len(photos), self.colour.dim), np.float32)
        rows = np.flatnonzero(has_photo)
        with tracker(progress) as bar:
            bar.start("Encoding photos", total=len(rows))
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                pictures = [_decoded(photos[i], f"photo {i}") for i in chunk]
                photo_features[chunk] = self.photo.encode(pictures)
                colour_features[chunk] = self.colour.encode(pictures)
                bar.update(start + len(chunk))
        words = ["" if text is None else str(text).strip() for text in texts]
        has_text = np.array([bool(text) for text in words], dtype=bool)
        title_features = np.zeros((len(words), MiniLMEncoder.dim), np.float32)
        if has_text.any():
            chosen = [text for text, keep in zip(words, has_text, strict=True) if keep]
            title_features[has_text] = self.text.encode(chosen, progress=progress)
        return ListingFeatures(photo_features, colour_features, title_features, has_photo, has_text)


def _decoded(photo: Any, name: str) -> Any:
    """The photo as a PIL image, decoded once (any mode in; RGB out)."""
    from PIL import Image

    return Image.fromarray(decode_image(photo, name=name))


def _present(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return not (isinstance(value, bytes | str) and len(value) == 0)
