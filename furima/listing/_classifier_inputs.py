"""What :class:`~furima.listing.AttributeClassifier` is given, checked and put in shape.

The input modes (photo, text, both) and their flags, the row count and which rows have a
photo or a text, the standardisation of photo features, the integer codes of each field's
labels, and the split of the rows into those trained on and those held out for calibration.
Plain functions on plain arrays, kept apart from the classifier so that fitting, calibrating
and predicting read as steps.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError

__all__ = [
    "BOTH",
    "MODES",
    "PHOTO",
    "TEXT",
    "UNKNOWN",
    "UNNAMED",
    "count_rows",
    "encode_labels",
    "mode_flags",
    "mode_of",
    "photo_scaling",
    "presence",
    "split_rows",
    "standardised_photos",
]

PHOTO, TEXT, BOTH = "photo", "text", "photo+text"
MODES = (PHOTO, TEXT, BOTH)
UNKNOWN, UNNAMED = -1, -2  # label codes: no value; a value the classifier has no class for
# Standardised photo inputs are clipped to this many standard deviations: a colour-histogram
# cell that catalog photos almost never fill would otherwise turn a new photo that fills it
# into an input thousands of deviations out, far beyond anything the network was trained on.
_MAX_DEVIATIONS = 10.0


def count_rows(photos: np.ndarray | None, texts: np.ndarray | None) -> int:
    """The number of rows of the features given (the same for photos and texts)."""
    if photos is None and texts is None:
        raise DataError("give photo features, text features, or both.")
    sizes = {len(a) for a in (photos, texts) if a is not None}
    if len(sizes) != 1:
        raise DataError(f"photos and texts must have the same number of rows, got {sizes}.")
    return sizes.pop()


def presence(
    rows: int,
    photos: np.ndarray | None,
    texts: np.ndarray | None,
    has_photo: np.ndarray | None,
    has_text: np.ndarray | None,
) -> np.ndarray:
    """``[rows, 2]`` bools: which rows have a photo and which have a text."""

    def column(given: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        if given is None:
            return np.zeros(rows, dtype=bool)
        return np.ones(rows, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)

    return np.stack([column(photos, has_photo), column(texts, has_text)], axis=1)


def mode_flags(mode: str, rows: int) -> np.ndarray:
    """``[rows, 2]`` bools: the photo and text flags of ``mode``, on every row."""
    flags = {PHOTO: (True, False), TEXT: (False, True), BOTH: (True, True)}[mode]
    return np.tile(np.array(flags, dtype=bool), (rows, 1))


def mode_of(present: np.ndarray) -> str:
    """The input mode of one row of :func:`presence`."""
    return BOTH if present.all() else PHOTO if present[0] else TEXT


def photo_scaling(
    photos: np.ndarray | None, has_photo: np.ndarray, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """The mean and inverse standard deviation of the ``dim`` photo features over the rows
    with a photo (0 and 1 without any)."""
    if photos is None or not has_photo.any():
        return np.zeros(dim, np.float32), np.ones(dim, np.float32)
    seen = photos[has_photo]
    mean = seen.mean(axis=0).astype(np.float32)
    return mean, (1 / (seen.std(axis=0) + 1e-6)).astype(np.float32)


def standardised_photos(photos: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Photo features standardised by :func:`photo_scaling`'s ``mean`` and ``scale``,
    clipped."""
    standardised = (photos - mean) * scale
    clipped: np.ndarray = np.clip(standardised, -_MAX_DEVIATIONS, _MAX_DEVIATIONS)
    return clipped.astype(np.float32)


def encode_labels(
    labels: Mapping[str, Any],
    fields: list[str],
    rows: int,
    learnable: Mapping[str, Collection[str]],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``[rows, fields]`` label codes (class positions, :data:`UNKNOWN` or :data:`UNNAMED`)
    and each field's classes, sorted."""
    unknown_fields = sorted(set(learnable) - set(fields))
    if unknown_fields:
        raise DataError(f"learnable names fields without labels: {unknown_fields}.")
    classes: dict[str, np.ndarray] = {}
    codes = np.full((rows, len(fields)), UNKNOWN, dtype=np.int64)
    for j, name in enumerate(fields):
        values = pd.Series(np.asarray(labels[name], dtype=object), dtype="string")
        if len(values) != rows:
            raise DataError(f"field {name!r} has {len(values)} labels for {rows} rows.")
        values = values.str.strip()
        values = values.where(values != "")
        if values.notna().sum() == 0:
            raise DataError(f"field {name!r} has no labels; give values or drop the field.")
        named = values.isin(list(learnable[name])) if name in learnable else values.notna()
        if not named.any():
            raise DataError(f"field {name!r} has no learnable labels; widen `learnable`.")
        factorised, uniques = pd.factorize(values.where(named), sort=True)
        codes[:, j] = np.where(values.notna() & ~named, UNNAMED, factorised)
        classes[name] = np.asarray(uniques, dtype=object).astype(str)
    return codes, classes


def split_rows(
    rows: int, calibration_rows: np.ndarray | None, calibration_share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of the rows to train on and of those held out: ``calibration_rows``,
    or a seeded ``calibration_share`` of the rows."""
    if calibration_rows is not None:
        held = np.unique(np.asarray(calibration_rows, dtype=np.int64))
        if len(held) == 0 or held[0] < 0 or held[-1] >= rows:
            raise DataError(f"calibration_rows must be row positions in [0, {rows}).")
        train = np.setdiff1d(np.arange(rows), held)
    else:
        order = np.random.default_rng(seed).permutation(rows)
        count = max(1, round(rows * calibration_share))
        train, held = np.sort(order[count:]), np.sort(order[:count])
    if len(train) < 2:
        raise DataError(f"need at least 2 labelled rows to train on, got {len(train)}.")
    return train, held
