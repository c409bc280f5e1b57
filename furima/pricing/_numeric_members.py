"""Level-1 members that read numeric attributes, such as an MSRP or a weight.

Every numeric attribute is scaled as ``sign(x) * log1p(|x|)``: money and most measures are
skewed and positive, where this is their log, and the odd signed column keeps its order. A
column is *money* when its name says so (``msrp``, ``retail_price``, ``shipping_cost``...,
see :func:`is_money_column`): money may not be negative, so a negative value there is refused
with an error naming the column, at fit and at predict, rather than read as a discount.

Missing values are never replaced silently: :class:`NumericAttributes` gives the blend each
column's scaled value with the training median in the gaps *and* a missing indicator, so the
blend knows which rows were filled. The members that learn the price's offset from a reference
price live in :mod:`furima.pricing._reference_members`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError
from furima.pricing._members import PriceMember

__all__ = [
    "NumericAttributes",
    "check_money",
    "is_money_column",
    "median_or_zero",
    "scaled",
    "scaled_columns",
]

_MONEY_WORDS = frozenset(
    {
        "price",
        "prices",
        "msrp",
        "mrp",
        "rrp",
        "srp",
        "retail",
        "cost",
        "costs",
        "fee",
        "fees",
        "amount",
        "paid",
        "usd",
        "eur",
        "gbp",
        "jpy",
        "yen",
        "inr",
        "dollars",
    }
)
_WORD_BREAK = re.compile(r"[^0-9a-zA-Z]+|(?<=[a-z0-9])(?=[A-Z])")


def is_money_column(name: str) -> bool:
    """Whether a numeric attribute holds money, by its name's words (``retail_price``,
    ``MSRP``, ``shippingCost``, ``price_usd``...)."""
    return any(word.lower() in _MONEY_WORDS for word in _WORD_BREAK.split(name) if word)


def scaled(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: the log of money and sizes, order kept for signed values."""
    values = np.asarray(values, dtype=np.float64)
    return np.asarray(np.sign(values) * np.log1p(np.abs(values)), dtype=np.float64)


def check_money(listings: pd.DataFrame, columns: Iterable[str], *, action: str) -> None:
    """Refuse infinite values in numeric columns, and negative ones in money columns, naming
    the column and rows (a frame that skipped the schema's checks may hold either).

    Raises:
        DataError: A numeric column holds an infinite number, or a money one a negative.
    """
    for column in columns:
        if column not in listings:
            continue
        money = is_money_column(column)
        values = pd.to_numeric(listings[column], errors="coerce").to_numpy(np.float64)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(np.isinf(values) | ((values < 0) if money else False))
        if bad.size:
            rows = ", ".join(str(int(i) + 1) for i in bad[:5])
            what = "money (a price cannot be negative or infinite)" if money else "a number"
            raise DataError(
                f"{column!r} is {what} but {bad.size} listing(s) have values such as "
                f"{float(values[bad[0]])} (rows {rows}); fix or leave those {column} values "
                f"empty before you {action}."
            )


class NumericAttributes(PriceMember):
    """The scaled numeric attributes themselves, for the blend: value and missing indicator.

    Nothing is learned from prices; ``encode(fit=True)`` remembers each column's training
    median (scaled), the neutral value put in the gaps, which the indicator flags.
    """

    kind = "numeric_attributes"

    def __init__(self, columns: Sequence[str] = ()) -> None:
        self.columns = list(columns)

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> np.ndarray:
        values = scaled_columns(listings, self.columns)
        if fit:
            self.fill_ = np.array([median_or_zero(values[:, j]) for j in range(len(self.columns))])
        return values

    def fit(self, representation: np.ndarray, y: np.ndarray, ids: np.ndarray) -> NumericAttributes:
        return self

    def predict(self, representation: np.ndarray) -> np.ndarray:
        missing = np.isnan(representation)
        filled = np.where(missing, self.fill_, representation)
        return np.hstack([filled, missing.astype(np.float64)])

    @property
    def feature_names(self) -> list[str]:
        return [f"num:{c}" for c in self.columns] + [f"num:{c}:missing" for c in self.columns]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"columns": self.columns}, {"fill": np.asarray(self.fill_, dtype=np.float64)}

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> NumericAttributes:
        self = cls(list(meta["columns"]))
        self.fill_ = np.asarray(arrays["fill"], dtype=np.float64)
        return self


def scaled_columns(listings: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The columns scaled, NaN where missing (or absent from ``listings``)."""
    out = np.full((len(listings), len(columns)), np.nan)
    for j, column in enumerate(columns):
        if column in listings:
            raw = pd.to_numeric(listings[column], errors="coerce")
            out[:, j] = scaled(raw.to_numpy(np.float64, na_value=np.nan))
    return out


def median_or_zero(values: np.ndarray) -> float:
    present = values[np.isfinite(values)]
    return float(np.median(present)) if present.size else 0.0
