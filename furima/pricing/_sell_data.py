"""Checks and reshaping of listings for the chance-to-sell model (:mod:`._sell_chance`).

Every check runs before any compute and raises a :mod:`furima.exceptions` error that names the
column, the first bad row, and how to fix it. :func:`listing_days` cuts listings into the days
they were watched, the rows of the discrete-time survival model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, EmptyDataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "check_columns",
    "encode",
    "feature_schema",
    "listing_days",
    "log_ratio",
    "one_row",
    "outcome",
    "prices",
    "require",
    "span",
]


def require(frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise a SchemaError naming every one of ``columns`` that ``frame`` lacks."""
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"Missing column(s) {missing}; the frame has {list(frame.columns)}. Rename them, or "
            "pass the right names (price=, reference=, sold=, days=, features=)."
        )


def check_columns(frame: pd.DataFrame, columns: dict[str, str], features: list[str]) -> list[str]:
    """Check the training frame's shape: the role ``columns`` and ``features`` present and
    distinct, no feature that is the price or the outcome, and at least one row."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"fit() takes a pandas DataFrame, but got {type(frame).__name__}.")
    require(frame, list(columns.values()) + features)
    if len(set(columns.values())) != len(columns):
        raise SchemaError(
            f"price, reference, sold and days must be four columns, but got {columns}."
        )
    if len(set(features)) != len(features):
        raise SchemaError(f"`features` names a column twice: {features}.")
    clash = [f for f in features if f in (columns["price"], columns["sold"], columns["days"])]
    if clash:
        raise SchemaError(
            f"{clash} cannot be features: the asking price enters only through its ratio to the "
            "reference (so the chance never rises with it), and the outcome cannot predict itself."
        )
    if frame.empty:
        raise EmptyDataError("The listings to fit on hold no rows.")
    return features


def log_ratio(frame: pd.DataFrame, price_name: str, reference: str, asking: Any) -> np.ndarray:
    """``log(asking / reference)`` per row, once both are checked finite and above 0."""
    columns = {price_name: asking, reference: frame[reference]}
    logs = {}
    for name, column in columns.items():
        values = numbers(column, name)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{int(bad.sum())} price(s) are not finite numbers above 0 (the first, row "
                f"{row + 1}, is {shown(values[row])!r}). Drop or fix those listings.",
                column=name,
            )
        logs[name] = np.log(values)
    ratio: np.ndarray = logs[price_name] - logs[reference]
    return ratio


def numbers(column: Any, name: str) -> np.ndarray:
    """A column as float64 (missing as NaN); text that is not a number is a DataError."""
    import pandas as pd

    parsed = pd.to_numeric(pd.Series(np.asarray(column, dtype=object)), errors="coerce")
    if isinstance(column, pd.Series) and not pd.api.types.is_numeric_dtype(column.dtype):
        text = column.notna() & parsed.isna().to_numpy()
        if text.any():
            raise DataError(
                f"Column holds text such as {column[text].iloc[0]!r}, not numbers.", column=name
            )
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


def outcome(frame: pd.DataFrame, sold: str, days: str) -> tuple[np.ndarray, np.ndarray]:
    """The checked sold flags (bool) and days (float) of the training listings."""
    flags = numbers(frame[sold], sold)
    bad = ~np.isin(flags, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Sold flags must be 0 or 1 (or True/False), but row {row + 1} holds "
            f"{shown(frame[sold].iloc[row])!r}.",
            column=sold,
        )
    watched = numbers(frame[days], days)
    bad = ~(np.isfinite(watched) & (watched >= 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Days must be finite and not negative (days to the sale, or days watched if "
            f"unsold), but row {row + 1} holds {shown(frame[days].iloc[row])!r}.",
            column=days,
        )
    return flags.astype(bool), watched


def listing_days(
    sold: np.ndarray, days: np.ndarray, max_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(listing row, day number, sale on that day) for every day each listing was watched."""
    sale_day = np.maximum(np.ceil(days), 1)
    sold_in_range = sold & (sale_day <= max_days)
    span = np.where(sold_in_range, sale_day, np.minimum(np.floor(days), max_days)).astype(np.int64)
    rows = np.repeat(np.arange(len(days)), span)
    starts = np.repeat(np.cumsum(span) - span, span)
    day = np.arange(len(rows)) - starts + 1
    event = sold_in_range[rows] & (day == span[rows])
    return rows, day.astype(np.float64), event.astype(np.float64)


def feature_schema(column: pd.Series) -> dict[str, Any]:
    """How a feature column is read: numbers, or categories (text, bool) with their values."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        values = column.dropna().astype(str).unique().tolist()
        return {"kind": "category", "categories": sorted(values)}
    return {"kind": "number"}


def encode(column: pd.Series, feature: Mapping[str, Any]) -> np.ndarray:
    """A feature as floats: numbers as they are, categories as codes; unknown or missing NaN."""
    import pandas as pd

    if feature["kind"] == "number":
        return numbers(column, str(feature["name"]))
    known = pd.Index(feature["categories"], dtype="string")
    codes = known.get_indexer(column.astype("string"))
    return np.where(codes >= 0, codes, np.nan).astype(np.float64)


def prices(prices: Any, n: int | None) -> np.ndarray:
    """Asking prices as a float64 array of length ``n`` (one price is repeated), checked."""
    try:
        values = np.atleast_1d(np.asarray(prices, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise DataError(f"Prices must be numbers, but got {prices!r}.") from error
    if values.ndim != 1 or (n is not None and len(values) not in (1, n)):
        raise DataError(f"Give one price, or one per listing ({n}), but got shape {values.shape}.")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise DataError(f"Prices must be finite numbers above 0, but got {values.tolist()[:5]}.")
    return np.broadcast_to(values, (n,)).copy() if n is not None else values


def one_row(listing: Any) -> pd.DataFrame:
    """One listing, given as a mapping, a Series or a one-row frame, as a one-row frame."""
    import pandas as pd

    if isinstance(listing, pd.DataFrame):
        if len(listing) != 1:
            raise DataError(f"Give one listing, but the frame has {len(listing)} rows.")
        return listing.reset_index(drop=True)
    if isinstance(listing, (pd.Series, Mapping)):
        return pd.DataFrame([dict(listing)])
    raise DataError(
        f"A listing is a mapping, a Series or a one-row frame, not {type(listing).__name__}."
    )


def shown(value: Any) -> Any:
    """A value as a message shows it: numpy scalars as plain Python ones."""
    return value.item() if isinstance(value, np.generic) else value


def span(days: int) -> str:
    """A horizon in words: "a day", "a week", "2 weeks", "10 days"."""
    if days == 1:
        return "a day"
    if days % 7 == 0:
        return "a week" if days == 7 else f"{days // 7} weeks"
    return f"{days} days"
