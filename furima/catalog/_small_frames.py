"""The value-by-value path of :meth:`ListingSchema.conform <furima.catalog.ListingSchema.conform>`
for a few plain rows (an API request): each value checked in Python, with the same results as
the vectorised rules and without their fixed pandas overhead, which dominates a one-row
request. Anything unusual (wrong types, bytes, broken rules) makes :func:`small_frame` give up
(``None``) and the rows go the full way, which also words the problems.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from furima.catalog._columns import (
    INTEGER_RANGES,
    LISTING_COLUMNS,
    NO_DESCRIPTION,
    TEXT_DTYPE,
    attribute_columns,
    has_surrogates,
)

__all__ = ["SMALL_ROWS", "small_frame"]


SMALL_ROWS = 64
_UNDECODABLE_FIRST = "\U0010ff80"  # the first mark in _encoding.UNDECODABLE_PATTERN
_DTYPES: dict[str, Any] = {"condition": "Int64", "shipping": "Int64", "price": "float64"}


class _Unusual(Exception):
    """A value the value-by-value path leaves to the full checks."""


def small_frame(
    df: pd.DataFrame, require_price: bool, numeric: frozenset[str]
) -> pd.DataFrame | None:
    columns: dict[str, pd.api.extensions.ExtensionArray | np.ndarray] = {}
    try:
        for column in (*LISTING_COLUMNS, *attribute_columns(df)):
            if column == "listing_id" and column not in df.columns:
                continue
            values = df[column].tolist() if column in df.columns else [None] * len(df)
            if column in numeric:
                columns[column] = np.array([_small_measure(v) for v in values], dtype=float)
                continue
            clean = [_small_value(column, v, require_price) for v in values]
            if column == "listing_id" and len(set(clean)) < len(clean):
                raise _Unusual
            columns[column] = pd.array(clean, dtype=_DTYPES.get(column, TEXT_DTYPE))
    except _Unusual:
        return None
    return pd.DataFrame(columns, index=df.index)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _small_measure(value: object) -> float:
    """One numeric attribute value; anything but a finite number or a gap is unusual."""
    if _missing(value):
        return np.nan
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _Unusual
    if not np.isfinite(value):
        raise _Unusual
    return float(value)


def _small_value(column: str, value: object, require_price: bool) -> object:
    missing = _missing(value)
    if column in INTEGER_RANGES or column == "price":
        return _small_number(column, None if missing else value, require_price)
    if missing:
        text = ""
    elif isinstance(value, str) and _plain(value):
        text = value.strip()
    else:
        raise _Unusual
    if column == "description":
        return "" if text == NO_DESCRIPTION else text
    if column in ("name", "listing_id") and not text:
        raise _Unusual
    if column == "category" and (text.startswith("/") or text.endswith("/") or "//" in text):
        raise _Unusual
    return text or None


def _plain(text: str) -> bool:
    """No lone surrogates and no marks of undecodable bytes (``conform`` words those)."""
    return not has_surrogates(text) and max(text, default="") < _UNDECODABLE_FIRST


def _small_number(column: str, value: object, require_price: bool) -> object:
    if value is None:
        if column == "price" and require_price:
            raise _Unusual
        return None if column != "price" else np.nan
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _Unusual
    if column == "price":
        if not (np.isfinite(value) and value > 0):
            raise _Unusual
        return float(value)
    low, high = INTEGER_RANGES[column]
    if value != int(value) or not low <= value <= high:
        raise _Unusual
    return int(value)
