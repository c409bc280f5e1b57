"""Checks a fraud scorer runs on a table before any compute, each naming what to fix.

Columns present and typed (:func:`check_columns`), labels that are 0/1 with both classes
(:func:`check_labels`), raw features that carry information (:func:`check_raw_features`).
The time split itself refuses unparsable times, labels from the future and one-class sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_columns", "check_labels", "check_raw_features"]


def check_columns(
    frame: pd.DataFrame,
    *,
    time: str,
    raw: Sequence[str],
    keys: Sequence[str],
    label: str | None,
    label_time: str | None,
) -> None:
    """Every column the scorer reads is there, raw features are numbers, and rows exist."""
    import pandas as pd

    wanted = [time, *raw, *keys, *(name for name in (label, label_time) if name is not None)]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        why = (
            " (the time column orders the split: train on the past, validate on the future)"
            if time in missing
            else ""
        )
        raise SchemaError(
            f"fraud scoring needs the columns {missing}, which the table lacks{why} (columns: "
            f"{list(frame.columns)}); rename them or pass time=, label=, amount=, keys=, "
            f"features= (keys=() for no entity features)"
        )
    for name in raw:
        dtype = frame[name].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise SchemaError(
                f"raw features must be numbers, but the column has dtype {dtype}; "
                f"convert it (e.g. pandas.to_numeric) or leave it out of features=",
                column=name,
            )
    if len(frame) == 0:
        raise DataError("the table has no rows; pass at least one transaction")


def check_labels(frame: pd.DataFrame, label: str) -> None:
    """Labels are 0/1 (or booleans) and both classes occur."""
    values = frame[label]
    present = values.dropna()
    bad = ~present.isin([0, 1])
    if bool(bad.any()):
        example = _plain(present[bad].iloc[0])
        raise DataError(
            f"fraud labels must be 0 (genuine) or 1 (fraud), but got {example!r}; map them to "
            f"0/1 first",
            column=label,
        )
    classes = present.unique()
    if len(present) and len(classes) == 1:
        raise DataError(
            f"the labels hold a single class ({label} = {_plain(classes[0])} in all {len(present)} "
            f"labelled rows); a fraud model needs both frauds and genuine payments - pass a "
            f"longer history",
            column=label,
        )


def check_raw_features(frame: pd.DataFrame, raw: Sequence[str]) -> None:
    """No raw feature is missing in every row or holds one value throughout: neither can tell
    a fraud from a genuine payment."""
    for name in raw:
        present = frame[name].dropna()
        if present.empty:
            raise DataError(
                "the feature is missing in every row; fill it, or leave it out of features= "
                "(or pass another amount=)",
                column=name,
            )
        if present.nunique() == 1:
            raise DataError(
                f"the feature has the same value ({_plain(present.iloc[0])!r}) in every row, so it "
                f"cannot tell frauds apart; leave it out of features= (or pass another "
                f"amount=)",
                column=name,
            )


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (``2``, not ``np.int64(2)``)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
