"""Listing keys and their smoothed target encodings.

A listing's *keys* are categorical strings that pin down comparable items: its brand, the
leading words of its name (brand-like when the brand field is empty), its product type (the
last words of the name), its category and attributes, and crosses of these. The target encoder
turns each key into the smoothed mean target of the training listings sharing it, plus how
many there were, which lets a tree model learn interactions such as brand x type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import NotFittedError
from furima.features._listing_text import as_text, listing_tokens

__all__ = ["TargetEncoder", "listing_keys"]

_NOT_ATTRIBUTES = {"listing_id", "name", "description", "price", "brand", "category"}


def _join(tokens: list[str]) -> str:
    return "_".join(tokens)


Keys = Mapping[str, Sequence[str] | np.ndarray]
"""Key name -> one string per listing ("" where unknown); a DataFrame of strings is one too."""


def listing_keys(listings: pd.DataFrame) -> dict[str, list[str]]:
    """Categorical keys of each listing: key name -> one string per listing ("" if unknown).

    Plain lists rather than a frame: building a DataFrame costs more than the keys themselves
    when one listing is priced at a time."""
    tokens = listing_tokens(listings["name"])
    keys: dict[str, list[str]] = {
        "brand": _lower(listings["brand"]),
        "lead1": [_join(t[:1]) for t in tokens],
        "lead2": [_join(t[:2]) for t in tokens],
        "type1": [_join(t[-1:]) for t in tokens],
        "type2": [_join(t[-2:]) for t in tokens],
        "name": [_join(t) for t in tokens],
        "name_no_digits": [
            _join([w for w in t if not any(c.isdigit() for c in w)]) for t in tokens
        ],
    }
    if "category" in listings and listings["category"].notna().any():
        keys["category"] = _lower(listings["category"])
        _add_cross(keys, "category", "type2")
    for pair in (("brand", "type1"), ("brand", "type2"), ("lead1", "type1"), ("lead2", "type2")):
        _add_cross(keys, *pair)
    for column in [c for c in listings.columns if c not in _NOT_ATTRIBUTES]:
        keys[column] = _lower(listings[column])
        _add_cross(keys, column, "type2")
    return keys


def _add_cross(keys: dict[str, list[str]], left: str, right: str) -> None:
    keys[f"{left}|{right}"] = [f"{a}|{b}" for a, b in zip(keys[left], keys[right], strict=True)]


def _lower(column: pd.Series) -> list[str]:
    return [v.lower() for v in as_text(column)]


def _positions(values: list[str]) -> dict[str, int]:
    return {value: i for i, value in enumerate(values)}


class TargetEncoder:
    """Smoothed mean target per key value, with the count of training rows behind it.

    ``encoded = (sum + smoothing * prior) / (count + smoothing)``; unseen values get the
    prior. Output columns: for each key, the encoding and ``log1p(count)``.

    Args:
        smoothing: Pseudo-count pulling rare values towards the global mean.
    """

    def __init__(self, smoothing: float = 5.0) -> None:
        self.smoothing = smoothing

    def fit(self, keys: Keys, y: np.ndarray) -> TargetEncoder:
        self.prior_ = float(np.mean(y))
        self.columns_ = [str(column) for column in keys]
        self.tables_: dict[str, tuple[dict[str, int], np.ndarray, np.ndarray]] = {}
        target = pd.Series(np.asarray(y, dtype=np.float64))
        for column in self.columns_:
            stats = target.groupby(np.asarray(keys[column], dtype=object)).agg(["sum", "count"])
            self.tables_[column] = (
                _positions(stats.index.astype(str).tolist()),
                stats["sum"].to_numpy(np.float64),
                stats["count"].to_numpy(np.float64),
            )
        return self

    def transform(self, keys: Keys) -> np.ndarray:
        if not hasattr(self, "tables_"):
            raise NotFittedError("This TargetEncoder is not fitted yet; call fit first.")
        first = next(iter(keys), None)
        rows = 0 if first is None else len(keys[first])
        out = np.empty((rows, 2 * len(self.columns_)), dtype=np.float64)
        for j, column in enumerate(self.columns_):
            index, sums, counts = self.tables_[column]
            values = list(keys[column]) if column in keys else [""] * rows
            position = np.fromiter((index.get(v, -1) for v in values), np.int64, len(values))
            found = position >= 0
            total = np.where(found, sums[position], 0.0)
            count = np.where(found, counts[position], 0.0)
            out[:, 2 * j] = (total + self.smoothing * self.prior_) / (count + self.smoothing)
            out[:, 2 * j + 1] = np.log1p(count)
        return out

    @property
    def feature_names(self) -> list[str]:
        return [f"{c}:{kind}" for c in self.columns_ for kind in ("mean", "log_count")]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"smoothing": self.smoothing, "prior": self.prior_, "columns": self.columns_}
        arrays: dict[str, np.ndarray] = {}
        for column, (index, sums, counts) in self.tables_.items():
            arrays[f"{column}.values"] = np.array(list(index), dtype=str)
            arrays[f"{column}.sums"] = sums
            arrays[f"{column}.counts"] = counts
        return meta, arrays

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> TargetEncoder:
        self = cls(smoothing=float(meta["smoothing"]))
        self.prior_ = float(meta["prior"])
        self.columns_ = list(meta["columns"])
        self.tables_ = {
            c: (
                _positions(arrays[f"{c}.values"].tolist()),
                arrays[f"{c}.sums"],
                arrays[f"{c}.counts"],
            )
            for c in self.columns_
        }
        return self
