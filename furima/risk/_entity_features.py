"""Point-in-time entity features for transactions: what was known about the card, the
terminal, the device... at the moment of each payment, and nothing later.

For each key column and each window of ``w`` days, a transaction at time ``t`` gets:

- ``{key}_count_{w}d``: the entity's transactions at times in ``[t - w, t)``;
- ``{key}_amount_sum_{w}d`` / ``{key}_amount_mean_{w}d``: their amounts (mean NaN when none);
- ``{key}_fraud_share_{w}d``: the share of frauds among the entity's transactions at times in
  ``[t - delay - w, t - delay)``, whose labels had arrived by ``t`` (the Fraud Detection
  Handbook's "terminal risk" with a delay period; NaN when there are none, and rows with a
  missing label count neither as fraud nor as known);

and, per key, ``{key}_seconds_since_last``: seconds since the entity's previous transaction
(NaN for its first).

"Before" is strict: transactions at the same timestamp as this one never count, whatever
their row order, so ties give the same features to every tied row (deterministic, and no row
sees a simultaneous one). Everything is computed with one sort per key and binary searches
(``numpy.searchsorted``) on the sorted ``(key, time)`` pairs, so a million rows take seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError, SchemaError
from furima.risk._time_split import NS_PER_SECOND, times_as_ns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EntityFeatures"]

NS_PER_DAY = 86_400 * NS_PER_SECOND


class EntityFeatures:
    """Counts, amounts, recency and delayed fraud share per entity over time windows.

    Args:
        keys: Entity columns (card, customer, terminal, device, merchant...).
        windows_days: Window lengths in days, each positive.
        time: Transaction time column (datetimes, or numbers of seconds).
        amount: Amount column, or ``None`` for no amount features.
        label: 0/1 fraud label column, or ``None`` for no fraud share.
        label_delay_days: Only labels of transactions more than this many days old count.
    """

    def __init__(
        self,
        keys: Sequence[str],
        windows_days: Sequence[float] = (1, 7, 30),
        time: str = "timestamp",
        amount: str | None = "amount",
        label: str | None = "is_fraud",
        label_delay_days: float = 7,
    ) -> None:
        self.keys = list(keys)
        self.windows_days = list(windows_days)
        self.time = time
        self.amount = amount
        self.label = label
        self.label_delay_days = label_delay_days
        self._check_parameters()

    def feature_names(self) -> list[str]:
        """The names of the columns :meth:`transform` returns, in order."""
        names: list[str] = []
        for key in self.keys:
            for days in self.windows_days:
                names.append(f"{key}_count_{days:g}d")
                if self.amount is not None:
                    names += [f"{key}_amount_sum_{days:g}d", f"{key}_amount_mean_{days:g}d"]
                if self.label is not None:
                    names.append(f"{key}_fraud_share_{days:g}d")
            names.append(f"{key}_seconds_since_last")
        return names

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Features for every row of ``frame``, same index and row order (any input order)."""
        import pandas as pd

        self._check_columns(frame)
        moments = times_as_ns(frame, self.time)
        amounts = self._amounts(frame)
        fraud, known = self._labels(frame)
        distinct_moments = np.unique(moments)
        columns: dict[str, np.ndarray] = {}
        for key in self.keys:
            codes = _key_codes(frame, key)
            history = _History(codes, moments, distinct_moments, amounts, fraud, known)
            columns.update(self._key_features(key, history))
        return pd.DataFrame(columns, index=frame.index)[self.feature_names()]

    def _key_features(self, key: str, history: _History) -> dict[str, np.ndarray]:
        delay_ns = round(self.label_delay_days * NS_PER_DAY)
        out: dict[str, np.ndarray] = {}
        for days in self.windows_days:
            width = round(days * NS_PER_DAY)
            start, end = history.bounds(width, 0)
            count = (end - start).astype(np.float64)
            out[f"{key}_count_{days:g}d"] = count
            if self.amount is not None:
                total = history.amount_sums[end] - history.amount_sums[start]
                out[f"{key}_amount_sum_{days:g}d"] = total
                out[f"{key}_amount_mean_{days:g}d"] = _ratio(total, count)
            if self.label is not None:
                start, end = history.bounds(width, delay_ns)
                frauds = history.fraud_sums[end] - history.fraud_sums[start]
                labelled = history.known_sums[end] - history.known_sums[start]
                out[f"{key}_fraud_share_{days:g}d"] = _ratio(frauds, labelled)
        out[f"{key}_seconds_since_last"] = history.seconds_since_last()
        return {name: history.restore(values) for name, values in out.items()}

    def _check_parameters(self) -> None:
        if not self.keys:
            raise DataError("EntityFeatures needs at least one key column; pass keys=[...]")
        if len(set(self.keys)) != len(self.keys):
            raise DataError(f"keys must be distinct, but got {self.keys}")
        if not self.windows_days or any(not days > 0 for days in self.windows_days):
            raise DataError(f"windows_days must be positive numbers, but got {self.windows_days}")
        if not self.label_delay_days >= 0:
            raise DataError(f"label_delay_days must be 0 or more, but got {self.label_delay_days}")

    def _check_columns(self, frame: pd.DataFrame) -> None:
        wanted = [self.time, *self.keys, self.amount, self.label]
        missing = [name for name in wanted if name is not None and name not in frame.columns]
        if missing:
            raise SchemaError(
                f"entity features need the columns {missing}, which the table lacks "
                f"(columns: {list(frame.columns)}); rename them or pass time=, keys=, "
                f"amount=, label= (amount=None or label=None to skip those features)"
            )
        for key in self.keys:
            _refuse_missing_keys(frame, key)

    def _amounts(self, frame: pd.DataFrame) -> np.ndarray:
        import pandas as pd

        if self.amount is None:
            return np.zeros(len(frame))
        values = frame[self.amount]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise SchemaError(
                f"amounts must be numbers, but the column has dtype {values.dtype}; "
                f"convert it (e.g. pandas.to_numeric)",
                column=self.amount,
            )
        amounts = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(amounts).all():
            raise DataError(
                f"{int((~np.isfinite(amounts)).sum())} amounts are missing or infinite; "
                f"fill or drop those rows",
                column=self.amount,
            )
        return amounts

    def _labels(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fraud (1.0 / 0.0) and known (label present) per row; a missing label is unknown."""
        import pandas as pd

        if self.label is None:
            zeros = np.zeros(len(frame))
            return zeros, zeros
        values = frame[self.label]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise SchemaError(
                f"labels must be 0/1 (or booleans), but the column has dtype {values.dtype}",
                column=self.label,
            )
        labels = values.to_numpy(dtype=np.float64, na_value=np.nan)
        known = ~np.isnan(labels)
        if not np.isin(labels[known], (0.0, 1.0)).all():
            raise DataError(
                "labels must be 0 or 1 (missing = not yet known), but got other values",
                column=self.label,
            )
        return np.where(known, labels, 0.0), known.astype(np.float64)


class _History:
    """One key's transactions sorted by (entity, time), with running sums for windows.

    Everything is computed in sorted order (so the binary searches see sorted queries and
    stay cache-friendly) and put back in row order by :meth:`restore`.
    """

    def __init__(
        self,
        codes: np.ndarray,
        moments: np.ndarray,
        distinct_moments: np.ndarray,
        amounts: np.ndarray,
        fraud: np.ndarray,
        known: np.ndarray,
    ) -> None:
        self.order = np.lexsort((moments, codes))
        self.codes = codes[self.order].astype(np.int64)
        self.moments = moments[self.order]
        self.times = distinct_moments  # sorted; ranks in it keep composite keys in int64
        self.stride = np.int64(len(self.times) + 1)
        self.sorted_keys = self._composite(self.moments)
        self.amount_sums = _running_sum(amounts[self.order])
        self.fraud_sums = _running_sum(fraud[self.order])
        self.known_sums = _running_sum(known[self.order])
        self.before_now = self._first_at_or_after(self.moments)

    def restore(self, values: np.ndarray) -> np.ndarray:
        """Values computed in sorted order, put back in the table's row order."""
        restored = np.empty_like(values)
        restored[self.order] = values
        return restored

    def _composite(self, moments: np.ndarray) -> np.ndarray:
        """``code * stride + rank(moment)``, where rank = first distinct moment >= it."""
        return self.codes * self.stride + np.searchsorted(self.times, moments, side="left")

    def _first_at_or_after(self, moments: np.ndarray) -> np.ndarray:
        """Per sorted row: the position of its entity's first transaction at or after the
        given moment."""
        return np.searchsorted(self.sorted_keys, self._composite(moments), side="left")

    def bounds(self, width: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
        """Per sorted row: positions ``[start, end)`` of its entity's transactions at times
        in ``[t - delay - width, t - delay)``."""
        end = self.before_now if delay == 0 else self._first_at_or_after(self.moments - delay)
        start = self._first_at_or_after(self.moments - delay - width)
        return start, end

    def seconds_since_last(self) -> np.ndarray:
        """Seconds since the entity's last strictly earlier transaction (NaN for none)."""
        group_start = np.searchsorted(self.sorted_keys, self.codes * self.stride, side="left")
        has_past = self.before_now > group_start
        previous = np.maximum(self.before_now - 1, 0)
        elapsed = (self.moments - self.moments[previous]) / NS_PER_SECOND
        return np.where(has_past, elapsed, np.nan)


def _running_sum(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading 0, so ``sums[end] - sums[start]`` sums rows start..end-1."""
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _key_codes(frame: pd.DataFrame, key: str) -> np.ndarray:
    import pandas as pd

    codes, _ = pd.factorize(frame[key], use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


def _refuse_missing_keys(frame: pd.DataFrame, key: str) -> None:
    missing = frame[key].isna().to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"{int(missing.sum())} rows have no {key} (first at position {first}); entity "
            f"features need a key on every row - fill them (e.g. with 'unknown') or drop them",
            column=key,
        )
