"""The listings a safety check reads: ids, the text a buyer sees, and the photo.

A frame of listings (the catalog's columns; ``listing_id`` and at least one of ``name``,
``description`` or ``photo``) is checked once here, so every check downstream can trust it:
ids are unique strings, each listing has text or a photo, photos are bytes or absent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from furima.exceptions import DataError, SchemaError

__all__ = ["SafetyListings", "listing_text", "safety_listings"]

_SHOWN = 5


@dataclass(frozen=True)
class SafetyListings:
    """A validated batch: the frame (``listing_id`` as strings) and its texts and photos."""

    frame: pd.DataFrame
    ids: list[str]
    texts: list[str]
    photos: list[bytes | None]

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def has_photo(self) -> np.ndarray:
        return np.array([photo is not None for photo in self.photos], dtype=bool)


def listing_text(frame: pd.DataFrame) -> list[str]:
    """Title and description joined, the words a buyer reads (``""`` when neither is given)."""
    parts = [
        frame[column].astype("string").fillna("").str.strip()
        for column in ("name", "description")
        if column in frame.columns
    ]
    if not parts:
        return [""] * len(frame)
    joined = parts[0] if len(parts) == 1 else (parts[0] + "\n" + parts[1]).str.strip()
    return [str(text) for text in joined]


def safety_listings(listings: pd.DataFrame, *, role: str) -> SafetyListings:
    """Validate ``listings`` for a safety check; ``role`` names them in errors.

    Raises:
        SchemaError: Not a frame, or no ``listing_id`` column, or none of ``name``,
            ``description`` and ``photo``.
        DataError: Repeated or empty ids, a listing without text or photo, a photo that is
            not bytes.
    """
    if not isinstance(listings, pd.DataFrame):
        raise SchemaError(f"the {role} must be a pandas DataFrame, got {type(listings).__name__}.")
    if "listing_id" not in listings.columns:
        raise SchemaError(
            f"the {role} have no `listing_id` column; every listing needs an id so that its "
            f"results, duplicates and reviews can name it. Columns: {list(listings.columns)}."
        )
    if not {"name", "description", "photo"} & set(listings.columns):
        raise SchemaError(
            f"the {role} have none of the columns `name`, `description` or `photo`: there is "
            "nothing to check."
        )
    frame = listings.reset_index(drop=True)
    ids = _ids(frame, role)
    photos = _photos(frame, ids, role)
    texts = listing_text(frame)
    empty = [
        i
        for i, (text, photo) in enumerate(zip(texts, photos, strict=True))
        if not text and photo is None
    ]
    if empty:
        raise DataError(
            f"{len(empty)} of the {role} have neither text nor a photo (listing ids "
            f"{_show([ids[i] for i in empty])}); give each a title, description or photo."
        )
    return SafetyListings(frame.assign(listing_id=ids), ids, texts, photos)


def _ids(frame: pd.DataFrame, role: str) -> list[str]:
    raw = frame["listing_id"]
    ids = ["" if pd.isna(value) else str(value).strip() for value in raw]
    missing = [i + 1 for i, value in enumerate(ids) if not value]
    if missing:
        raise DataError(
            f"the {role} have empty listing ids in rows {_show(missing)}; give every listing an id."
        )
    repeated = sorted(value for value, count in Counter(ids).items() if count > 1)
    if repeated:
        raise DataError(
            f"the {role} repeat listing ids {_show(repeated)}; each listing must appear once."
        )
    return ids


def _photos(frame: pd.DataFrame, ids: list[str], role: str) -> list[bytes | None]:
    if "photo" not in frame.columns:
        return [None] * len(frame)
    photos: list[bytes | None] = []
    wrong: list[str] = []
    for listing_id, value in zip(ids, frame["photo"], strict=True):
        if isinstance(value, bytes | bytearray | memoryview):
            photos.append(bytes(value) if len(value) else None)
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            photos.append(None)
        else:
            wrong.append(listing_id)
            photos.append(None)
    if wrong:
        raise DataError(
            f"the `photo` column of the {role} must hold image bytes (JPEG, PNG or WebP) or "
            f"nothing; listings {_show(wrong)} hold something else."
        )
    return photos


def _show(values: Sequence[object]) -> str:
    shown = ", ".join(repr(value) for value in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")
