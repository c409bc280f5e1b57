"""The canonical listing columns, their dtypes and what tells attribute columns apart.

The schema (:mod:`furima.catalog._schema`) and its value-by-value fast path
(:mod:`furima.catalog._small_frames`) both build on these.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "CANONICAL_DTYPES",
    "INTEGER_RANGES",
    "LISTING_COLUMNS",
    "NO_DESCRIPTION",
    "TEXT_DTYPE",
    "attribute_columns",
    "categorical_attribute_columns",
    "has_surrogates",
    "numeric_attribute_columns",
]

LISTING_COLUMNS: tuple[str, ...] = (
    "listing_id",
    "name",
    "description",
    "brand",
    "category",
    "condition",
    "shipping",
    "price",
)
TEXT_DTYPE = pd.StringDtype()
CANONICAL_DTYPES: dict[str, str] = {
    "listing_id": "string",
    "name": "string",
    "description": "string",
    "brand": "string",
    "category": "string",
    "condition": "Int64",
    "shipping": "Int64",
    "price": "float64",
}
NO_DESCRIPTION = "No description yet"
INTEGER_RANGES = {"condition": (1, 5), "shipping": (0, 1)}


def attribute_columns(df: pd.DataFrame) -> list[str]:
    """The non-canonical (attribute) columns of ``df``, in frame order."""
    return [str(column) for column in df.columns if column not in LISTING_COLUMNS]


def numeric_attribute_columns(df: pd.DataFrame) -> list[str]:
    """The numeric attribute columns of ``df`` (float dtype), in frame order."""
    return [c for c in attribute_columns(df) if pd.api.types.is_float_dtype(df[c].dtype)]


def categorical_attribute_columns(df: pd.DataFrame) -> list[str]:
    """The categorical (text) attribute columns of ``df``, in frame order."""
    numeric = set(numeric_attribute_columns(df))
    return [c for c in attribute_columns(df) if c not in numeric]


def has_surrogates(value: str) -> bool:
    """Whether ``value`` holds lone surrogates (text that cannot be UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
