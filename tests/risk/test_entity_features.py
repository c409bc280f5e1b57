"""Point-in-time entity features: hand-computed values on tiny tables, no peeking ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, SchemaError
from furima.risk._entity_features import EntityFeatures

DAY = 86_400.0


def _table() -> pd.DataFrame:
    """One card with payments on days 0, 0.5, 2, 2 (a tie), 9 and 10; labels 1, 0, 1, 0, 0, ?."""
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-01-01")
            + pd.to_timedelta([0, 0.5, 2, 2, 9, 10], unit="D"),
            "card": ["a"] * 6,
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "is_fraud": [1, 0, 1, 0, 0, np.nan],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_windows_count_strictly_earlier_rows_only() -> None:
    features = EntityFeatures(["card"], windows_days=(1, 7), label=None).transform(_table())
    assert features["card_count_1d"].tolist() == [0, 1, 0, 0, 0, 1]
    assert features["card_count_7d"].tolist() == [0, 1, 2, 2, 2, 1]
    assert features["card_amount_sum_7d"].tolist() == [0, 10, 30, 30, 70, 50]
    assert features["card_amount_mean_7d"].tolist()[1:] == [10, 15, 15, 35, 50]
    assert np.isnan(features["card_amount_mean_7d"].iloc[0])


def test_window_is_closed_on_the_left() -> None:
    """A payment exactly ``w`` days earlier is inside the window ``[t - w, t)``."""
    frame = _table().iloc[[0, 1]].copy()
    frame["timestamp"] = pd.Timestamp("2026-01-01") + pd.to_timedelta([0, 1], unit="D")
    features = EntityFeatures(["card"], windows_days=(1,), label=None).transform(frame)
    assert features["card_count_1d"].tolist() == [0, 1]


def test_tied_timestamps_do_not_see_each_other() -> None:
    features = EntityFeatures(["card"], windows_days=(7,), label=None).transform(_table())
    tied = features.loc[[12, 13]]
    assert tied["card_count_7d"].tolist() == [2, 2]
    assert tied["card_seconds_since_last"].tolist() == [1.5 * DAY, 1.5 * DAY]
    assert features.loc[14, "card_seconds_since_last"] == 7 * DAY


def test_seconds_since_last_is_nan_for_the_first_payment() -> None:
    features = EntityFeatures(["card"], windows_days=(1,), label=None).transform(_table())
    assert features["card_seconds_since_last"].isna().tolist()[:2] == [True, False]
    assert features.loc[11, "card_seconds_since_last"] == 0.5 * DAY


def test_fraud_share_only_counts_labels_older_than_the_delay() -> None:
    features = EntityFeatures(["card"], windows_days=(30,), label_delay_days=7).transform(_table())
    share = features["card_fraud_share_30d"]
    # Days 0..2 see no label older than 7 days; day 9 sees days 0, 0.5 (1 fraud of 2);
    # day 10 sees days 0, 0.5, 2, 2 (2 frauds of 4).
    assert share.iloc[:4].isna().all()
    assert share.loc[14] == 0.5
    assert share.loc[15] == 0.5


def test_fraud_share_without_delay_skips_unknown_labels() -> None:
    frame = _table()
    frame.loc[11, "is_fraud"] = np.nan
    features = EntityFeatures(["card"], windows_days=(30,), label_delay_days=0).transform(frame)
    # Day 2 sees day 0 (fraud) and day 0.5 (unknown): 1 of 1 known.
    assert features.loc[12, "card_fraud_share_30d"] == 1.0
    # Day 10 sees 0 (1), 0.5 (?), 2 (1), 2 (0), 9 (0): 2 of 4 known.
    assert features.loc[15, "card_fraud_share_30d"] == 0.5


def test_row_order_and_index_are_restored_and_keys_stay_apart() -> None:
    frame = _table()
    frame.loc[[11, 14], "card"] = "b"
    shuffled = frame.loc[[14, 10, 15, 12, 11, 13]]
    features = EntityFeatures(["card"], windows_days=(30,), label=None).transform(shuffled)
    assert features.index.tolist() == [14, 10, 15, 12, 11, 13]
    # Card b: day 0.5 then day 9; card a: days 0, 2, 2, 10.
    assert features["card_count_30d"].tolist() == [1, 0, 3, 1, 0, 1]
    sorted_features = EntityFeatures(["card"], windows_days=(30,), label=None).transform(frame)
    pd.testing.assert_frame_equal(features.loc[frame.index], sorted_features)


def test_numeric_seconds_and_several_keys_give_named_columns() -> None:
    frame = pd.DataFrame(
        {
            "t": [0.0, 100.0, 200.0],
            "card": [1, 1, 2],
            "terminal": ["x", "x", "x"],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    features = EntityFeatures(
        ["card", "terminal"], windows_days=(1,), time="t", label=None
    ).transform(frame)
    assert list(features.columns) == [
        "card_count_1d",
        "card_amount_sum_1d",
        "card_amount_mean_1d",
        "card_seconds_since_last",
        "terminal_count_1d",
        "terminal_amount_sum_1d",
        "terminal_amount_mean_1d",
        "terminal_seconds_since_last",
    ]
    assert features["terminal_count_1d"].tolist() == [0, 1, 2]
    assert features["card_count_1d"].tolist() == [0, 1, 0]
    assert features["terminal_seconds_since_last"].tolist()[1:] == [100.0, 100.0]


def test_missing_columns_are_named() -> None:
    with pytest.raises(SchemaError, match=r"need the columns \['device'\], which the table"):
        EntityFeatures(["card", "device"]).transform(_table())


def test_non_numeric_amounts_are_refused() -> None:
    frame = _table().astype({"amount": str})
    with pytest.raises(SchemaError, match="amounts must be numbers, but the column has dtype"):
        EntityFeatures(["card"]).transform(frame)


def test_missing_keys_are_refused() -> None:
    frame = _table()
    frame.loc[12, "card"] = None
    with pytest.raises(DataError, match=r"1 rows have no card \(first at position 2\)"):
        EntityFeatures(["card"]).transform(frame)


def test_bad_labels_and_parameters_are_refused() -> None:
    frame = _table()
    frame.loc[12, "is_fraud"] = 2
    with pytest.raises(DataError, match="labels must be 0 or 1"):
        EntityFeatures(["card"]).transform(frame)
    with pytest.raises(DataError, match="windows_days must be positive numbers"):
        EntityFeatures(["card"], windows_days=(0, 7))
    with pytest.raises(DataError, match="at least one key column"):
        EntityFeatures([])


def test_unparsable_times_are_refused() -> None:
    frame = _table().astype({"timestamp": str})
    frame.loc[13, "timestamp"] = "yesterday-ish"
    with pytest.raises(DataError, match=r"1 of 6 times are missing or cannot be parsed"):
        EntityFeatures(["card"]).transform(frame)


def test_matches_a_brute_force_loop_on_a_random_table() -> None:
    rng = np.random.default_rng(7)
    n = 120
    frame = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 20 * 24, n), unit="h"),
            "card": rng.integers(0, 4, n),
            "amount": rng.uniform(1, 100, n),
            "is_fraud": rng.integers(0, 2, n).astype(float),
        }
    )
    frame.loc[rng.random(n) < 0.2, "is_fraud"] = np.nan
    features = EntityFeatures(["card"], windows_days=(2,), label_delay_days=3).transform(frame)
    day = pd.Timedelta(days=1)
    for row in range(n):
        at, card = frame["timestamp"].iloc[row], frame["card"].iloc[row]
        same = frame["card"] == card
        window = same & (frame["timestamp"] >= at - 2 * day) & (frame["timestamp"] < at)
        labelled = (
            same
            & (frame["timestamp"] >= at - 5 * day)
            & (frame["timestamp"] < at - 3 * day)
            & frame["is_fraud"].notna()
        )
        expected_share = frame.loc[labelled, "is_fraud"].mean() if labelled.any() else np.nan
        got = features.iloc[row]
        assert got["card_count_2d"] == window.sum()
        assert got["card_amount_sum_2d"] == pytest.approx(frame.loc[window, "amount"].sum())
        np.testing.assert_allclose(got["card_fraud_share_2d"], expected_share)
