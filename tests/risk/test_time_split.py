"""Time splits: train on the past, validate on the future, drop labels not yet known."""

from __future__ import annotations

import pandas as pd
import pytest

from furima.exceptions import DataError, SchemaError
from furima.risk._time_split import time_split

START = pd.Timestamp("2026-03-01")


def _table() -> pd.DataFrame:
    """Ten payments on days 0..9, shuffled, with frauds on days 1, 4, 6 and 9."""
    frame = pd.DataFrame(
        {
            "when": START + pd.to_timedelta(range(10), unit="D"),
            "fraud": [0, 1, 0, 0, 1, 0, 1, 0, 0, 1],
            "amount": [float(day) for day in range(10)],
        }
    )
    return frame.sample(frac=1.0, random_state=3)


def _days(side: pd.DataFrame) -> list[int]:
    return sorted((side["when"] - START).dt.days.tolist())


def test_trains_on_the_past_and_drops_labels_not_yet_known() -> None:
    split = time_split(
        _table(), time="when", label="fraud", valid_share=0.2, label_delay=pd.Timedelta(days=3)
    )
    assert split.cutoff == START + pd.Timedelta(days=8)
    assert split.labels_known_until == START + pd.Timedelta(days=5)
    assert _days(split.valid) == [8, 9]
    assert _days(split.train) == [0, 1, 2, 3, 4, 5]
    assert split.unknown_label_rows == 2


def test_delay_in_seconds_gap_and_no_delay() -> None:
    frame = _table()
    split = time_split(frame, time="when", label="fraud", label_delay=2 * 86_400.0)
    assert _days(split.train) == [0, 1, 2, 3, 4, 5, 6]
    no_delay = time_split(frame, time="when", label="fraud", label_delay=None)
    assert _days(no_delay.train) == list(range(8))
    assert no_delay.unknown_label_rows == 0
    gapped = time_split(frame, time="when", label="fraud", label_delay=None, gap=86_400.0)
    assert _days(gapped.train) == list(range(7))


def test_flag_keeps_rows_with_unknown_labels() -> None:
    split = time_split(
        _table(), time="when", label="fraud", label_delay=3 * 86_400.0, unknown_labels="flag"
    )
    train = split.train.sort_values("when")
    assert train["label_known"].tolist() == [True] * 6 + [False] * 2


def test_label_time_column_decides_when_labels_are_known() -> None:
    frame = _table()
    frame["charged_back"] = pd.NaT
    frame.loc[frame["fraud"] == 1, "charged_back"] = frame["when"] + pd.Timedelta(days=1)
    frame.loc[frame["when"] == START + pd.Timedelta(days=1), "charged_back"] = START + (
        pd.Timedelta(days=30)
    )
    split = time_split(
        frame, time="when", label="fraud", label_delay=3 * 86_400.0, label_time="charged_back"
    )
    # Day 1's chargeback came after the cutoff; day 6's came on day 7 (known); days 7 and
    # those without a chargeback fall back to the 3-day delay.
    assert _days(split.train) == [0, 2, 3, 4, 5, 6]


def test_numeric_seconds_give_a_cutoff_in_seconds() -> None:
    frame = pd.DataFrame({"t": [float(s) for s in range(10)], "y": [0, 1] * 5})
    split = time_split(frame, time="t", label="y", valid_share=0.3, label_delay=1.0)
    assert split.cutoff == 7.0
    assert split.labels_known_until == 6.0
    assert sorted(split.train["t"]) == [0, 1, 2, 3, 4, 5, 6]


def test_no_time_column_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"a time split needs a time column; pass time=\.\.\."):
        time_split(_table(), time=None, label="fraud")
    with pytest.raises(SchemaError, match="'ts' is not a column"):
        time_split(_table(), time="ts", label="fraud")


def test_unparsable_times_are_refused() -> None:
    frame = _table().astype({"when": str})
    frame.iloc[0, 0] = "not a date"
    with pytest.raises(DataError, match="1 of 10 times are missing or cannot be parsed"):
        time_split(frame, time="when", label="fraud")


def test_single_class_side_is_named() -> None:
    frame = _table()
    frame.loc[frame["when"] >= START + pd.Timedelta(days=8), "fraud"] = 0
    with pytest.raises(DataError, match=r"the validation side holds a single class \(fraud = 0"):
        time_split(frame, time="when", label="fraud", label_delay=None)
    frame = _table()
    frame["fraud"] = [1 if day >= 8 else 0 for day in (frame["when"] - START).dt.days]
    with pytest.raises(DataError, match=r"the training side holds a single class"):
        time_split(frame, time="when", label="fraud", label_delay=None)


def test_labels_from_the_future_are_refused() -> None:
    frame = _table()
    frame["charged_back"] = frame["when"] - pd.Timedelta(hours=1)
    with pytest.raises(DataError, match="labels from the future: 10 rows have a label_time"):
        time_split(frame, time="when", label="fraud", label_time="charged_back")


def test_empty_training_side_is_refused() -> None:
    frame = _table()
    with pytest.raises(DataError, match="the training side of the time split is empty"):
        time_split(frame, time="when", label="fraud", label_delay=pd.Timedelta(days=30))


def test_flag_with_no_known_label_is_refused() -> None:
    with pytest.raises(DataError, match="no row of the training side has a label known"):
        time_split(
            _table(), time="when", label="fraud", label_delay=30 * 86_400.0, unknown_labels="flag"
        )


def test_share_of_time_cuts_the_time_span() -> None:
    frame = pd.DataFrame({"t": [0.0, 1.0, 2.0, 3.0, 90.0, 100.0], "y": [0, 1, 0, 1, 0, 1]})
    by_rows = time_split(frame, time="t", label="y", valid_share=0.5, label_delay=None)
    by_time = time_split(
        frame, time="t", label="y", valid_share=0.5, label_delay=None, share_of="time"
    )
    assert by_rows.cutoff == 3.0
    assert by_time.cutoff == 50.0
    assert sorted(by_time.train["t"]) == [0, 1, 2, 3]
