"""The history a fraud scorer keeps, growing with the payments it is told to remember, and a
fast look-up of an entity's rows in it.

Entity features of a new payment only read its own card's, terminal's... past rows. Finding
them with a pass over the whole kept history (hundreds of thousands of rows) costs more than
everything else in scoring one payment, so :class:`HistoryIndex` maps each key value to its
rows and scoring reads only those rows.

The history is held as columns (times in nanoseconds, amounts, labels, key values) that grow
in place: remembering a payment appends to them and to its key values' row lists, without
copying the table, so remembering a served payment costs little next to scoring it. Rows
that have fallen out of the entity features' reach are only dropped when the table is rebuilt
(:meth:`HistoryIndex.compacted`), which happens once appended rows outnumber a quarter of the
kept ones (and whenever the scorer hands its history out, e.g. to save it): a rare linear
cost instead of one per payment.

Not safe to change from several threads at once: :class:`~furima.risk.FraudScorer` holds a
lock around every read and change.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, SchemaError
from furima.risk._time_split import NS_PER_SECOND, times_as_ns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HistoryIndex", "lock_of", "moments_of", "recent_rows", "remembered_labels"]

MIN_COMPACT_ROWS = 4096
"""Appended rows always allowed before a rebuild, however small the kept history."""


class HistoryIndex:
    """The kept rows as growing columns, and the rows of each key value.

    Args:
        history: The kept table (time, amount, keys, label columns).
        time, amount, label, keys: Its column names.
        reach_ns: How far back entity features look (longest window plus label delay), in
            nanoseconds: older rows than the newest kept time minus this are dropped when the
            table is rebuilt.
    """

    def __init__(
        self,
        history: pd.DataFrame,
        *,
        time: str,
        amount: str,
        label: str,
        keys: Sequence[str],
        reach_ns: int,
    ) -> None:
        import pandas as pd

        self.history = history
        self.time, self.amount, self.label = time, amount, label
        self.keys = tuple(keys)
        self.reach_ns = reach_ns
        self.numeric_time = bool(pd.api.types.is_numeric_dtype(history[time]))
        moments = times_as_ns(history, time) if len(history) else np.zeros(0, np.int64)
        self.moments = _Growing(moments)
        self.seconds = _Growing(history[time].to_numpy(np.float64) if self.numeric_time else [])
        self.amounts = _Growing(history[amount].to_numpy(np.float64, na_value=np.nan))
        self.labels = _Growing(_labels_of(history, label))
        self.key_values = {key: _Growing(history[key].to_numpy()) for key in self.keys}
        self.base_rows = {key: _positions_by_value(history[key]) for key in self.keys}
        self.new_rows: dict[str, dict[Any, list[int]]] = {key: {} for key in self.keys}
        self.appended = 0

    # ------------------------------------------------------------------------------ reading
    def rows_before(self, frame: pd.DataFrame, first: int) -> np.ndarray:
        """Positions of the kept rows that share a key value with ``frame`` and are strictly
        earlier than ``first`` (ns), ascending."""
        found = [rows for key in self.keys for rows in self._rows_of(key, frame[key].unique())]
        if not found:
            return np.zeros(0, np.int64)
        positions: np.ndarray = np.unique(np.concatenate(found))
        earlier: np.ndarray = positions[self.moments.values[positions] < first]
        return earlier

    def with_past(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """The kept rows of ``frame``'s entities strictly before its first moment, then
        ``frame`` itself (labels unknown): the table its entity features are computed on,
        times as naive nanosecond datetimes; and how many kept rows lead it."""
        import pandas as pd

        moments = moments_of(frame, self.time)
        past = self.columns_at(self.rows_before(frame, int(moments.min())))
        new = {
            self.time: moments,
            self.amount: frame[self.amount].to_numpy(np.float64),
            self.label: np.full(len(frame), np.nan),
            **{key: frame[key].to_numpy() for key in self.keys},
        }
        columns = {name: np.concatenate([past[name], new[name]]) for name in past}
        columns[self.time] = columns[self.time].view("datetime64[ns]")
        return pd.DataFrame(columns), len(past[self.time])

    def columns_at(self, positions: np.ndarray | slice) -> dict[str, np.ndarray]:
        """The rows at ``positions`` as columns: the time in nanoseconds, amount, label, keys."""
        return {
            self.time: self.moments.values[positions],
            self.amount: self.amounts.values[positions],
            self.label: self.labels.values[positions],
            **{key: self.key_values[key].values[positions] for key in self.keys},
        }

    def __len__(self) -> int:
        return self.moments.size

    def _rows_of(self, key: str, values: Any) -> list[np.ndarray]:
        base, new = self.base_rows[key], self.new_rows[key]
        rows = [base[value] for value in values if value in base]
        rows += [np.asarray(new[value], np.int64) for value in values if value in new]
        return rows

    # ------------------------------------------------------------------------------ growing
    def append(self, frame: pd.DataFrame, labels: np.ndarray) -> int:
        """Append ``frame``'s rows (``labels``: NaN for unknown) except exact repeats of kept
        rows or of each other (same keys, time and amount: a retried payment); the count
        appended."""
        moments = moments_of(frame, self.time)
        amounts = frame[self.amount].to_numpy(np.float64, na_value=np.nan)
        keys = {key: frame[key].to_numpy() for key in self.keys}
        _refuse_incomplete(amounts, keys, self.amount)
        fresh = self._fresh_rows(moments, amounts, keys)
        if not fresh.any():
            return 0
        start = len(self)
        self.moments.extend(moments[fresh])
        if self.numeric_time:
            self.seconds.extend(_seconds_of(frame, self.time, moments)[fresh])
        self.amounts.extend(amounts[fresh])
        self.labels.extend(labels[fresh])
        for key in self.keys:
            values = keys[key][fresh]
            self.key_values[key].extend(values)
            rows = self.new_rows[key]
            for position, value in enumerate(values.tolist(), start):
                rows.setdefault(value, []).append(position)
        added = int(fresh.sum())
        self.appended += added
        return added

    def needs_compacting(self) -> bool:
        """Whether appended rows outnumber a quarter of the table they were appended to."""
        return self.appended > max(MIN_COMPACT_ROWS, (len(self) - self.appended) // 4)

    def compacted(self) -> pd.DataFrame:
        """The kept and appended rows as one table in the kept table's column types, without
        rows older than the newest time minus the reach."""
        import pandas as pd

        moments = self.moments.values
        if len(moments) == 0:
            return self.history
        recent = moments >= moments.max() - self.reach_ns
        columns = {name: values[recent] for name, values in self._stored_columns().items()}
        order = [*self.history.columns, *(name for name in columns if name not in self.history)]
        table = pd.DataFrame(columns)[order]
        return _typed_like(table, self.history, self._grown_keys())

    def _stored_columns(self) -> dict[str, Any]:
        import pandas as pd

        if self.numeric_time:
            times: Any = self.seconds.values
        else:
            times = pd.to_datetime(self.moments.values, utc=True)
            zone = getattr(self.history[self.time].dtype, "tz", None)
            times = times.tz_convert(zone) if zone is not None else times.tz_localize(None)
        columns: dict[str, Any] = self.columns_at(slice(None))
        columns[self.time] = times
        return columns

    def _grown_keys(self) -> set[str]:
        """Keys whose stored values had to become Python objects (ids of another type)."""
        return {key for key in self.keys if self.key_values[key].widened}

    def _fresh_rows(
        self, moments: np.ndarray, amounts: np.ndarray, keys: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Per row: not an exact repeat of a kept row or of an earlier row of the batch."""
        first_key = self.keys[0]
        seen: set[tuple[Any, ...]] = set()
        fresh = np.ones(len(moments), dtype=bool)
        for i in range(len(moments)):
            identity = (int(moments[i]), float(amounts[i]), *(keys[k][i] for k in self.keys))
            if identity in seen or self._is_kept(identity, first_key):
                fresh[i] = False
            seen.add(identity)
        return fresh

    def _is_kept(self, identity: tuple[Any, ...], first_key: str) -> bool:
        moment, amount, *values = identity
        candidates = self._rows_of(first_key, [values[0]])
        if not candidates:
            return False
        rows = np.concatenate(candidates)
        rows = rows[(self.moments.values[rows] == moment) & (self.amounts.values[rows] == amount)]
        for key, value in zip(self.keys[1:], values[1:], strict=True):
            same = self.key_values[key].values[rows] == value
            rows = rows[np.broadcast_to(np.asarray(same, dtype=bool), rows.shape)]
        return len(rows) > 0


