"""Stability (PSI) and fairness (approval rates) reports on hand-built data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, SchemaError
from furima.risk._stability import (
    EMPTY_BIN_SHARE,
    approval_rates,
    population_stability_index,
    psi_band,
    stability_report,
)


def test_psi_of_a_sample_against_itself_is_zero() -> None:
    sample = np.random.default_rng(0).normal(size=1_000)
    assert population_stability_index(sample, sample) == 0.0
    words = ["a", "b", "b", None, "c"]
    assert population_stability_index(words, words, categorical=True) == 0.0


def test_psi_matches_a_hand_computed_value_on_two_histograms() -> None:
    # Expected 1..10 split into 2 bins at the median 5.5: (<= 5.5) and (> 5.5), 50% each.
    # Actual: 3 of 10 values at or below 5.5, 7 above.
    expected = list(range(1, 11))
    actual = [1, 2, 3, 6, 7, 8, 9, 10, 11, 12]
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert population_stability_index(expected, actual, bins=2) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(0.16946, abs=1e-5)


def test_psi_counts_missing_values_as_a_bin_of_their_own() -> None:
    expected = [1.0, 2.0, 3.0, 4.0]
    actual = [1.0, 2.0, float("nan"), float("nan")]
    # Bins at the median 2.5: expected (0.5, 0.5, missing 0); actual (0.5, 0, missing 0.5).
    floor = EMPTY_BIN_SHARE
    by_hand = 2 * (0.5 - floor) * math.log(0.5 / floor)
    assert population_stability_index(expected, actual, bins=2) == pytest.approx(by_hand)


def test_shifted_normal_lands_in_the_expected_band() -> None:
    rng = np.random.default_rng(38)
    development = rng.normal(0.0, 1.0, size=20_000)
    # A shift of d standard deviations gives PSI close to d**2 for normals.
    small = population_stability_index(development, rng.normal(0.1, 1.0, size=20_000))
    medium = population_stability_index(development, rng.normal(0.4, 1.0, size=20_000))
    large = population_stability_index(development, rng.normal(1.0, 1.0, size=20_000))
    assert psi_band(small) == "stable" and small < 0.03
    assert psi_band(medium) == "watch" and 0.12 < medium < 0.2
    assert psi_band(large) == "shifted" and large > 0.8


def test_categorical_psi_with_a_category_unseen_in_development() -> None:
    expected = ["card"] * 5 + ["bank"] * 5
    actual = ["card"] * 4 + ["bank"] * 4 + ["wallet"] * 2
    floor = EMPTY_BIN_SHARE
    by_hand = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - floor) * math.log(0.2 / floor)
    got = population_stability_index(expected, actual, categorical=True)
    assert got == pytest.approx(by_hand)
    assert psi_band(got) == "shifted"


def test_bands_at_their_edges() -> None:
    assert [psi_band(v) for v in (0.0, 0.0999, 0.1, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "shifted",
    ]


def test_stability_report_has_one_row_per_feature_and_the_score_last() -> None:
    rng = np.random.default_rng(1)
    development = pd.DataFrame(
        {
            "income": rng.normal(50, 10, 2_000),
            "channel": rng.choice(["web", "app"], 2_000),
            "score": rng.uniform(0, 1, 2_000),
        }
    )
    recent = development.copy()
    recent["income"] = rng.normal(60, 10, 2_000)
    recent.loc[:199, "channel"] = None
    report = stability_report(development, recent, score="score")
    assert report["column"].tolist() == ["income", "channel", "score"]
    assert report["kind"].tolist() == ["feature", "feature", "score"]
    assert report["band"].tolist() == ["shifted", "shifted", "stable"]
    assert report.loc[2, "psi"] == 0.0
    assert report["missing_development"].tolist() == [0.0, 0.0, 0.0]
    assert report["missing_recent"].tolist() == [0.0, 0.1, 0.0]
    only = stability_report(development, recent, ["channel"])
    assert only["column"].tolist() == ["channel"]


FEMALE_AGES = [22, 23, 24, 30, 40, 50, 60, 33, 44, 55]
FEMALE_APPROVED = [0, 1, 0, 1, 1, 1, 1, 0, 0, 1]
MALE_AGES = [21, 24, 35, 45, 28, 38, 48, 58, 62, 70]
MALE_APPROVED = [1, 0, 1, 1, 1, 1, 1, 1, 0, 1]


def _applicants() -> pd.DataFrame:
    """Women: 6 of 10 approved; men: 8 of 10; age under 25: 2 of 5, 25 and over: 12 of 15."""
    return pd.DataFrame(
        {
            "sex": ["female"] * 10 + ["male"] * 10,
            "age": [*FEMALE_AGES, *MALE_AGES],
            "approved": [*FEMALE_APPROVED, *MALE_APPROVED],
        }
    )


def test_approval_rates_and_the_four_fifths_flag_by_sex() -> None:
    rates = approval_rates(_applicants(), approved="approved", group="sex")
    assert rates["group"].tolist() == ["female", "male"]
    assert rates["applicants"].tolist() == [10, 10]
    assert rates["approved"].tolist() == [6, 8]
    assert rates["approval_rate"].tolist() == pytest.approx([0.6, 0.8])
    assert rates["ratio_to_best"].tolist() == pytest.approx([0.75, 1.0])
    assert rates["four_fifths_flag"].tolist() == [True, False]


def test_approval_rates_band_a_numeric_age() -> None:
    rates = approval_rates(_applicants(), approved="approved", group="age", bins=[25])
    assert rates["group"].tolist() == ["< 25", ">= 25"]
    assert rates["applicants"].tolist() == [5, 15]
    assert rates["approved"].tolist() == [2, 12]
    assert rates["ratio_to_best"].tolist() == pytest.approx([0.5, 1.0])
    assert rates["four_fifths_flag"].tolist() == [True, False]
    banded = approval_rates(_applicants(), approved="approved", group="age", bins=[25, 40])
    assert banded["group"].tolist() == ["< 25", "[25, 40)", ">= 40"]
    quartiles = approval_rates(_applicants(), approved="approved", group="age")
    assert quartiles["applicants"].sum() == 20 and len(quartiles) == 4


def test_approval_rates_keep_missing_groups_and_boolean_approvals() -> None:
    frame = pd.DataFrame({"sex": ["f", None, "m", "m"], "ok": [True, True, False, True]})
    rates = approval_rates(frame, approved="ok", group="sex")
    assert rates["group"].tolist() == ["f", "m", "(missing)"]
    assert rates["approval_rate"].tolist() == pytest.approx([1.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: population_stability_index([], [1.0]),
            DataError,
            "the expected sample is empty; pass at least one value",
        ),
        (
            lambda: population_stability_index([1.0, 2.0], [None, None]),
            DataError,
            "the actual sample is all missing; pass some non-missing values",
        ),
        (
            lambda: population_stability_index([1.0, 2.0], [1.0], bins=1),
            DataError,
            "bins must be an integer of at least 2, but got 1",
        ),
        (
            lambda: population_stability_index(np.ones((2, 2)), [1.0]),
            DataError,
            "the expected sample must be one-dimensional, but got shape (2, 2); "
            "pass one column at a time",
        ),
        (
            lambda: population_stability_index(["a"], ["b"]),
            DataError,
            "the expected sample has non-numeric values such as 'a'; "
            "pass categorical=True to compare categories",
        ),
        (
            lambda: stability_report(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": []})),
            DataError,
            "the recent sample has no rows; pass a table with at least one row",
        ),
        (
            lambda: stability_report(
                pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": [1.0]}), ["x", "y"]
            ),
            SchemaError,
            "the development sample has no column 'y'; its columns are ['x']",
        ),
        (
            lambda: stability_report(
                pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [1.0]}), score="y"
            ),
            SchemaError,
            "the development sample has no column 'y'; its columns are ['x']",
        ),
        (
            lambda: stability_report(
                pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [None, np.nan]})
            ),
            DataError,
            "column 'x' is all missing in the recent sample; drop it from `columns` or fill it",
        ),
        (
            lambda: approval_rates(_applicants(), approved="approved", group="gender"),
            SchemaError,
            "the frame sample has no column 'gender'",
        ),
        (
            lambda: approval_rates(_applicants(), approved="approved", group="age", bins=True),
            DataError,
            "bins must be an integer of at least 2, but got True",
        ),
        (
            lambda: approval_rates(_applicants(), approved="approved", group="age", bins=1),
            DataError,
            "bins must be an integer of at least 2, but got 1",
        ),
        (
            lambda: approval_rates(_applicants(), approved="approved", group="age", bins=[40, 25]),
            DataError,
            "bins as cut points must be finite and strictly increasing, but got [40, 25]",
        ),
        (
            lambda: approval_rates(
                pd.DataFrame({"g": ["a"], "ok": ["yes"]}), approved="ok", group="g"
            ),
            DataError,
            "approvals in column 'ok' must be 0/1 or booleans, but got 'yes'",
        ),
        (
            lambda: approval_rates(pd.DataFrame({"g": ["a"], "ok": [0]}), approved="ok", group="g"),
            DataError,
            "no applicant is approved in any group",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    call: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        call()  # type: ignore[operator]
    assert str(raised.value).startswith(message)


def test_stability_report_compares_by_category_when_either_sample_is_text() -> None:
    development = pd.DataFrame({"plan": [1, 1, 2, 2]})
    recent = pd.DataFrame({"plan": ["1", "1", "2", "3"]})
    report = stability_report(development, recent)
    floor = EMPTY_BIN_SHARE
    by_hand = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - floor) * math.log(0.25 / floor)
    assert report.loc[0, "psi"] == pytest.approx(by_hand)
