"""Click models trained on logged clicks with inverse-propensity weights.

Reading and weighting on a real Open Bandit Dataset cut (tests/fixtures/obd_clicks_6000);
recovery of the true item order on a simulated log whose placement confounds item and
position (position-based model, known propensities).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from furima.exceptions import DataError, SchemaError
from furima.ranking._click_logs import ClickLog
from furima.ranking._click_training import click_examples, click_weights, fit_click_ranker
from furima.ranking._lightgbm import LightGBMRanker
from furima.ranking._position_bias import PositionPropensities

FIXTURE = Path(__file__).parents[1] / "fixtures" / "obd_clicks_6000.parquet"
OBD = {"item": "item_id", "propensity": "propensity_score"}
THETA = {1: 1.0, 2: 0.5, 3: 0.25}


@pytest.fixture(scope="module")
def bts() -> ClickLog:
    frame = pd.read_parquet(FIXTURE)
    frame = frame[frame["policy"] == "bts"].reset_index(drop=True)
    return ClickLog.from_frame(frame, columns=OBD, policy="bts", features=["affinity"])


def test_examples_hold_one_request_per_impression(bts: ClickLog) -> None:
    examples = click_examples(bts)
    assert len(examples) == 3000
    assert examples.features == ("affinity",)
    assert examples.events == ("click",)
    assert examples.labels("click").sum() == bts.clicks == 12
    assert (examples.group_sizes() == 1).all()
    assert examples.frame["position"].tolist() == bts.frame["position"].tolist()
    assert "position" not in examples.features


def test_examples_group_impressions_of_a_request() -> None:
    frame = pd.DataFrame(
        {
            "item": ["a", "b", "c", "a", "c"],
            "position": [1, 2, 3, 1, 2],
            "click": [0, 1, 0, 0, 0],
            "request": ["r1", "r1", "r1", "r2", "r2"],
            "price": [1.0, 2.0, 3.0, 1.0, 3.0],
        }
    )
    log = ClickLog.from_frame(frame, features=["price"])
    assert click_examples(log).group_sizes().tolist() == [3, 2]
    assert click_examples(log, categorical=["price"]).categorical == ("price",)
    with pytest.raises(SchemaError, match=r"categorical columns \['size'\] are not among"):
        click_examples(log, categorical=["size"])


def test_weights_reweigh_clicks_by_inverse_propensity(bts: ClickLog) -> None:
    weights = click_weights(bts, THETA, clip=None)
    position = bts.frame["position"].to_numpy()
    clicked = bts.frame["click"].to_numpy(bool)
    raw = np.where(clicked, 1.0 / np.array([0.0, 1.0, 0.5, 0.25])[position], 1.0)
    np.testing.assert_allclose(weights, raw / raw.mean())
    assert weights.mean() == pytest.approx(1.0)
    assert len(np.unique(weights[~clicked])) == 1  # non-clicks are not reweighted


def test_clip_caps_click_weights(bts: ClickLog) -> None:
    weights = click_weights(bts, THETA, clip=2.0)
    clicked = bts.frame["click"].to_numpy(bool)
    assert weights[clicked].max() / weights[~clicked][0] == pytest.approx(2.0)


def test_policy_weights_multiply(bts: ClickLog) -> None:
    both = click_weights(bts, THETA, clip=None, policy=True, policy_clip=100.0)
    position_only = click_weights(bts, THETA, clip=None)
    ratio = both / position_only
    np.testing.assert_allclose(ratio / ratio.mean(), (b := bts.policy_weights(100.0)) / b.mean())


def test_no_propensities_means_no_weights(bts: ClickLog) -> None:
    np.testing.assert_array_equal(click_weights(bts, None), np.ones(len(bts)))


def test_zero_propensity_is_refused(bts: ClickLog) -> None:
    with pytest.raises(DataError, match=r"the propensity of position 2 is 0.0, but it must"):
        click_weights(bts, {1: 1.0, 2: 0.0, 3: 0.3})


def test_unknown_position_is_refused(bts: ClickLog) -> None:
    with pytest.raises(DataError, match=r"positions \[3\] have no propensity \(known: \[1, 2\]\)"):
        click_weights(bts, PositionPropensities.given({1: 1.0, 2: 0.5}))


def test_log_without_features_is_refused(bts: ClickLog) -> None:
    bare = ClickLog(bts.frame.drop(columns="affinity"), "bts")
    with pytest.raises(DataError, match="the click log has no feature columns to learn from"):
        fit_click_ranker(bare, THETA)
    with pytest.raises(DataError, match=r"lacks the feature columns \['price'\]"):
        click_examples(bts, ["price"])


def test_position_is_never_a_feature(bts: ClickLog) -> None:
    with pytest.raises(DataError, match=r"\['position'\] cannot be features of a click model"):
        click_examples(bts, ["affinity", "position"])


def test_policy_weights_need_logging_propensities(bts: ClickLog) -> None:
    without = ClickLog(bts.frame.drop(columns="propensity"), "bts", bts.features)
    with pytest.raises(SchemaError, match="has no 'propensity' column"):
        click_weights(without, THETA, policy=True)


def test_ranking_mode_ranker_is_refused(bts: ClickLog) -> None:
    with pytest.raises(DataError, match=r"ranks whole requests.*LightGBMRanker\(label='click'\)"):
        fit_click_ranker(bts, THETA, ranker=LightGBMRanker())


def test_fit_on_real_clicks(bts: ClickLog) -> None:
    ranker = fit_click_ranker(bts, THETA, ranker=LightGBMRanker(label="click", rounds=20))
    probability = ranker.event_probabilities(click_examples(bts))["click"]
    assert probability.shape == (3000,)
    assert ((probability > 0) & (probability < 1)).all()


def confounded_log(relevance: np.ndarray, rows: int, seed: int) -> ClickLog:
    """Items with even index shown first 80% of the time, the others last 80% of the time
    (unrelated to relevance); clicks from the position-based model with THETA; one-hot item
    features."""
    rng = np.random.default_rng(seed)
    item = rng.integers(0, len(relevance), rows)
    first = item % 2 == 0
    position = np.where(
        first,
        rng.choice([1, 2, 3], rows, p=[0.8, 0.1, 0.1]),
        rng.choice([1, 2, 3], rows, p=[0.1, 0.1, 0.8]),
    )
    theta = np.array([0.0, *THETA.values()])[position]
    click = (rng.random(rows) < theta * relevance[item]).astype(int)
    onehot = {f"is_{i}": (item == i).astype(float) for i in range(len(relevance))}
    frame = pd.DataFrame({"item": item.astype(str), "position": position, "click": click, **onehot})
    return ClickLog.from_frame(frame, features=list(onehot))


def item_order_tau(ranker: LightGBMRanker, log: ClickLog, relevance: np.ndarray) -> float:
    score = ranker.score(click_examples(log))
    per_item = pd.Series(score).groupby(log.frame["item"].astype(int).to_numpy()).mean()
    return float(kendalltau(per_item.sort_index().to_numpy(), relevance).statistic)


def test_weighting_recovers_the_true_item_order() -> None:
    relevance = np.random.default_rng(1).uniform(0.05, 0.5, 30)
    log = confounded_log(relevance, 20_000, seed=2)
    naive = fit_click_ranker(log, None, ranker=LightGBMRanker(label="click", rounds=50))
    weighted = fit_click_ranker(log, THETA, ranker=LightGBMRanker(label="click", rounds=50))
    naive_tau = item_order_tau(naive, log, relevance)
    weighted_tau = item_order_tau(weighted, log, relevance)
    assert weighted_tau > 0.8
    assert weighted_tau > naive_tau + 0.2
