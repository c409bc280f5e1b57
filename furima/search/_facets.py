"""Filters and facets of buyer search over the catalog's own fields.

:class:`FacetTable` holds the filterable fields, one row per listing: text fields as integer
codes into a vocabulary (category, colour, condition, status, any attribute), numbers as
float64 (price). Filters use the spec of :class:`~furima.index.VectorIndex`, so the same
mapping filters the lexical and the vector side alike::

    {"category": "Kurtas"}                  # equal
    {"colour": ["Red", "Maroon"]}           # any of
    {"price": (500, 2000)}                  # 500 <= price <= 2000; None leaves a side open
    {"price": {"min": 500}}                 # the same, as a mapping
    {"status": "sold"}                      # sold listings (left out unless asked for)

Facets count the values of a field over every matching listing, and prices in buckets whose
edges come from the catalog's price quantiles (rounded to two significant digits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import FilterError

__all__ = ["ON_SALE", "PRICE", "STATUS", "STATUSES", "FacetTable"]

PRICE, STATUS, ON_SALE = "price", "status", "on_sale"
STATUSES = (ON_SALE, "sold")
_BUCKETS = 5
_TOP_VALUES = 20
_SEQUENCES = (list, tuple, set, frozenset, np.ndarray)


class FacetTable:
    """Filterable fields of the catalog, rows aligned with the search's listings.

    Args:
        texts: Field name -> one value per listing (None/NaN/blank: missing).
        numbers: Field name -> one number per listing (NaN: missing).
    """

    def __init__(
        self,
        texts: Mapping[str, Sequence[Any] | np.ndarray],
        numbers: Mapping[str, Sequence[Any] | np.ndarray] | None = None,
    ) -> None:
        self.codes: dict[str, np.ndarray] = {}
        self.vocab: dict[str, np.ndarray] = {}
        for name, values in texts.items():
            self.codes[name], self.vocab[name] = _encode(values)
        self.numbers = {
            name: pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
            for name, values in (numbers or {}).items()
        }
        self.price_edges = _price_edges(self.numbers[PRICE]) if PRICE in self.numbers else None

    @property
    def fields(self) -> list[str]:
        """Every field a filter or a facet may name."""
        return sorted([*self.codes, *self.numbers])

    def __len__(self) -> int:
        columns = [*self.codes.values(), *self.numbers.values()]
        return len(columns[0]) if columns else 0

    # -- filters -------------------------------------------------------------------------

    def check(self, filters: Mapping[str, Any] | None) -> dict[str, Any]:
        """``filters`` checked, with ``status: on_sale`` added when the catalog has sold
        listings and the filters do not ask for a status (sold listings stay out unless
        asked for)."""
        if filters is None:
            filters = {}
        if not isinstance(filters, Mapping):
            raise FilterError(
                "filters must be a mapping of field -> condition, but got "
                f"{type(filters).__name__}."
            )
        for name, condition in filters.items():
            self._condition(name, condition)  # raises on unknown fields and bad conditions
        if STATUS not in filters and self._any_sold():
            return {**filters, STATUS: ON_SALE}
        return dict(filters)

    def _any_sold(self) -> bool:
        return STATUS in self.vocab and "sold" in set(self.vocab[STATUS].tolist())

    def mask(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """Rows that satisfy every condition of checked ``filters`` (None: no condition)."""
        if not filters:
            return None
        keep = np.ones(len(self), bool)
        for name, condition in filters.items():
            keep &= self._condition(name, condition)
        return keep

    def _condition(self, name: str, condition: Any) -> np.ndarray:
        if name in self.codes:
            return np.isin(self.codes[name], self._wanted_codes(name, condition))
        if name in self.numbers:
            low, high = _bounds(name, condition)
            values = self.numbers[name]
            return (values >= low) & (values <= high)
        raise FilterError(
            f"cannot filter on unknown field {name!r}; known fields are {', '.join(self.fields)}."
        )

    def _wanted_codes(self, name: str, condition: Any) -> np.ndarray:
        wanted = [condition] if isinstance(condition, str) else condition
        if not isinstance(wanted, _SEQUENCES) or not all(isinstance(v, str) for v in wanted):
            raise FilterError(
                f"filter on {name!r} must be a string or a list of strings, but got {condition!r}."
            )
        if name == STATUS and not set(wanted) <= set(STATUSES):
            raise FilterError(f"status must be one of {STATUSES}, but the filter has {wanted!r}.")
        return np.flatnonzero(np.isin(self.vocab[name], list(wanted))).astype(np.int32)

    # -- facets --------------------------------------------------------------------------

    def check_facets(self, facets: Sequence[str], *, optional: Sequence[str]) -> list[str]:
        """The facets this catalog can count; names in ``optional`` that it lacks are
        skipped, other unknown names raise :class:`FilterError`."""
        if isinstance(facets, str):
            raise FilterError("facets must be a list of field names; wrap one name in a list.")
        unknown = [f for f in facets if f not in self.fields and f not in optional]
        if unknown:
            raise FilterError(
                f"cannot count facets of unknown field(s) {unknown}; known fields are "
                f"{', '.join(self.fields)}."
            )
        return [f for f in facets if f in self.fields]

    def counts(self, rows: np.ndarray, facets: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Per facet: ``{"value", "count"}`` over ``rows`` (most common first), or price
        buckets ``{"value", "min", "max", "count"}``."""
        out: dict[str, list[dict[str, Any]]] = {}
        for name in facets:
            if name in self.codes:
                out[name] = self._value_counts(name, rows)
            elif name == PRICE and self.price_edges is not None:
                out[name] = self._price_counts(rows)
        return out

    def _value_counts(self, name: str, rows: np.ndarray) -> list[dict[str, Any]]:
        codes = self.codes[name][rows]
        counts = np.bincount(codes[codes >= 0], minlength=len(self.vocab[name]))
        order = np.lexsort((np.arange(len(counts)), -counts))[:_TOP_VALUES]
        vocab = self.vocab[name]
        return [{"value": str(vocab[c]), "count": int(counts[c])} for c in order if counts[c]]

    def _price_counts(self, rows: np.ndarray) -> list[dict[str, Any]]:
        edges = self.price_edges
        assert edges is not None
        prices = self.numbers[PRICE][rows]
        prices = prices[~np.isnan(prices)]
        bucket = np.searchsorted(edges, prices, side="right")
        counts = np.bincount(bucket, minlength=len(edges) + 1)
        bounds = [None, *edges.tolist(), None]
        return [
            {"value": _bucket_label(low, high), "min": low, "max": high, "count": int(count)}
            for low, high, count in zip(bounds[:-1], bounds[1:], counts, strict=True)
        ]

    # -- persistence ---------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no pickles): codes, vocabularies and numbers."""
        arrays = {f"codes/{n}": c for n, c in self.codes.items()}
        arrays.update({f"vocab/{n}": v.astype(np.str_) for n, v in self.vocab.items()})
        arrays.update({f"numbers/{n}": v for n, v in self.numbers.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> FacetTable:
        table = cls({})
        for key, values in arrays.items():
            kind, _, name = key.partition("/")
            if kind == "codes":
                table.codes[name] = np.asarray(values, np.int32)
            elif kind == "vocab":
                table.vocab[name] = np.asarray(values, dtype=object)
            elif kind == "numbers":
                table.numbers[name] = np.asarray(values, np.float64)
        table.price_edges = _price_edges(table.numbers[PRICE]) if PRICE in table.numbers else None
        return table

    def values(self, name: str, rows: np.ndarray) -> list[Any]:
        """The field's values at ``rows`` (None where missing)."""
        if name in self.numbers:
            return [None if np.isnan(v) else float(v) for v in self.numbers[name][rows]]
        codes = self.codes[name][rows]
        vocab = self.vocab[name]
        return [str(vocab[c]) if c >= 0 else None for c in codes]


def _encode(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    text = pd.Series(values, dtype="string").str.strip()
    text = text.where(text != "")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return codes.astype(np.int32), np.asarray(uniques, dtype=object)


def _bounds(name: str, condition: Any) -> tuple[float, float]:
    if isinstance(condition, Mapping):
        extra = set(condition) - {"min", "max"}
        if extra:
            raise FilterError(f"range filter on {name!r} takes 'min' and 'max', not {extra}.")
        condition = (condition.get("min"), condition.get("max"))
    if isinstance(condition, int | float) and not isinstance(condition, bool):
        condition = (condition, condition)
    if not isinstance(condition, list | tuple) or len(condition) != 2:
        raise FilterError(
            f"filter on {name!r} must be a number, a (min, max) pair or "
            f"{{'min': .., 'max': ..}}, but got {condition!r}."
        )
    try:
        low = -np.inf if condition[0] is None else float(condition[0])
        high = np.inf if condition[1] is None else float(condition[1])
    except (TypeError, ValueError) as error:
        raise FilterError(f"filter on {name!r} needs numbers, but got {condition!r}.") from error
    if low > high:
        raise FilterError(f"filter on {name!r} needs min <= max, but got ({low}, {high}).")
    return low, high


def _price_edges(prices: np.ndarray) -> np.ndarray | None:
    """Bucket edges at the price quintiles, rounded to two significant digits."""
    known = prices[~np.isnan(prices)]
    if len(known) == 0:
        return None
    quantiles = np.quantile(known, np.linspace(0, 1, _BUCKETS + 1)[1:-1])
    edges = np.unique([_round_2(q) for q in quantiles if q > 0])
    return edges.astype(np.float64) if len(edges) else None


def _round_2(value: float) -> float:
    digits = int(np.floor(np.log10(value))) - 1
    return float(round(value, -digits))


def _bucket_label(low: float | None, high: float | None) -> str:
    if low is None:
        return f"under {high:g}"
    if high is None:
        return f"{low:g} and over"
    return f"{low:g}-{high:g}"
