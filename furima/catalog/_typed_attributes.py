"""Numbers in listings: numeric attributes, condition levels, and numeric columns inferred.

A *numeric attribute* (an MSRP, a weight) is an attribute column of dtype float64 holding
finite numbers or NaN; every other attribute is text. Source cells arrive as text (CSV/TSV)
or typed (Parquet, JSON): both are read here as numbers, and the cells that are present but
not numbers are returned as masks for the validator to report row by row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np
import pandas as pd

from furima.catalog import _encoding
from furima.catalog._conditions import CONDITION_LEVELS, ConditionScale

__all__ = [
    "ProblemSink",
    "as_number",
    "condition_column",
    "condition_levels",
    "infer_numeric_columns",
    "numeric_cells",
    "numeric_column",
    "shown",
]

_TEXT_DTYPE = pd.StringDtype()
_SHOWN_CHARS = 40
# Identifier-like names (listing ids, zip codes, SKUs) are never inferred as numbers.
_ID_NAME = re.compile(r"(^|[_\s-])(id|ids|sku|zip|zipcode|postcode|code)$", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z0-9](Id|ID|Sku|SKU|Code)$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")


class ProblemSink(Protocol):
    """Where column rules report problems: a reason for every row where ``mask`` is true."""

    def add(self, mask: np.ndarray, column: str, reason: Callable[[int], str]) -> None:
        """Record ``reason(position)`` for every position where ``mask`` is true."""


def shown(value: object) -> str:
    """A short, safe ``repr`` of a raw value for error messages."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    text = _encoding.show_bytes(text)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 4] + "...'"


def as_number(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` as float64 values and a mask of cells that are present but not numbers."""
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        return values.copy(), np.zeros(len(raw), dtype=bool)
    text = _stripped_text(raw)
    present = (text.notna() & (text != "")).to_numpy(dtype=bool)
    numbers = np.array(pd.to_numeric(text.mask(~present), errors="coerce"), dtype=float)
    return numbers, present & np.isnan(numbers)


def _stripped_text(raw: pd.Series) -> pd.Series:
    try:
        text = raw.astype(_TEXT_DTYPE)
    except UnicodeEncodeError:  # lone surrogates in object cells: not a number anyway
        text = raw.map(lambda v: _encoding.fix_surrogates(str(v)), na_action="ignore")
        text = text.astype(_TEXT_DTYPE)
    return text.str.strip()


def numeric_cells(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A numeric attribute's values, and masks of text cells and of infinite values.

    Booleans are refused as text would be: ``True`` is no measurement.
    """
    if pd.api.types.is_bool_dtype(raw.dtype):
        present = raw.notna().to_numpy(dtype=bool)
        return np.full(len(raw), np.nan), present, np.zeros(len(raw), dtype=bool)
    if raw.dtype == object:
        is_bool = raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        raw = raw.mask(is_bool, "True")  # any text: reported as not a number
    values, not_number = as_number(raw)
    infinite = np.isinf(values)
    values[not_number | infinite] = np.nan
    return values, not_number, infinite


def condition_levels(
    raw: pd.Series, scale: ConditionScale
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Condition levels from numbers or words, and masks of unknown words and bad numbers.

    Returns the values (NaN where missing or wrong), the cells that are words the ``scale``
    does not know, and the numbers that are not an integer level 1..5.
    """
    values, not_number = as_number(raw)
    if not_number.any():
        words = _stripped_text(raw).mask(~not_number)
        values[not_number] = scale.levels(words)[not_number]
    unknown_word = not_number & np.isnan(values)
    low, high = CONDITION_LEVELS
    with np.errstate(invalid="ignore"):
        level = (values == np.round(values)) & (values >= low) & (values <= high)
    bad_number = ~np.isnan(values) & ~level
    return values, unknown_word, bad_number & ~unknown_word


def infer_numeric_columns(frame: pd.DataFrame, candidates: Iterable[str]) -> tuple[str, ...]:
    """The ``candidates`` whose every present value is a finite number, in that order.

    Skipped, so that codes never become measurements: identifier-like names (``*_id``,
    ``sku``, ``zip``...), values with a leading zero (``"02134"``), boolean columns and columns
    with no value at all.
    """
    return tuple(str(c) for c in candidates if _looks_numeric(str(c), frame[c]))


def _looks_numeric(name: str, raw: pd.Series) -> bool:
    if _ID_NAME.search(name) or _CAMEL_ID.search(name) or pd.api.types.is_bool_dtype(raw.dtype):
        return False
    present = raw.dropna()
    if present.empty:
        return False
    if pd.api.types.is_numeric_dtype(present.dtype):
        return bool(np.isfinite(present.to_numpy(dtype=float)).all())
    if present.map(lambda v: isinstance(v, bool | np.bool_ | bytes | bytearray)).any():
        return False  # flags, or binary values such as photos
    text = _stripped_text(present)
    text = text[text != ""]
    if text.empty or text.str.contains(_LEADING_ZERO, regex=True).any():
        return False
    numbers = np.array(pd.to_numeric(text, errors="coerce"), dtype=float)
    return bool(np.isfinite(numbers).all())


def condition_column(raw: pd.Series, found: ProblemSink, scale: ConditionScale) -> pd.Series:
    """``condition`` as Int64 levels; unknown words and bad numbers reported to ``found``."""
    values, unknown_word, bad_number = condition_levels(raw, scale)
    found.add(
        unknown_word,
        "condition",
        lambda i: (
            f"condition {shown(raw.iloc[i])} is neither an integer 1..5 nor a word of the "
            f"{scale.name!r} condition table ({scale.known_words()}); fix the value or give "
            'the file\'s words in the mapping, e.g. {"conditions": {"<word>": <level 1..5>}}'
        ),
    )
    found.add(
        bad_number,
        "condition",
        lambda i: f"condition must be an integer 1..5, got {shown(raw.iloc[i])}",
    )
    values[unknown_word | bad_number] = np.nan
    return pd.Series(values, index=raw.index).astype("Int64")


def numeric_column(column: str, raw: pd.Series, found: ProblemSink) -> pd.Series:
    """A numeric attribute as float64; text and infinite values reported to ``found``."""
    values, not_number, infinite = numeric_cells(raw)
    found.add(
        not_number,
        column,
        lambda i: (
            f"{column} is a numeric attribute but {shown(raw.iloc[i])} is not a number; write "
            f"a plain number such as 120.5 (no currency sign), leave it empty, or declare "
            f"{column!r} under 'attributes' to keep it as text"
        ),
    )
    found.add(
        infinite,
        column,
        lambda i: f"{column} must be a finite number, got {shown(raw.iloc[i])}",
    )
    return pd.Series(values, index=raw.index, dtype="float64")
