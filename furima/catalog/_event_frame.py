"""Columns of an events frame to typed arrays, and moments to Unix seconds.

The strict path for frames that are already canonical (:meth:`Interactions.from_frame`, the
interaction store): it raises on the first problem. Files go through ``read_interactions``,
which reports every bad row instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from furima.exceptions import DataError, SchemaError

__all__ = [
    "DEFAULT_EVENT",
    "DEFAULT_EVENT_WEIGHTS",
    "EVENT_COLUMNS",
    "as_seconds",
    "event_codes",
    "external_ids",
    "seconds_column",
    "values_column",
]

EVENT_COLUMNS: tuple[str, ...] = ("user", "item", "timestamp", "event", "value")
"""The columns of an events frame (``Interactions.to_frame`` / ``from_frame``)."""
DEFAULT_EVENT = "interaction"
"""The event type of logs that name none."""
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "like": 2.0,
    "cart": 3.0,
    "purchase": 5.0,
    "interaction": 1.0,
}
"""Weights of the usual event types; a marketplace passes its own."""


def as_seconds(moment: int | float | str | datetime | pd.Timestamp | np.integer) -> int:
    """A moment as int Unix seconds: a number of seconds, an ISO 8601 string or a datetime
    (naive ones are UTC).

    Raises:
        ValueError: Anything else.
    """
    if isinstance(moment, int | np.integer) and not isinstance(moment, bool):
        return int(moment)
    if isinstance(moment, float) and math.isfinite(moment):
        return math.floor(moment)
    stamp = _timestamp(moment) if isinstance(moment, str | datetime) else None
    if stamp is not None:
        stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
        return int((stamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1))
    raise ValueError(
        f"a moment must be Unix seconds, an ISO 8601 string or a datetime, got {moment!r}."
    )


def _timestamp(moment: str | datetime) -> pd.Timestamp | None:
    try:
        stamp = pd.Timestamp(moment)
    except ValueError:
        return None
    return None if pd.isna(stamp) else stamp


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise SchemaError(
            f"an events frame needs a {name!r} column; it has {[str(c) for c in frame.columns]}."
        )
    column: pd.Series = frame[name]
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise DataError(
            f"column {name!r} has {missing.size} missing values (first at position "
            f"{missing[0]}); every event needs a {name}."
        )
    return column


def external_ids(frame: pd.DataFrame, name: str) -> np.ndarray:
    ids = np.asarray(_column(frame, name).astype(str).str.strip(), dtype=object)
    empty = np.flatnonzero(ids == "")
    if empty.size:
        raise DataError(f"column {name!r} has an empty id at position {empty[0]}.")
    return ids


def seconds_column(frame: pd.DataFrame) -> np.ndarray:
    column = _column(frame, "timestamp")
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=float)
        if np.all(np.isfinite(values) & (values == np.round(values))):
            return values.astype(np.int64)
    raise DataError(
        f"column 'timestamp' must hold integer Unix seconds, got dtype {column.dtype}; "
        "read logs with read_interactions(), which converts dates and milliseconds."
    )


def event_codes(
    frame: pd.DataFrame, event_weights: Mapping[str, float] | None
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Event types, their weights, and each event's type index."""
    if "event" in frame.columns:
        names = np.asarray(_column(frame, "event").astype(str), dtype=object)
    else:
        names = np.full(len(frame), DEFAULT_EVENT, dtype=object)
    if event_weights is None:
        types = tuple(dict.fromkeys(str(n) for n in names)) or (DEFAULT_EVENT,)
        event_weights = {t: DEFAULT_EVENT_WEIGHTS.get(t, 1.0) for t in types}
    types = tuple(str(t) for t in event_weights)
    weights = np.asarray([float(event_weights[t]) for t in types], dtype=np.float32)
    if not types or not np.all(np.isfinite(weights) & (weights >= 0)):
        raise ValueError(f"event_weights must be finite and >= 0, got {dict(event_weights)}.")
    lookup = {t: i for i, t in enumerate(types)}
    codes = np.fromiter((lookup.get(n, -1) for n in names), dtype=np.int64, count=len(names))
    if (codes < 0).any():
        unknown = sorted(set(names[codes < 0]))
        raise DataError(
            f"event types {unknown} are not in event_weights {list(types)}; add their weights."
        )
    return types, weights, codes.astype(np.int16)


def values_column(frame: pd.DataFrame) -> np.ndarray:
    if "value" not in frame.columns:
        return np.ones(len(frame), dtype=np.float32)
    values = pd.to_numeric(_column(frame, "value"), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
    if bad.size:
        raise DataError(
            f"column 'value' must hold finite numbers >= 0; position {bad[0]} does not."
        )
    return values.astype(np.float32)
