"""LightGBM ranker on real Taobao examples: it ranks the day's items above the negatives better
than any single feature, its per-event mode gives probabilities, weights and saving work, and
bad input is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.automl._metrics import metric_for
from furima.catalog import Interactions
from furima.exceptions import DataError, ModelFormatError, NotFittedError
from furima.ranking import RankingExamples
from furima.ranking._examples import CandidateSettings, build_examples, daily_requests
from furima.ranking._features import DAY_S, FeatureBuilder
from furima.ranking._lightgbm import LightGBMRanker

FIXTURE = Path(__file__).parents[1] / "fixtures" / "taobao_60_users.parquet"
EVENTS = {"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"}


def ndcg(examples: RankingExamples, relevance: np.ndarray, scores: np.ndarray) -> float:
    metric = metric_for("ranking", "ndcg@10").for_groups(examples.frame["request"].to_numpy())
    return float(metric.score(relevance.astype(float), np.asarray(scores, float)))


@pytest.fixture(scope="module")
def split() -> tuple[RankingExamples, RankingExamples]:
    log = pd.read_parquet(FIXTURE)
    frame = pd.DataFrame(
        {
            "user": log["user_id"].astype(str),
            "item": log["item_id"].astype(str),
            "timestamp": log["timestamp"].astype(np.int64),
            "event": log["behavior_type"].astype(str).map(EVENTS),
        }
    )
    events = Interactions.from_frame(frame, event_weights=dict.fromkeys(EVENTS.values(), 1.0))
    first = log.drop_duplicates("item_id")
    by_item = pd.Series(first["category_id"].astype(str).to_numpy(), first["item_id"].astype(str))
    category = by_item.loc[list(events.items.ids)].to_numpy()
    cutoff = int(np.quantile(events.timestamp, 0.3)) // DAY_S * DAY_S
    builder = FeatureBuilder(seed=0).fit(events, category=category, generators_before=cutoff)
    requests = daily_requests(events, start=cutoff)
    last = requests.groupby("user")["timestamp"].transform("max") == requests["timestamp"]
    settings = CandidateSettings(size=60, generated=20, popular=10, seed=0)
    train, test = (
        build_examples(events, part, builder=builder, candidates=settings)
        for part in (requests[~last], requests[last])
    )
    return train, test


@pytest.fixture(scope="module")
def ranker(split: tuple[RankingExamples, RankingExamples]) -> LightGBMRanker:
    return LightGBMRanker(rounds=60).fit(split[0])


def test_ranks_the_days_items_above_negatives_better_than_any_single_feature(
    split: tuple[RankingExamples, RankingExamples], ranker: LightGBMRanker
) -> None:
    _, test = split
    views = test.labels("view")
    ours = ndcg(test, views, ranker.score(test))
    matrix = np.nan_to_num(test.matrix(), nan=-1e9)
    best_single = max(ndcg(test, views, matrix[:, j]) for j in range(matrix.shape[1]))
    assert ours > 0.6
    assert ours > best_single


def test_graded_relevance_follows_the_gains(split: tuple[RankingExamples, RankingExamples]) -> None:
    train = split[0]
    ranker = LightGBMRanker({"view": 1, "purchase": 4}, rounds=5).fit(train)
    grades = ranker._target(train)
    assert set(np.unique(grades)) <= {0, 1, 4}
    bought = train.labels("purchase") == 1
    assert (grades[bought] == 4).all() and ranker.gains_ == {"view": 1, "purchase": 4}


def test_per_event_mode_gives_probabilities_of_that_event(
    split: tuple[RankingExamples, RankingExamples],
) -> None:
    train, test = split
    model = LightGBMRanker(label="cart", rounds=40).fit(train)
    probabilities = model.event_probabilities(test)["cart"]
    assert probabilities.shape == (len(test),)
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert abs(probabilities.mean() - train.labels("cart").mean()) < 0.02


def test_weights_change_the_model_and_bad_weights_are_refused(
    split: tuple[RankingExamples, RankingExamples], ranker: LightGBMRanker
) -> None:
    train, test = split
    weights = np.where(train.labels("cart") == 1, 5.0, 1.0)
    weighted = LightGBMRanker(rounds=60).fit(train, weights=weights)
    assert not np.allclose(weighted.score(test), ranker.score(test))
    with pytest.raises(DataError, match="weights must be one finite value >= 0 per example"):
        LightGBMRanker().fit(train, weights=np.full(len(train), np.inf))
    with pytest.raises(DataError, match="no weight column 'ipw'"):
        LightGBMRanker(weight_column="ipw").fit(train)


def test_saved_ranker_loads_and_scores_the_same(
    tmp_path: Path, split: tuple[RankingExamples, RankingExamples], ranker: LightGBMRanker
) -> None:
    test = split[1]
    saved = ranker.save(tmp_path / "ranker")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == "furima.lightgbm_ranker"
    loaded = LightGBMRanker.load(saved)
    np.testing.assert_allclose(loaded.score(test), ranker.score(test))
    (saved / "model.txt").write_text("tree\n")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        LightGBMRanker.load(saved)
    with pytest.raises(ModelFormatError, match=r"has no manifest\.json"):
        LightGBMRanker.load(tmp_path)


def test_search_through_automl_keeps_one_lightgbm_model(
    split: tuple[RankingExamples, RankingExamples],
) -> None:
    train, test = split
    model = LightGBMRanker(budget_s=10, max_trials=2, rounds=60).fit(train)
    assert {"num_leaves", "learning_rate"} <= set(model.params_)
    assert ndcg(test, test.labels("view"), model.score(test)) > 0.5


def test_bad_input_is_refused(split: tuple[RankingExamples, RankingExamples]) -> None:
    train = split[0]
    with pytest.raises(DataError, match="objective must be one of"):
        LightGBMRanker(objective="pairwise")
    with pytest.raises(DataError, match="label 'click' is not among the examples' events"):
        LightGBMRanker(label="click").fit(train)
    with pytest.raises(DataError, match=r"gains must be integers in 0\.\.30"):
        LightGBMRanker({"view": 0.5}).fit(train)  # type: ignore[dict-item]
    with pytest.raises(DataError, match="every label is 0"):
        LightGBMRanker({"view": 0}).fit(train)
    with pytest.raises(NotFittedError):
        LightGBMRanker().score(train)
    with pytest.raises(NotImplementedError, match="no per-event probabilities"):
        LightGBMRanker(rounds=2).fit(train).event_probabilities(train)