class _Growing:
    """A 1-d array that grows in place (capacity doubles), widening its type when needed."""

    def __init__(self, values: Any) -> None:
        self._data = np.asarray(values)
        self.size = len(self._data)
        self.widened = False

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]

    def extend(self, new: np.ndarray) -> None:
        kind = _common_type(self._data.dtype, new.dtype)
        if kind != self._data.dtype:
            self._data = self._data.astype(kind)
            self.widened = True
        end = self.size + len(new)
        if end > len(self._data):
            grown = np.empty(max(end, 2 * len(self._data), 64), dtype=self._data.dtype)
            grown[: self.size] = self.values
            self._data = grown
        self._data[self.size : end] = new
        self.size = end


def _common_type(kept: np.dtype[Any], new: np.dtype[Any]) -> np.dtype[Any]:
    """Numbers stay numbers (ids 12 and 12.0 are one card); anything else mixed: objects."""
    if kept == new:
        return kept
    if kept.kind in "iuf" and new.kind in "iuf":
        return np.result_type(kept, new)
    return np.dtype(object)


def _labels_of(history: pd.DataFrame, label: str) -> np.ndarray:
    if label not in history.columns:
        return np.full(len(history), np.nan)
    return history[label].to_numpy(np.float64, na_value=np.nan)


