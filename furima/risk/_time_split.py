"""Time-ordered training and validation splits for transactions with late labels.

Fraud labels arrive late: a chargeback comes days or weeks after the payment. A model trained
at some moment (the *cutoff*) only knows the labels that had arrived by then, so a fair split
trains on the past, validates on the future, and leaves out of training every row whose label
would not yet have been known at the cutoff. :func:`time_split` does exactly that, and refuses
tables it cannot split honestly (no time column, unparsable times, labels dated before their
transaction, a side with one class or no rows).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TimeSplit", "time_split", "times_as_ns"]

NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class TimeSplit:
    """The two sides of a time split.

    Attributes:
        train: Rows strictly before ``cutoff - gap`` whose label was known at the cutoff
            (with ``unknown_labels="flag"``: all rows before ``cutoff - gap``, plus a boolean
            column ``label_known``).
        valid: Every row at or after the cutoff.
        cutoff: The first validation moment, in the time column's own units (a
            ``pandas.Timestamp`` for datetime columns, seconds for numeric ones).
        labels_known_until: ``cutoff - label_delay``: rows at or before it have a known label
            (when no ``label_time`` column says otherwise).
        unknown_label_rows: Training-period rows whose label was not yet known at the cutoff
            (dropped, or flagged).
    """

    train: pd.DataFrame
    valid: pd.DataFrame
    cutoff: pd.Timestamp | float
    labels_known_until: pd.Timestamp | float
    unknown_label_rows: int


def time_split(
    frame: pd.DataFrame,
    *,
    time: str | None,
    label: str,
    valid_share: float = 0.2,
    label_delay: pd.Timedelta | float | None = 7 * 86_400.0,
    gap: pd.Timedelta | float | None = None,
    label_time: str | None = None,
    unknown_labels: Literal["drop", "flag"] = "drop",
    share_of: Literal["rows", "time"] = "rows",
) -> TimeSplit:
    """Train on the past, validate on the future, with labels that arrive late.

    The cutoff is the time of the row at position ``ceil(n * (1 - valid_share))`` in time
    order (``share_of="rows"``), or the moment ``valid_share`` of the time span before the
    last row (``share_of="time"``: "the last 20% of time", as the ULB benchmark splits);
    order; every row at or after it (ties included) is validation. Training rows are those
    strictly before ``cutoff - gap`` whose label was known at the cutoff: a row at time ``t``
    has a known label when ``t + label_delay <= cutoff`` or, with a ``label_time`` column,
    when its ``label_time <= cutoff`` (a missing ``label_time`` falls back to the delay).
    Rows whose label was not yet known are dropped (``unknown_labels="drop"``) or kept with
    ``label_known = False`` (``"flag"``). Validation rows keep their final labels: they are
    what the future revealed.

    Args:
        frame: One row per transaction.
        time: The transaction time column: datetimes (or strings pandas parses) or numbers
            of seconds.
        label: The 0/1 label column (1 = fraud).
        valid_share: Share of rows (by time) in validation, in (0, 1).
        label_delay: How long a label takes to arrive: a ``pandas.Timedelta`` or seconds;
            ``None`` means labels are known at once.
        gap: Time left out between training and validation (``None``: none).
        label_time: Optional column of when each label became known.
        unknown_labels: ``"drop"`` or ``"flag"`` the training rows with labels not yet known.
        share_of: Whether ``valid_share`` is a share of the ``"rows"`` or of the ``"time"``.

    Raises:
        SchemaError: No or unknown time, label or label_time column.
        DataError: Unparsable or missing times, missing labels, labels dated before their
            transaction, an empty side, or a side with a single class.
    """
    _check_arguments(frame, time=time, label=label, valid_share=valid_share)
    _check_options(unknown_labels, share_of)
    assert time is not None
    moments = times_as_ns(frame, time)
    delay_ns = _duration_ns(label_delay, "label_delay")
    gap_ns = _duration_ns(gap, "gap")
    known_at = moments + delay_ns
    if label_time is not None:
        known_at = _label_known_at(frame, time, label_time, moments, known_at)
    cutoff_ns = _cutoff(moments, valid_share, share_of)
    in_valid = moments >= cutoff_ns
    in_train_period = moments < cutoff_ns - gap_ns
    known = known_at <= cutoff_ns
    train = _training_side(frame, in_train_period, known, unknown_labels)
    valid = frame.loc[in_valid]
    _check_side(train, "training", label)
    _check_side(valid, "validation", label)
    return TimeSplit(
        train=train,
        valid=valid,
        cutoff=_in_column_units(frame, time, cutoff_ns),
        labels_known_until=_in_column_units(frame, time, cutoff_ns - delay_ns),
        unknown_label_rows=int(np.count_nonzero(in_train_period & ~known)),
    )


def times_as_ns(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column's times as int64 nanoseconds (datetimes since the epoch, in UTC for
    tz-aware ones; numbers as seconds). Refuses missing or unparsable values."""
    import pandas as pd

    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        raise SchemaError(
            "times must be datetimes or numbers of seconds, but got booleans; "
            "pass the transaction time column as time=...",
            column=column,
        )
    if pd.api.types.is_numeric_dtype(values):
        seconds = values.to_numpy(dtype=np.float64, na_value=np.nan)
        _refuse_missing_times(np.isnan(seconds), values, column)
        return np.round(seconds * NS_PER_SECOND).astype(np.int64)
    with warnings.catch_warnings():  # "could not infer format": the check below says more
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(values, errors="coerce", utc=True)
    _refuse_missing_times(parsed.isna().to_numpy(), values, column)
    return parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _refuse_missing_times(bad: np.ndarray, values: pd.Series, column: str) -> None:
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    raise DataError(
        f"{int(bad.sum())} of {len(bad)} times are missing or cannot be parsed as datetimes "
        f"or seconds (first at position {first}: {values.iloc[first]!r}); fix or drop those "
        f"rows",
        column=column,
    )


