"""Per-listing metadata as numpy columns aligned with index positions, and search filters.

Fields are declared up front: ``category`` (str), ``price`` (float) and ``status`` (``"on_sale"``
or ``"sold"``) always, plus any extra ``{"name": "str" | "float"}``. String fields are stored as
int32 codes into a vocabulary (-1: missing), numbers as float64 (NaN: missing). A missing value
never matches a filter.

Filter spec, one condition per field, all conditions must hold::

    {"category": "Shoes"}                    # equal
    {"category": ["Shoes", "Bags"]}          # any of
    {"price": (10, 50)}                      # 10 <= price <= 50; None leaves a side open
    {"price": {"min": 10}}                   # same, as a mapping with min and/or max
    {"price": 30.0}                          # equal
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import numpy as np

from furima.exceptions import DataError, FilterError, IndexConfigError
from furima.index._columns import Column

__all__ = ["DEFAULT_FIELDS", "STATUSES", "Metadata"]

DEFAULT_FIELDS: dict[str, str] = {"category": "str", "price": "float", "status": "str"}
STATUSES: tuple[str, ...] = ("on_sale", "sold")
_KINDS = ("str", "float")
_SEQUENCES = (list, tuple, set, frozenset, np.ndarray)


def declare(fields: Mapping[str, str] | None) -> dict[str, str]:
    """The default fields plus ``fields``, checked."""
    declared = dict(DEFAULT_FIELDS)
    for name, kind in (fields or {}).items():
        if kind not in _KINDS:
            raise IndexConfigError(
                f"metadata field {name!r} has kind {kind!r}; kinds are {_KINDS}."
            )
        if name in DEFAULT_FIELDS and DEFAULT_FIELDS[name] != kind:
            raise IndexConfigError(
                f"{name!r} is a built-in field of kind {DEFAULT_FIELDS[name]!r}, not {kind!r}."
            )
        declared[name] = kind
    return declared


class Metadata:
    """Columns of declared fields, one row per index position."""

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self.fields = declare(fields)
        self._columns = {
            name: Column(np.int32, -1) if kind == "str" else Column(np.float64, np.nan)
            for name, kind in self.fields.items()
        }
        self._vocab: dict[str, list[str]] = {n: [] for n, k in self.fields.items() if k == "str"}
        self._codes: dict[str, dict[str, int]] = {n: {} for n in self._vocab}

    def __len__(self) -> int:
        return len(next(iter(self._columns.values())))

    def parse(self, n: int, metadata: Any) -> dict[str, np.ndarray]:
        """Check and encode ``n`` rows of metadata, without adding them yet.

        ``metadata`` is columnar (field -> values), a DataFrame, one mapping per row, or None
        (all missing).
        """
        columns = self._columnar(n, metadata)
        return {name: self._parse(name, columns.get(name), n) for name in self.fields}

    def append(self, parsed: Mapping[str, np.ndarray]) -> None:
        """Add rows returned by :meth:`parse`."""
        for name, values in parsed.items():
            self._columns[name].append(values)

    def keep(self, mask: np.ndarray) -> None:
        for column in self._columns.values():
            column.keep(mask)

    def rows(
        self, positions: np.ndarray, names: Iterable[str] | None = None
    ) -> dict[str, list[Any]]:
        """Columnar values (None when missing) at ``positions``, fit to pass back to append;
        only the fields ``names`` when given."""
        out: dict[str, list[Any]] = {}
        for name in self.fields if names is None else names:
            if name not in self.fields:
                raise DataError(f"unknown metadata field {name!r}; fields are {list(self.fields)}.")
            kind = self.fields[name]
            values = self._columns[name].values[positions]
            if kind == "str":
                vocab = self._vocab[name]
                out[name] = [vocab[c] if c >= 0 else None for c in values.tolist()]
            else:
                out[name] = [None if np.isnan(v) else v for v in values.tolist()]
        return out

    def mask(self, filters: Mapping[str, Any]) -> np.ndarray:
        """Boolean mask over positions of the rows that satisfy every condition."""
        if not isinstance(filters, Mapping):
            raise FilterError(
                f"filters must be a mapping of field -> condition, but got "
                f"{type(filters).__name__}."
            )
        keep = np.ones(len(self), bool)
        for name, condition in filters.items():
            keep &= self._condition(name, condition)
        return keep

    def _condition(self, name: str, condition: Any) -> np.ndarray:
        if name not in self.fields:
            raise FilterError(
                f"cannot filter on unknown field {name!r}; known fields are "
                f"{', '.join(sorted(self.fields))}. Declare extra fields with "
                "fields={'name': 'str' | 'float'} when creating the index."
            )
        values = self._columns[name].values
        if self.fields[name] == "str":
            return np.isin(values, self._wanted_codes(name, condition))
        low, high = _bounds(name, condition)
        return (values >= low) & (values <= high)

    def _wanted_codes(self, name: str, condition: Any) -> np.ndarray:
        wanted = [condition] if isinstance(condition, str) else condition
        if not isinstance(wanted, _SEQUENCES) or not all(isinstance(v, str) for v in wanted):
            raise FilterError(
                f"filter on {name!r} must be a string or a list of strings, but got {condition!r}."
            )
        if name == "status" and not set(wanted) <= set(STATUSES):
            raise FilterError(f"status must be one of {STATUSES}, but the filter has {wanted!r}.")
        codes = self._codes[name]
        return np.array([codes[v] for v in wanted if v in codes], dtype=np.int32)

    def _columnar(self, n: int, metadata: Any) -> Mapping[str, Any]:
        if metadata is None:
            return {}
        if hasattr(metadata, "columns") and hasattr(metadata, "__getitem__"):  # a DataFrame
            metadata = {str(c): metadata[c].to_numpy() for c in metadata.columns}
        if not isinstance(metadata, Mapping):
            metadata = _rows_to_columns(metadata)
        unknown = sorted(set(metadata) - set(self.fields))
        if unknown:
            raise DataError(
                f"metadata has undeclared field(s) {unknown}; declared fields are "
                f"{sorted(self.fields)}. Declare them with fields={{'name': 'str' | 'float'}}."
            )
        for name, values in metadata.items():
            if len(values) != n:
                raise DataError(f"metadata field {name!r} has {len(values)} values for {n} ids.")
        return cast(Mapping[str, Any], metadata)

    def _parse(self, name: str, values: Any, n: int) -> np.ndarray:
        if values is None:
            return np.full(n, -1 if self.fields[name] == "str" else np.nan)
        if self.fields[name] == "float":
            return _floats(name, values)
        return self._encode(name, values)

    def _encode(self, name: str, values: Iterable[Any]) -> np.ndarray:
        codes, vocab = self._codes[name], self._vocab[name]
        out = []
        for value in values:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                out.append(-1)
                continue
            if name == "status" and value not in STATUSES:
                raise DataError(f"status must be one of {STATUSES} or None, but got {value!r}.")
            if str(value) not in codes:
                codes[str(value)] = len(vocab)
                vocab.append(str(value))
            out.append(codes[str(value)])
        return np.asarray(out, dtype=np.int32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Columns and vocabularies as plain arrays (no pickling needed to save them)."""
        arrays = {f"meta/{name}": column.values for name, column in self._columns.items()}
        arrays.update({f"vocab/{n}": np.asarray(v, dtype=np.str_) for n, v in self._vocab.items()})
        return arrays

    @classmethod
    def from_arrays(cls, fields: Mapping[str, str], arrays: Mapping[str, Any]) -> Metadata:
        metadata = cls(fields)
        for name in metadata.fields:
            column = metadata._columns[name]
            column.append(np.asarray(arrays[f"meta/{name}"], dtype=column.values.dtype))
        for name in metadata._vocab:
            words = [str(w) for w in arrays[f"vocab/{name}"].tolist()]
            metadata._vocab[name] = words
            metadata._codes[name] = {w: i for i, w in enumerate(words)}
        return metadata


def _rows_to_columns(rows: Any) -> dict[str, list[Any]]:
    rows = list(rows)
    if not all(isinstance(row, Mapping) for row in rows):
        raise DataError(
            "metadata must be a mapping of field -> values, a DataFrame, or one mapping per id."
        )
    names = {name for row in rows for name in row}
    return {name: [row.get(name) for row in rows] for name in names}


def _floats(name: str, values: Any) -> np.ndarray:
    try:
        array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"metadata field {name!r} must hold numbers ({error}).") from error
    return array


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
    low = -np.inf if condition[0] is None else float(condition[0])
    high = np.inf if condition[1] is None else float(condition[1])
    if low > high:
        raise FilterError(f"filter on {name!r} needs min <= max, but got ({low}, {high}).")
    return low, high
