"""The canonical listings table and the rules every listing follows.

A listings frame has the columns of :data:`LISTING_COLUMNS`, in that order, followed by any
*attribute* columns: categorical ones (text, such as Myntra's ``gender``) and numeric ones
(float64, such as an ``msrp``):

=============  ============  ===========================================================
column         dtype         rule
=============  ============  ===========================================================
listing_id     string        stable id, unique, non-empty
name           string        required, non-empty
description    string        ``""`` when absent; Mercari's "No description yet" -> ``""``
brand          string        or ``<NA>``
category       string        path such as ``"Women/Tops & Blouses/Blouse"``, or ``<NA>``;
                             no empty levels (``"Women//Blouse"``, ``"/Women"``, ``"Women/"``)
condition      Int64         1..5 or ``<NA>``; read from 1..5 or from words in a
                             :class:`~furima.catalog.ConditionScale` (Mercari's by default)
shipping       Int64         0/1 or ``<NA>``
price          float64       finite and > 0, or NaN (an error too with ``require_price``)
categorical    string        any text, or ``<NA>``
numeric        float64       any finite number (negative too: pricing decides), or NaN
=============  ============  ===========================================================

Text must be valid UTF-8 and loses surrounding whitespace; empty optional text is ``<NA>``.
Which attributes are numeric is declared (``ListingSchema(numeric=...)``, from a mapping) or,
when not declared, read from the frame: float columns are numeric, others are text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from furima.catalog import _encoding
from furima.catalog._columns import (
    CANONICAL_DTYPES,
    INTEGER_RANGES,
    LISTING_COLUMNS,
    NO_DESCRIPTION,
    TEXT_DTYPE,
    attribute_columns,
    categorical_attribute_columns,
    has_surrogates,
    numeric_attribute_columns,
)
from furima.catalog._conditions import MERCARI_CONDITIONS, ConditionScale
from furima.catalog._small_frames import SMALL_ROWS, small_frame
from furima.catalog._typed_attributes import as_number, condition_column, numeric_column
from furima.catalog._typed_attributes import shown as shown
from furima.exceptions import SchemaError, ValidationError

__all__ = [
    "LISTING_COLUMNS",
    "ListingSchema",
    "Problem",
    "attribute_columns",
    "categorical_attribute_columns",
    "numeric_attribute_columns",
    "validation_error",
]

_SHOWN_PROBLEMS = 5
_as_number = as_number  # the name the interaction readers import


class Problem(NamedTuple):
    """One broken rule: 1-based data row, column name and a readable reason."""

    row: int
    column: str
    reason: str


def validation_error(
    problems: list[Problem],
    n_rows: int,
    *,
    file: str | None = None,
    hint: str,
    broken: str = "break the listing schema",
) -> ValidationError:
    """A ValidationError that lists the first few problems, then says how to fix them.

    ``broken`` says what the bad rows fail, after "N of M rows" (events: "are not valid
    events").
    """
    n_bad = len({problem.row for problem in problems})
    lines = [
        f"  row {p.row}, column {p.column!r}: {p.reason}"
        if p.column
        else f"  row {p.row}: {p.reason}"
        for p in problems[:_SHOWN_PROBLEMS]
    ]
    if len(problems) > _SHOWN_PROBLEMS:
        lines.append(f"  ... and {len(problems) - _SHOWN_PROBLEMS} more problems")
    message = f"{n_bad} of {n_rows} rows {broken}:\n" + "\n".join(lines)
    return ValidationError(
        f"{message}\n{hint}",
        problems=[(p.row, p.column, p.reason) for p in problems],
        file=file,
    )


class _Found:
    """Collects problems column by column, as masks, and sorts them once at the end."""

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._columns: list[str] = []
        self._reasons: list[list[str]] = []

    def add(self, mask: np.ndarray, column: str, reason: Callable[[int], str]) -> None:
        """Record ``reason(position)`` for every position where ``mask`` is true."""
        positions = np.flatnonzero(mask)
        if positions.size:
            self._rows.append(positions)
            self._columns.append(column)
            self._reasons.append([reason(int(pos)) for pos in positions])

    def problems(self) -> list[Problem]:
        """All problems, by row and then by column order."""
        if not self._rows:
            return []
        rows = np.concatenate(self._rows)
        order_of = np.concatenate(
            [np.full(len(r), i) for i, r in enumerate(self._rows)],
        )
        reasons = [reason for part in self._reasons for reason in part]
        columns = [self._columns[i] for i in order_of]
        order = np.lexsort((order_of, rows))
        return [Problem(int(rows[i]) + 1, columns[i], reasons[i]) for i in order]


@dataclass(frozen=True)
class ListingSchema:
    """Validator of listings frames.

    Args:
        require_price: Missing prices are errors too (training data needs a price).
        numeric: The numeric attribute columns; every other attribute is text (declared
            columns the frame lacks are not added). ``None`` (the default) reads it from the
            frame: float columns are numeric, so a conformed frame conforms to itself.
        conditions: The words accepted for ``condition`` besides the levels 1..5.

    Rows in problems are 1-based positions in the frame; for a frame read from a file they are
    the file's data rows (header excluded).
    """

    require_price: bool = False
    numeric: tuple[str, ...] | None = None
    conditions: ConditionScale = MERCARI_CONDITIONS

    def validate(self, df: pd.DataFrame) -> list[Problem]:
        """Every broken rule in ``df`` as ``(row, column, reason)``; empty when valid."""
        return self.conform(df)[1]

    @staticmethod
    def is_conformed(df: pd.DataFrame) -> bool:
        """Whether ``df`` already has every canonical column in its canonical dtype with no
        empty name, as :meth:`conform`, ``read_listings`` and the store return it; callers on
        a hot path may then skip :meth:`conform`."""
        if any(str(df.dtypes.get(c)) != d for c, d in CANONICAL_DTYPES.items()):
            return False
        names = df["name"]
        return bool(names.notna().all() and (names.str.len() > 0).all())

    def conform(
        self, df: pd.DataFrame, *, check_encoding: bool = True
    ) -> tuple[pd.DataFrame, list[Problem]]:
        """Coerce ``df`` to the canonical dtypes and check every rule.

        Missing optional columns are added empty; a ``listing_id`` column is kept only when
        ``df`` has one. Cells that break a rule become missing in the returned frame.

        Raises:
            SchemaError: ``df`` has no ``name`` column.
        """
        if "name" not in df.columns:
            raise SchemaError(
                f"listings need a 'name' column; got columns {[str(c) for c in df.columns]}."
            )
        df = df.rename(columns=str)
        numeric = self.numeric_columns(df)
        if len(df) <= SMALL_ROWS:
            small = small_frame(df, self.require_price, numeric)
            if small is not None:
                return small, []
        found = _Found()
        out: dict[str, pd.Series] = {}
        for column in (*LISTING_COLUMNS, *attribute_columns(df)):
            if column == "listing_id" and column not in df.columns:
                continue
            raw = df[column] if column in df.columns else _empty(df.index)
            if column in numeric:
                out[column] = numeric_column(column, raw, found)
            else:
                out[column] = self._column(column, raw, found, check_encoding)
        return pd.DataFrame(out, index=df.index), found.problems()

    def numeric_columns(self, df: pd.DataFrame) -> frozenset[str]:
        """The attribute columns of ``df`` this schema reads as numbers."""
        if self.numeric is None:
            return frozenset(numeric_attribute_columns(df))
        return frozenset(attribute_columns(df)) & frozenset(self.numeric)

    def _column(
        self, column: str, raw: pd.Series, found: _Found, check_encoding: bool
    ) -> pd.Series:
        if column == "condition":
            return condition_column(raw, found, self.conditions)
        if column in INTEGER_RANGES:
            return _integer_column(column, raw, found)
        if column == "price":
            return _price_column(raw, found, self.require_price)
        text, flagged = _text_column(column, raw, found, check_encoding)
        return _TEXT_RULES.get(column, _optional_text)(column, text, found, flagged)


def _empty(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype=TEXT_DTYPE)


# -- text -------------------------------------------------------------------------------------


def _text_column(
    column: str, raw: pd.Series, found: _Found, check_encoding: bool
) -> tuple[pd.Series, np.ndarray]:
    """``raw`` as stripped text, and a mask of cells already reported (wrong type, bad bytes)."""
    text, flagged = _as_text(column, raw, found)
    if check_encoding:
        bad = text.str.contains(_encoding.UNDECODABLE_PATTERN, regex=True).fillna(False)
        mask = bad.to_numpy(dtype=bool)
        found.add(
            mask,
            column,
            lambda i: (
                f"{column} is not valid UTF-8 (undecodable bytes "
                f"{_encoding.undecodable_bytes(str(text.iloc[i]))}); re-save the file as UTF-8"
            ),
        )
        text = text.mask(bad)
        flagged = flagged | mask
    return text.str.strip(), flagged


def _as_text(column: str, raw: pd.Series, found: _Found) -> tuple[pd.Series, np.ndarray]:
    fine = np.zeros(len(raw), dtype=bool)
    if pd.api.types.is_float_dtype(raw.dtype) and _all_integral(raw):
        return raw.astype("Int64").astype(TEXT_DTYPE), fine
    if raw.dtype != object:
        return raw.astype(TEXT_DTYPE), fine
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        try:
            return raw.astype(TEXT_DTYPE), fine
        except UnicodeEncodeError:
            pass
    values = raw.map(_python_text, na_action="ignore")
    wrong = values.map(lambda v: v is _WRONG_TYPE).to_numpy(dtype=bool)
    found.add(
        wrong,
        column,
        lambda i: f"{column} must be text, got {type(raw.iloc[i]).__name__}",
    )
    return values.mask(wrong).astype(TEXT_DTYPE), wrong


_WRONG_TYPE = object()


def _python_text(value: object) -> object:
    """One object cell as text: str (surrogates marked), bytes decoded, numbers printed."""
    if isinstance(value, str):
        return _encoding.fix_surrogates(value) if has_surrogates(value) else value
    if isinstance(value, bytes):
        return _encoding.decode(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return str(value)
    return _WRONG_TYPE


def _all_integral(raw: pd.Series) -> bool:
    values = raw.dropna().to_numpy(dtype=float)
    return bool(np.all(np.isfinite(values) & (values == np.round(values))))


def _optional_text(column: str, text: pd.Series, found: _Found, flagged: np.ndarray) -> pd.Series:
    return text.mask(text == "")


def _listing_id(column: str, text: pd.Series, found: _Found, flagged: np.ndarray) -> pd.Series:
    text = _optional_text(column, text, found, flagged)
    found.add(text.isna().to_numpy() & ~flagged, column, lambda i: "listing_id is missing")
    duplicated = (text.duplicated(keep="first") & text.notna()).to_numpy()
    if duplicated.any():
        first = pd.Series(np.arange(len(text)), index=text.index).groupby(text).transform("min")
        found.add(
            duplicated,
            column,
            lambda i: (
                f"duplicate listing_id {shown(text.iloc[i])} "
                f"(first in row {int(first.iloc[i]) + 1}); ids must be unique"
            ),
        )
        text = text.mask(duplicated)
    return text


def _name(column: str, text: pd.Series, found: _Found, flagged: np.ndarray) -> pd.Series:
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
    found.add(missing & ~flagged, column, lambda i: "name is required but empty or missing")
    return text.mask(missing)


def _description(column: str, text: pd.Series, found: _Found, flagged: np.ndarray) -> pd.Series:
    return text.mask(text == NO_DESCRIPTION, "").fillna("")


def _category(column: str, text: pd.Series, found: _Found, flagged: np.ndarray) -> pd.Series:
    text = _optional_text(column, text, found, flagged)
    bad = text.str.startswith("/") | text.str.endswith("/") | text.str.contains("//", regex=False)
    mask = bad.fillna(False).to_numpy(dtype=bool)
    found.add(
        mask,
        column,
        lambda i: (
            f"category {shown(text.iloc[i])} has an empty level; write levels joined by "
            "single '/', e.g. 'Women/Tops & Blouses/Blouse'"
        ),
    )
    return text.mask(mask)


_TextRule = Callable[[str, pd.Series, _Found, np.ndarray], pd.Series]
_TEXT_RULES: dict[str, _TextRule] = {
    "listing_id": _listing_id,
    "name": _name,
    "description": _description,
    "category": _category,
}


# -- numbers ----------------------------------------------------------------------------------


def _integer_column(column: str, raw: pd.Series, found: _Found) -> pd.Series:
    low, high = INTEGER_RANGES[column]
    values, not_number = _as_number(raw)
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnan(values) & ~(
            (values == np.round(values)) & (values >= low) & (values <= high)
        )
    bad = not_number | out_of_range
    found.add(
        bad,
        column,
        lambda i: f"{column} must be an integer {low}..{high}, got {shown(raw.iloc[i])}",
    )
    values[bad] = np.nan
    return pd.Series(values, index=raw.index).astype("Int64")


def _price_column(raw: pd.Series, found: _Found, require_price: bool) -> pd.Series:
    values, not_number = _as_number(raw)
    with np.errstate(invalid="ignore"):
        not_positive = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
    bad = not_number | not_positive
    found.add(
        bad, "price", lambda i: f"price must be a finite number > 0, got {shown(raw.iloc[i])}"
    )
    values[bad] = np.nan
    if require_price:
        found.add(
            np.isnan(values) & ~bad,
            "price",
            lambda i: "price is missing; prices are required here (require_price)",
        )
    return pd.Series(values, index=raw.index, dtype="float64")