def _seconds_of(frame: pd.DataFrame, time: str, moments: np.ndarray) -> np.ndarray:
    """Times as numbers of seconds: as given when they are numbers, else from nanoseconds."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(frame[time]):
        return frame[time].to_numpy(np.float64)
    return moments / NS_PER_SECOND


def _typed_like(table: pd.DataFrame, kept: pd.DataFrame, widened: set[str]) -> pd.DataFrame:
    """``table`` with the kept table's column types where values allow (labels stay floats
    once unknown ones are in; ids widened to objects stay objects)."""
    for name in kept.columns:
        if name in widened or table[name].dtype == kept[name].dtype:
            continue
        try:
            table[name] = table[name].astype(kept[name].dtype)
        except (TypeError, ValueError):
            continue  # e.g. integer labels with unknown (NaN) ones among them
    return table.reset_index(drop=True)


def _positions_by_value(values: pd.Series) -> dict[object, np.ndarray]:
    import pandas as pd

    codes, uniques = pd.factorize(values)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {value: order[bounds[i] : bounds[i + 1]] for i, value in enumerate(uniques.tolist())}


def remembered_labels(frame: pd.DataFrame, label: str) -> np.ndarray:
    """Labels of payments to remember: unknown (NaN) unless ``frame`` carries its own 0/1
    labels (labelled data replayed; missing ones stay unknown)."""
    import pandas as pd

    if label not in frame.columns:
        return np.full(len(frame), np.nan)
    values = frame[label]
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise SchemaError(
            f"labels must be 0/1 (missing = not yet known), but the column has dtype "
            f"{values.dtype}; map them to 0/1 or drop the column to remember them as unknown",
            column=label,
        )
    labels = values.to_numpy(np.float64, na_value=np.nan)
    known = ~np.isnan(labels)
    if not np.isin(labels[known], (0.0, 1.0)).all():
        raise DataError(
            "labels must be 0 or 1 (missing = not yet known), but got other values; map them "
            "to 0/1 or drop the column to remember the payments as unlabelled",
            column=label,
        )
    return labels


def _refuse_incomplete(amounts: np.ndarray, keys: dict[str, np.ndarray], amount: str) -> None:
    """Every payment to remember has a finite amount and every key: a kept row without them
    would break the entity features of each later payment of its card or terminal."""
    import pandas as pd

    bad = ~np.isfinite(amounts)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} amounts are missing or infinite (first at position "
            f"{int(np.flatnonzero(bad)[0])}); fill or drop those rows before remembering them",
            column=amount,
        )
    for key, values in keys.items():
        missing = np.asarray(pd.isna(values), dtype=bool)
        if missing.any():
            raise DataError(
                f"{int(missing.sum())} rows have no {key} (first at position "
                f"{int(np.flatnonzero(missing)[0])}); a remembered payment needs every key - "
                f"fill them or drop those rows",
                column=key,
            )


def moments_of(frame: pd.DataFrame, time: str) -> np.ndarray:
    """:func:`~furima.risk._time_split.times_as_ns`, without its parsing for naive datetime
    columns (most of the cost of remembering one payment)."""
    values = frame[time]
    if values.dtype.kind == "M":
        moments = values.to_numpy("datetime64[ns]").view(np.int64)
        if not (moments == np.iinfo(np.int64).min).any():  # no NaT: nothing to refuse
            return moments
    return times_as_ns(frame, time)


def recent_rows(frame: pd.DataFrame, time: str, columns: list[str], reach_ns: int) -> pd.DataFrame:
    """``frame``'s ``columns`` in the rows at most ``reach_ns`` before its newest time."""
    moments = times_as_ns(frame, time)
    kept: pd.DataFrame = frame.loc[moments >= moments.max() - reach_ns, columns]
    return kept.reset_index(drop=True)


_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def lock_of(owner: Any) -> threading.RLock:
    """The lock around ``owner``'s kept history (held outside it, so the owner stays
    picklable); re-entrant, so a method holding it may call another that takes it."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(owner)
        if lock is None:
            lock = _LOCKS[owner] = threading.RLock()
        return lock
