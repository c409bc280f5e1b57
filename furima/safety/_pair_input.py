"""Checking listing frames for product matching and turning them into :class:`PairSide` rows.

Frames use furima's listings vocabulary: ``name`` (required), and optional ``description``,
``brand`` and ``price``. Problems raise :class:`~furima.exceptions.DataError` naming the
frame, the row and the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, EmptyDataError, SchemaError
from furima.safety._pair_features import PairSide

__all__ = ["check_labels", "check_pairs", "pair_side"]

_OPTIONAL = ("description", "brand", "price")


def check_pairs(left: Any, right: Any) -> tuple[PairSide, PairSide]:
    """Both sides of a batch of pairs, checked: frames of equal, non-zero length with names."""
    for role, frame in (("left", left), ("right", right)):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"`{role}` must be a pandas DataFrame of listings (columns name, and optional "
                f"description, brand, price), but got {type(frame).__name__}."
            )
    if len(left) != len(right):
        raise DataError(
            f"`left` and `right` must have one row per pair, but `left` has {len(left)} rows "
            f"and `right` has {len(right)}. Row i of `left` is compared with row i of `right`: "
            "align them (e.g. with merge on your pair table) before calling."
        )
    return pair_side(left, "left"), pair_side(right, "right")


def pair_side(frame: pd.DataFrame, role: str) -> PairSide:
    """One frame as plain lists, with names required and the optional columns filled."""
    if len(frame) == 0:
        raise EmptyDataError(f"`{role}` has no rows: pass at least one pair of listings.")
    if "name" not in frame.columns:
        raise SchemaError(
            f"`{role}` has no 'name' column (it has: {', '.join(map(str, frame.columns))}). "
            "Rename the title column to 'name', e.g. frame.rename(columns={'title': 'name'})."
        )
    names = [_text(value, role, row, "name") for row, value in enumerate(frame["name"])]
    empty = [row for row, name in enumerate(names) if not name.strip()]
    if empty:
        raise DataError(
            f"`{role}` has {len(empty)} row(s) without a name (first at row {empty[0]}): "
            "every listing needs a title to be matched. Fill or drop those rows.",
            column="name",
        )
    descriptions = _column(frame, "description", role)
    brands = [brand.strip().lower() for brand in _column(frame, "brand", role)]
    texts = [f"{name} {text}".strip() for name, text in zip(names, descriptions, strict=True)]
    return PairSide(names, texts, brands, _prices(frame, role))


def _column(frame: pd.DataFrame, column: str, role: str) -> list[str]:
    if column not in frame.columns:
        return [""] * len(frame)
    return [_text(value, role, row, column) for row, value in enumerate(frame[column])]


def _text(value: Any, role: str, row: int, column: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if not isinstance(value, str):
        raise DataError(
            f"`{role}` row {row}: {column} must be text, but got {type(value).__name__} "
            f"({value!r}). Convert the column with .astype(str) or fix that row.",
            column=column,
        )
    return value.lower()


def _prices(frame: pd.DataFrame, role: str) -> np.ndarray:
    if "price" not in frame.columns:
        return np.full(len(frame), np.nan)
    raw = frame["price"]
    prices = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(prices) & raw.notna().to_numpy() | (prices < 0))
    if len(bad):
        raise DataError(
            f"`{role}` has {len(bad)} price(s) that are not non-negative numbers (first at row "
            f"{bad[0]}: {raw.iloc[bad[0]]!r}). Leave unknown prices empty (NaN) and write "
            "the others as numbers.",
            column="price",
        )
    return prices


def check_labels(labels: Any, pairs: int) -> np.ndarray:
    """Labels as a 0/1 int array of length ``pairs``, with both classes present."""
    values = np.asarray(labels)
    if values.ndim != 1 or len(values) != pairs:
        raise DataError(
            f"`labels` must hold one value per pair ({pairs}), but got shape {values.shape}."
        )
    if values.dtype == bool:
        values = values.astype(np.int64)
    if not np.isin(values, (0, 1)).all():
        raise DataError(
            "`labels` must be 0/1 or True/False (1: the same product), but got values "
            f"{sorted(set(values.tolist()))[:5]}."
        )
    values = values.astype(np.int64)
    if values.min() == values.max():
        raise DataError(
            f"`labels` are all {int(values[0])}: the matcher needs both matching and "
            "non-matching pairs to learn from. Add pairs of the other kind."
        )
    return values
