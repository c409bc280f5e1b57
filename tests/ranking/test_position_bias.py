"""Position bias: click logs, propensity estimators, IPW weights and debiased item rates.

Recovery is checked on simulated logs with known propensities (position-based model); the
reading and the errors on a real Open Bandit Dataset cut (tests/fixtures/obd_clicks_6000).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from furima.exceptions import DataError, EmptyDataError, SchemaError
from furima.ranking._click_logs import ClickLog
from furima.ranking._position_bias import (
    PositionPropensities,
    estimate_by_intervention_harvesting,
    estimate_from_randomized,
    ipw_weights,
    item_click_rates,
)
from furima.ranking._position_em import estimate_by_regression_em

FIXTURE = Path(__file__).parents[1] / "fixtures" / "obd_clicks_6000.parquet"
OBD = {"item": "item_id", "propensity": "propensity_score"}
THETA = np.array([1.0, 0.6, 0.35])


def simulated_log(
    relevance: np.ndarray, placement: np.ndarray, rows: int, seed: int, policy: str
) -> ClickLog:
    """Impressions of items drawn by popularity, positions from ``placement[item]``
    (probabilities per position), clicks from the position-based model with THETA."""
    rng = np.random.default_rng(seed)
    item = rng.integers(0, len(relevance), rows)
    cumulative = placement.cumsum(axis=1)[item]
    position = (rng.random(rows)[:, None] > cumulative).sum(axis=1) + 1
    click = rng.random(rows) < THETA[position - 1] * relevance[item]
    frame = pd.DataFrame({"item": item, "position": position, "click": click.astype(int)})
    return ClickLog.from_frame(frame, policy=policy)


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    return np.random.default_rng(1).beta(2, 6, 60)  # item relevance, mean 0.25


@pytest.fixture(scope="module")
def random_log(truth: np.ndarray) -> ClickLog:
    uniform = np.full((len(truth), 3), 1 / 3)
    return simulated_log(truth, uniform, 30_000, 2, "random")


@pytest.fixture(scope="module")
def biased_log(truth: np.ndarray) -> ClickLog:
    """Half the items mostly first, half mostly last: position confounded with item."""
    first, last = [0.7, 0.2, 0.1], [0.1, 0.2, 0.7]
    placement = np.array([first if i % 2 else last for i in range(len(truth))])
    return simulated_log(truth, placement, 30_000, 3, "biased")


@pytest.fixture(scope="module")
def obd() -> pd.DataFrame:
    return pd.read_parquet(FIXTURE)


def test_randomized_estimate_recovers_known_propensities(random_log: ClickLog) -> None:
    found = estimate_from_randomized(random_log, bootstrap=100, seed=0)
    assert found.positions == (1, 2, 3)
    assert found.method == "randomized"
    np.testing.assert_allclose(found.values, THETA, atol=0.04)
    assert found.low is not None and found.high is not None
    assert all(lo <= t <= hi for lo, t, hi in zip(found.low, THETA, found.high, strict=True))
    assert found.impressions == 30_000
    assert found.clicks == random_log.clicks


def test_intervention_harvesting_recovers_propensities_from_two_policies(
    random_log: ClickLog, biased_log: ClickLog
) -> None:
    found = estimate_by_intervention_harvesting([random_log, biased_log], bootstrap=0)
    np.testing.assert_allclose(found.values, THETA, atol=0.04)
    assert found.method == "intervention_harvesting"
    assert found.low is None
    alone = estimate_by_intervention_harvesting([biased_log], bootstrap=0)
    np.testing.assert_allclose(alone.values, THETA, atol=0.06)


def test_regression_em_recovers_propensities_from_one_biased_log(biased_log: ClickLog) -> None:
    found = estimate_by_regression_em(biased_log, bootstrap=0)
    np.testing.assert_allclose(found.values, THETA, atol=0.05)
    assert found.method == "regression_em"


def test_regression_em_with_context_features_recovers_propensities() -> None:
    rng = np.random.default_rng(4)
    rows, items = 8_000, 20
    item = rng.integers(0, items, rows)
    context = rng.normal(size=rows)
    relevance = 1 / (1 + np.exp(-(rng.normal(-1, 0.5, items)[item] + 0.8 * context)))
    position = rng.integers(1, 4, rows)
    click = (rng.random(rows) < THETA[position - 1] * relevance).astype(int)
    frame = pd.DataFrame({"item": item, "position": position, "click": click, "ctx": context})
    log = ClickLog.from_frame(frame, features=["ctx"])
    found = estimate_by_regression_em(log, relevance="features", iterations=40, bootstrap=0)
    np.testing.assert_allclose(found.values, THETA, atol=0.08)


def test_weighted_item_rates_recover_the_ranking_naive_rates_miss(
    truth: np.ndarray, biased_log: ClickLog
) -> None:
    naive = item_click_rates(biased_log)
    assert naive["rate"].to_numpy() == pytest.approx(
        (naive["clicks"] / naive["impressions"]).to_numpy()
    )
    weighted = item_click_rates(biased_log, PositionPropensities.given(dict(enumerate(THETA, 1))))

    def tau(rates: pd.DataFrame) -> float:
        ordered = rates["rate"].reindex([str(i) for i in range(len(truth))])
        return float(kendalltau(ordered, truth).statistic)

    assert tau(weighted) > tau(naive) + 0.1
    assert tau(weighted) > 0.8


def test_beta_prior_pulls_rare_items_toward_the_overall_rate() -> None:
    frame = pd.DataFrame({"item": ["a", "b", "b", "b"], "position": 1, "click": [1, 0, 0, 1]})
    rates = item_click_rates(ClickLog.from_frame(frame), prior_strength=2.0)["rate"]
    assert rates["a"] == pytest.approx((1 + 2 * 0.5) / (1 + 2))
    assert rates["b"] == pytest.approx((1 + 2 * 0.5) / (3 + 2))


def test_ipw_weights_clip_and_self_normalise() -> None:
    theta = {1: 1.0, 2: 0.5, 3: 0.1}
    assert ipw_weights([1, 2, 3], theta) == pytest.approx([1.0, 2.0, 10.0])
    assert ipw_weights([1, 2, 3], theta, clip=4) == pytest.approx([1.0, 2.0, 4.0])
    normalised = ipw_weights([1, 2, 3, 3], theta, clip=4, self_normalize=True)
    assert normalised.mean() == pytest.approx(1.0)
    assert normalised == pytest.approx(np.array([1, 2, 4, 4]) / 2.75)


@pytest.mark.parametrize("bad", [0.0, -0.2, float("nan")])
def test_ipw_weights_refuse_a_propensity_that_is_not_positive(bad: float) -> None:
    with pytest.raises(DataError, match=r"the propensity of position 2 is .* must be a finite"):
        ipw_weights([1, 2], {1: 1.0, 2: bad})


def test_ipw_weights_name_an_unknown_position() -> None:
    with pytest.raises(DataError) as error:
        ipw_weights([1, 4, 7, 4], {1: 1.0, 2: 0.5})
    assert str(error.value) == (
        "positions [4, 7] have no propensity (known: [1, 2]); estimate propensities from "
        "logs that show items there, or drop those rows."
    )


def test_click_log_reads_the_open_bandit_cut(obd: pd.DataFrame) -> None:
    log = ClickLog.from_frame(obd, columns=OBD, policy="obd", features=["affinity"])
    assert len(log) == 6000
    assert log.positions == (1, 2, 3)
    assert log.clicks == 20
    assert list(log.frame.columns) == ["item", "position", "click", "propensity", "affinity"]
    assert log.frame["item"].iloc[0] == "55"
    weights = log.policy_weights()
    assert weights[:3] == pytest.approx([80.0, 80.0, 80.0])  # 1 / 0.0125, the random policy
    assert log.policy_weights(clip=50).max() == 50


def test_estimators_on_the_open_bandit_cut(obd: pd.DataFrame) -> None:
    random = ClickLog.from_frame(obd[obd["policy"] == "random"], columns=OBD)
    bts = ClickLog.from_frame(obd[obd["policy"] == "bts"], columns=OBD)
    found = estimate_from_randomized(random, bootstrap=0)
    assert found.values == pytest.approx((1.0, 3 / 1021 / (2 / 1030), 3 / 949 / (2 / 1030)))
    harvested = estimate_by_intervention_harvesting([random, bts], bootstrap=20)
    assert harvested.positions == (1, 2, 3)
    assert all(np.isfinite(harvested.values))
    assert harvested.to_json()["method"] == "intervention_harvesting"


def test_randomized_estimate_needs_clicks_at_every_position() -> None:
    frame = pd.DataFrame({"item": ["a"] * 4, "position": [1, 1, 2, 3], "click": [1, 0, 1, 0]})
    with pytest.raises(DataError) as error:
        estimate_from_randomized(ClickLog.from_frame(frame), bootstrap=0)
    assert str(error.value).startswith("a randomised log has no clicks at positions [3]")


def test_harvesting_needs_an_item_shown_at_two_positions() -> None:
    frame = pd.DataFrame({"item": ["a", "b"], "position": [1, 2], "click": [1, 1]})
    with pytest.raises(DataError, match="no item was shown at two different positions"):
        estimate_by_intervention_harvesting([ClickLog.from_frame(frame)], bootstrap=0)


def test_click_log_names_missing_columns(obd: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"the click log lacks the columns \['item'\]"):
        ClickLog.from_frame(obd)
    with pytest.raises(SchemaError, match=r"columns= names frame columns that do not exist"):
        ClickLog.from_frame(obd, columns={"item": "item"})


def test_click_log_refuses_bad_rows(obd: pd.DataFrame) -> None:
    cases = [
        ("propensity_score", 0.0, "propensity 0.0 is not in (0, 1]"),
        ("propensity_score", np.nan, "propensity nan is not in (0, 1]"),
        ("position", 0.5, "position 0.5 is not an integer >= 1"),
        ("click", 2, "click 2.0 is not 0 or 1"),
    ]
    for column, value, message in cases:
        broken = obd.copy()
        broken[column] = broken[column].astype(float)
        broken.loc[41, column] = value
        with pytest.raises(DataError) as error:
            ClickLog.from_frame(broken, columns=OBD)
        assert str(error.value).startswith("row 42, column ")
        assert message in str(error.value)


def test_click_log_refuses_an_empty_frame() -> None:
    with pytest.raises(EmptyDataError, match="the click log has no rows"):
        ClickLog.from_frame(pd.DataFrame({"item": [], "position": [], "click": []}))


def test_policy_weights_need_a_propensity_column() -> None:
    frame = pd.DataFrame({"item": ["a"], "position": [1], "click": [0]})
    with pytest.raises(SchemaError, match="has no 'propensity' column"):
        ClickLog.from_frame(frame, policy="bts").policy_weights()


def test_propensities_round_trip_as_plain_data() -> None:
    given = PositionPropensities.given({2: 0.5, 1: 1.0})
    assert given.positions == (1, 2)
    assert given.of([2, 1, 2]) == pytest.approx([0.5, 1.0, 0.5])
    assert given.to_json()["values"] == [1.0, 0.5]
    with pytest.raises(DataError, match="one propensity per position"):
        PositionPropensities((1, 2), (1.0,))


def test_regression_em_refuses_feature_relevance_without_features(biased_log: ClickLog) -> None:
    with pytest.raises(DataError, match="relevance='features' needs context features"):
        estimate_by_regression_em(biased_log, relevance="features", bootstrap=0)
    with pytest.raises(DataError, match="iterations must be >= 1, but got 0"):
        estimate_by_regression_em(biased_log, iterations=0, bootstrap=0)


def test_weights_refuse_a_clip_that_is_not_positive(obd: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="clip must be a weight > 0, but got 0"):
        ipw_weights([1], {1: 1.0}, clip=0)
    with pytest.raises(DataError, match="clip must be a weight > 0, but got -1"):
        ClickLog.from_frame(obd, columns=OBD).policy_weights(clip=-1)
