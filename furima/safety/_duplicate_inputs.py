"""The listings a duplicate check takes: ids, texts, photos and photo vectors, checked once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from furima.exceptions import DataError

__all__ = ["DuplicateInputs", "parse_inputs"]


@dataclass(frozen=True)
class DuplicateInputs:
    """A checked batch of ``n`` listings.

    Attributes:
        ids: Listing ids as strings, unique.
        texts: Text per listing (``None``: none).
        photos: Encoded photo per listing (``None``: none).
        vectors: ``(n, dim)`` float32 photo vectors (rows of zeros where none), or ``None``.
        has_vector: Which rows of ``vectors`` are real.
    """

    ids: list[str]
    texts: list[str | None]
    photos: list[bytes | None]
    vectors: np.ndarray | None
    has_vector: np.ndarray

    @property
    def has_photo(self) -> np.ndarray:
        return np.array([photo is not None for photo in self.photos], dtype=bool)


def parse_inputs(
    ids: Iterable[Any],
    texts: Iterable[str | None],
    photos: Iterable[bytes | None] | None,
    photo_vectors: Any,
) -> DuplicateInputs:
    """Check the arguments of the duplicate finder's methods; DataError says what is wrong."""
    listing_ids = [str(listing) for listing in ids]
    n = len(listing_ids)
    texts = list(texts)
    _check_length("texts", texts, n)
    repeated = _first_repeat(listing_ids)
    if repeated is not None:
        raise DataError(f"listing id {repeated!r} appears twice; give each listing one id.")
    photo_list: list[bytes | None] = [None] * n
    if photos is not None:
        photo_list = [_photo(photo) for photo in photos]
    _check_length("photos", photo_list, n)
    vectors, has_vector = _vectors(photo_vectors, n)
    return DuplicateInputs(
        listing_ids, [_text(text) for text in texts], photo_list, vectors, has_vector
    )


def _check_length(name: str, values: Sequence[Any], n: int) -> None:
    if len(values) != n:
        raise DataError(
            f"{name} has {len(values)} values for {n} listing ids: give one per listing."
        )


def _first_repeat(ids: list[str]) -> str | None:
    seen: set[str] = set()
    for listing in ids:
        if listing in seen:
            return listing
        seen.add(listing)
    return None


def _text(text: Any) -> str | None:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    return str(text)


def _photo(photo: Any) -> bytes | None:
    if photo is None or (isinstance(photo, float) and np.isnan(photo)):
        return None
    if isinstance(photo, bytes | bytearray | memoryview):
        return bytes(photo)
    raise DataError(
        f"photos must be JPEG/PNG bytes or None per listing, got {type(photo).__name__}."
    )


def _vectors(photo_vectors: Any, n: int) -> tuple[np.ndarray | None, np.ndarray]:
    """``(n, dim)`` float32 rows (zeros where a listing has none) and which rows are real."""
    if photo_vectors is None:
        return None, np.zeros(n, dtype=bool)
    if isinstance(photo_vectors, np.ndarray) and photo_vectors.ndim == 2:
        rows = np.asarray(photo_vectors, dtype=np.float32)
    else:
        rows = _stack_rows(list(photo_vectors))
    if len(rows) != n:
        raise DataError(
            f"photo_vectors has {len(rows)} rows for {n} listing ids: give one per listing."
        )
    if not np.isfinite(rows).all():
        raise DataError("photo_vectors holds NaN or infinite values; encode the photos again.")
    return rows, np.abs(rows).sum(axis=1) > 0


def _stack_rows(rows: list[Any]) -> np.ndarray:
    present = [np.asarray(row, dtype=np.float32).ravel() for row in rows if row is not None]
    dims = {row.shape[0] for row in present}
    if len(dims) > 1:
        raise DataError(f"photo_vectors rows have different lengths {sorted(dims)}.")
    dim = dims.pop() if dims else 1
    out = np.zeros((len(rows), dim), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = np.asarray(row, dtype=np.float32).ravel()
    return out