def _check_arguments(
    frame: pd.DataFrame, *, time: str | None, label: str, valid_share: float
) -> None:
    if time is None or time not in frame.columns:
        got = "none was given" if time is None else f"{time!r} is not a column"
        raise SchemaError(
            f"a time split needs a time column; pass time=... ({got}; the columns are "
            f"{list(frame.columns)})"
        )
    if label not in frame.columns:
        raise SchemaError(
            f"the label column {label!r} is not in the table (columns: {list(frame.columns)}); "
            f"pass label=..."
        )
    if not 0.0 < valid_share < 1.0:
        raise DataError(f"valid_share must be in (0, 1), but got {valid_share}")
    if len(frame) < 2:
        raise DataError(f"a time split needs at least 2 rows, but the table has {len(frame)}")
    missing = int(frame[label].isna().sum())
    if missing:
        raise DataError(
            f"{missing} labels are missing; drop those rows or fill them before splitting",
            column=label,
        )


def _check_options(unknown_labels: str, share_of: str) -> None:
    if unknown_labels not in ("drop", "flag"):
        raise DataError(f"unknown_labels must be 'drop' or 'flag', but got {unknown_labels!r}")
    if share_of not in ("rows", "time"):
        raise DataError(f"share_of must be 'rows' or 'time', but got {share_of!r}")


def _duration_ns(value: pd.Timedelta | float | None, name: str) -> int:
    """A duration given as a Timedelta or as seconds, in nanoseconds."""
    import pandas as pd

    if value is None:
        return 0
    if isinstance(value, pd.Timedelta):
        ns = int(value.value)
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        ns = round(float(value) * NS_PER_SECOND)
    else:
        raise DataError(f"{name} must be a pandas.Timedelta or seconds, but got {value!r}")
    if ns < 0:
        raise DataError(f"{name} must not be negative, but got {value!r}")
    return ns


def _label_known_at(
    frame: pd.DataFrame, time: str, label_time: str, moments: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """When each label became known: ``label_time``, or the delay rule where it is missing."""
    if label_time not in frame.columns:
        raise SchemaError(
            f"the label_time column {label_time!r} is not in the table "
            f"(columns: {list(frame.columns)})"
        )
    column = frame[label_time]
    present = column.notna().to_numpy()
    stamps = fallback.copy()
    if present.any():
        sub = frame.loc[present]
        stamps[present] = times_as_ns(sub, label_time)
    early = present & (stamps < moments)
    if early.any():
        first = int(np.flatnonzero(early)[0])
        raise DataError(
            f"labels from the future: {int(early.sum())} rows have a label_time before their "
            f"own transaction time (first at position {first}: label at "
            f"{column.iloc[first]!r}, transaction at {frame[time].iloc[first]!r}); a label "
            f"cannot be known before the payment happened - check that the time and "
            f"label_time columns are not swapped",
            column=label_time,
        )
    return stamps


def _cutoff(moments: np.ndarray, valid_share: float, share_of: str) -> int:
    if share_of == "time":
        first, last = int(moments.min()), int(moments.max())
        return first + math.ceil((last - first) * (1.0 - valid_share))
    ordered = np.sort(moments)
    # Rounding first keeps 10 * (1 - 0.3) = 7.000000000000001 from becoming position 8.
    position = min(math.ceil(round(len(ordered) * (1.0 - valid_share), 9)), len(ordered) - 1)
    return int(ordered[position])


def _training_side(
    frame: pd.DataFrame, in_period: np.ndarray, known: np.ndarray, unknown_labels: str
) -> pd.DataFrame:
    if unknown_labels == "drop":
        kept: pd.DataFrame = frame.loc[in_period & known]
        return kept
    train = frame.loc[in_period].copy()
    train["label_known"] = known[in_period]
    return train


def _check_side(side: pd.DataFrame, name: str, label: str) -> None:
    if side.empty:
        raise DataError(
            f"the {name} side of the time split is empty; the times are too few or too close "
            f"together for this valid_share, gap and label_delay - lower them or pass more "
            f"history"
        )
    rows = side.loc[side["label_known"]] if "label_known" in side.columns else side
    if rows.empty:
        raise DataError(
            f"no row of the {name} side has a label known at the cutoff; shorten label_delay "
            f"or move the cutoff later (lower valid_share)"
        )
    classes = rows[label].unique()
    if len(classes) < 2:
        raise DataError(
            f"the {name} side holds a single class ({label} = {classes[0]} in all "
            f"{len(rows)} rows); a classifier needs both - move the cutoff (valid_share), "
            f"shorten label_delay, or pass more history",
            column=label,
        )


def _in_column_units(frame: pd.DataFrame, column: str, ns: int) -> pd.Timestamp | float:
    """A moment in the column's units: seconds for numeric columns, a Timestamp otherwise."""
    import pandas as pd

    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        return ns / NS_PER_SECOND
    stamp = pd.Timestamp(ns, unit="ns", tz="UTC")
    tz = getattr(values.dtype, "tz", None)
    if tz is not None:
        return stamp.tz_convert(tz)
    return stamp.tz_localize(None)
