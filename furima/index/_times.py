"""Listing timestamps and per-listing metadata columns for the sharded index."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from furima.exceptions import DataError

__all__ = ["as_times", "columns_of", "cutoff", "time_bound"]


def as_times(timestamps: Any, n: int) -> np.ndarray:
    """Timestamps as ``datetime64[s]`` (UTC); ints are seconds since the epoch."""
    values = timestamps.to_numpy() if hasattr(timestamps, "to_numpy") else timestamps
    array = np.atleast_1d(np.asarray(values))
    try:
        if array.dtype.kind in "iu":
            times = array.astype(np.int64).astype("datetime64[s]")
        elif array.dtype.kind == "M":
            times = array.astype("datetime64[s]")
        else:
            times = np.array([_one_time(v) for v in array.tolist()], dtype="datetime64[s]")
    except (TypeError, ValueError) as error:
        raise DataError(
            f"timestamps must be datetimes, ISO strings or int seconds since the epoch ({error})."
        ) from error
    if len(times) != n:
        raise DataError(f"got {len(times)} timestamps for {n} ids; pass one per id.")
    if np.isnat(times).any():
        raise DataError(f"timestamps hold {int(np.isnat(times).sum())} missing value(s) (NaT).")
    return times


def _one_time(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(value, "s")


def time_bound(value: Any, name: str) -> Any:
    if value is None:
        return None
    try:
        return as_times([value], 1)[0]
    except DataError as error:
        raise DataError(f"{name}: {error}") from error


def cutoff(older_than: Any) -> Any:
    if isinstance(older_than, timedelta | np.timedelta64):
        now = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "s")
        return now - np.timedelta64(older_than).astype("timedelta64[s]")
    return as_times([older_than], 1)[0]


def columns_of(metadata: Any, n: int) -> dict[str, np.ndarray]:
    """Metadata as field -> array of n values (from columns, a DataFrame or row mappings)."""
    if metadata is None:
        return {}
    if hasattr(metadata, "columns") and hasattr(metadata, "__getitem__"):
        return {str(c): np.asarray(metadata[c].to_numpy()) for c in metadata.columns}
    if not isinstance(metadata, Mapping):
        rows = list(metadata)
        if len(rows) != n or not all(isinstance(r, Mapping) for r in rows):
            raise DataError(
                "metadata must be a mapping of field -> values, a DataFrame, or one mapping per id."
            )
        names = {name for row in rows for name in row}
        metadata = {name: [row.get(name) for row in rows] for name in names}
    columns = {}
    for name, values in metadata.items():
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
        if len(array) != n:
            raise DataError(f"metadata field {name!r} has {len(array)} values for {n} ids.")
        columns[str(name)] = array
    return columns
