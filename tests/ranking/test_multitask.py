"""The multi-task neural ranker on synthetic requests whose events follow known rules: every
architecture learns them, scores are the business-weighted sum of calibrated probabilities,
fits are deterministic, the ONNX graph matches torch, and saved rankers load the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, ModelFormatError, NotFittedError, SchemaError
from furima.ranking import RankingExamples, label_column
from furima.ranking._mtl_features import FeatureTransform
from furima.ranking._multitask import MultiTaskRanker, ndcg_at_10

EVENTS = ("view", "cart", "like", "buy")
FEATURES = ("user_events", "item_views", "price", "similarity", "category")
FAST: dict[str, Any] = {
    "epochs": 6,
    "hidden": 16,
    "tower": 8,
    "experts": 2,
    "batch_rows": 128,
    "threads": 1,
}


def synthetic_examples(
    n_requests: int, candidates: int, seed: int, first: int = 0
) -> RankingExamples:
    """Requests whose views follow item popularity, similarity and category; carts and buys
    follow views, likes follow similarity; 10% of prices missing, 5% of categories unknown."""
    rng = np.random.default_rng(seed)
    n = n_requests * candidates
    item_views = rng.lognormal(2.0, 1.5, n).round()
    similarity = rng.uniform(-1, 1, n)
    category = rng.integers(0, 8, n)
    price = rng.lognormal(3.0, 1.0, n)
    taste = np.log1p(item_views) * 0.6 + 1.5 * similarity + np.linspace(-1, 1, 8)[category]
    view = rng.random(n) < _sigmoid(taste + rng.normal(0, 0.5, n) - 2.5)
    cart = view & (rng.random(n) < _sigmoid(1.2 * taste - 2.0))
    like = view & (rng.random(n) < _sigmoid(similarity * 3 - 1.5))
    buy = cart & (rng.random(n) < _sigmoid(taste - 0.02 * price))
    price[rng.random(n) < 0.1] = np.nan
    category[rng.random(n) < 0.05] = -1
    frame = pd.DataFrame(
        {
            "request": np.repeat(np.arange(first, first + n_requests), candidates),
            "user": np.repeat([f"u{i % 50}" for i in range(n_requests)], candidates),
            "item": [f"i{j}" for j in rng.integers(0, 500, n)],
            "timestamp": np.repeat(np.arange(n_requests, dtype=np.int64) * 60, candidates),
            "user_events": np.repeat(rng.poisson(20, n_requests), candidates).astype(float),
            "item_views": item_views,
            "price": price,
            "similarity": similarity,
            "category": category,
        }
    )
    for event, labels in zip(EVENTS, (view, cart, like, buy), strict=True):
        frame[label_column(event)] = labels.astype(np.int8)
    return RankingExamples(frame, FEATURES, EVENTS, ("category",))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1 / (1 + np.exp(-x))
    return result


@pytest.fixture(scope="module")
def splits() -> tuple[RankingExamples, RankingExamples, RankingExamples]:
    return (
        synthetic_examples(150, 12, 0),
        synthetic_examples(60, 12, 1, first=1000),
        synthetic_examples(60, 12, 2, first=2000),
    )


@pytest.fixture(scope="module")
def fitted(splits: tuple[RankingExamples, ...]) -> MultiTaskRanker:
    train, valid, _ = splits
    weights = {"view": 1, "cart": 3, "like": 2, "buy": 5}
    return MultiTaskRanker(architecture="mmoe", score_weights=weights, **FAST).fit(train, valid)


def _ndcg(examples: RankingExamples, event: str, scores: np.ndarray) -> float:
    return ndcg_at_10(examples.labels(event), scores, examples.frame["request"].to_numpy())


@pytest.mark.parametrize("architecture", ["shared_bottom", "mmoe", "ple"])
def test_every_architecture_learns_every_event(
    splits: tuple[RankingExamples, ...], architecture: str
) -> None:
    train, valid, test = splits
    ranker = MultiTaskRanker(architecture=architecture, levels=2, **FAST).fit(train, valid)
    probabilities = ranker.event_probabilities(test)
    chance = np.random.default_rng(0).random(len(test))
    for event in EVENTS:
        assert _ndcg(test, event, probabilities[event]) > _ndcg(test, event, chance) + 0.1, event
    assert set(ranker.calibration_report_) == set(EVENTS)
    assert len(ranker.best_epochs_) == 1 and 1 <= ranker.best_epochs_[0] <= FAST["epochs"]


def test_score_is_the_weighted_sum_of_calibrated_probabilities(
    fitted: MultiTaskRanker, splits: tuple[RankingExamples, ...]
) -> None:
    test = splits[2]
    p = fitted.event_probabilities(test)
    expected = p["view"] + 3 * p["cart"] + 2 * p["like"] + 5 * p["buy"]
    assert fitted.score(test) == pytest.approx(expected, rel=1e-5)
    assert all(v.shape == (len(test),) and v.dtype == np.float32 for v in p.values())
    assert all((v >= 0).all() and (v <= 1).all() for v in p.values())


def test_score_weights_change_without_retraining(
    fitted: MultiTaskRanker, splits: tuple[RankingExamples, ...]
) -> None:
    test = splits[2]
    buyer = fitted.with_score_weights({"buy": 1})
    assert buyer.score(test) == pytest.approx(fitted.event_probabilities(test)["buy"])
    assert fitted.weights_ == {"view": 1.0, "cart": 3.0, "like": 2.0, "buy": 5.0}
    with pytest.raises(ValueError, match=r"`score_weights` names events \['click'\]"):
        fitted.with_score_weights({"click": 1})


def test_calibration_lowers_the_error_on_valid(fitted: MultiTaskRanker) -> None:
    report = fitted.calibration_report_
    assert set(report["buy"]) == {"ece_before", "ece_after"}
    assert np.mean([r["ece_after"] for r in report.values()]) < np.mean(
        [r["ece_before"] for r in report.values()]
    )


def test_onnx_matches_torch_and_fits_are_deterministic(
    fitted: MultiTaskRanker, splits: tuple[RankingExamples, ...]
) -> None:
    from furima.ranking._mtl_training import predict_log_proba

    train, valid, test = splits
    again = MultiTaskRanker(
        architecture="mmoe", score_weights={"view": 1, "cart": 3, "like": 2, "buy": 5}, **FAST
    ).fit(train, valid)
    first, second = fitted.event_probabilities(test), again.event_probabilities(test)
    for event in EVENTS:
        np.testing.assert_array_equal(first[event], second[event])
    numeric, categorical = fitted.transform_.apply(test.matrix(), test.features)
    assert again._net is not None  # the torch network is kept after fit
    torch_p = np.exp(predict_log_proba(again._net, numeric, categorical))
    raw = fitted.event_probabilities(test, calibrated=False)
    np.testing.assert_allclose(np.stack([raw[e] for e in EVENTS], 1), torch_p, atol=1e-5)


def test_save_and_load_give_the_same_scores(
    fitted: MultiTaskRanker, splits: tuple[RankingExamples, ...], tmp_path: Path
) -> None:
    test = splits[2]
    folder = fitted.save(tmp_path / "ranker")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "furima.multitask_ranker"
    assert sorted(manifest["files"]) == ["calibration.npz", "network.onnx", "transform.npz"]
    loaded = MultiTaskRanker.load(folder)
    np.testing.assert_array_equal(loaded.score(test), fitted.score(test))
    assert loaded.weights_ == fitted.weights_ and loaded.events_ == EVENTS
    (folder / "network.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        MultiTaskRanker.load(folder)
    with pytest.raises(ModelFormatError, match=r"has no manifest\.json"):
        MultiTaskRanker.load(tmp_path)


def test_view_conditional_heads_never_exceed_the_view(splits: tuple[RankingExamples, ...]) -> None:
    train, valid, test = splits
    ranker = MultiTaskRanker(conditional_on="view", **FAST).fit(train, valid)
    raw = ranker.event_probabilities(test, calibrated=False)
    for event in ("cart", "like", "buy"):
        assert (raw[event] <= raw["view"] + 1e-6).all()


def test_listwise_term_and_single_event(splits: tuple[RankingExamples, ...]) -> None:
    train, valid, test = splits
    ranker = MultiTaskRanker(events=("view",), listwise_weight=1.0, **FAST).fit(train, valid)
    assert list(ranker.event_probabilities(test)) == ["view"]
    assert _ndcg(test, "view", ranker.score(test)) > 0.5
    assert all(np.isfinite(r["loss"]) for r in ranker.history_)


def test_transform_handles_missing_and_unknown_values(splits: tuple[RankingExamples, ...]) -> None:
    train = splits[0]
    transform = FeatureTransform.fit(train.matrix(), FEATURES, ("category",), min_count=2)
    assert transform.numeric == ("user_events", "item_views", "price", "similarity")
    assert transform.log.tolist() == [True, True, True, False]
    assert transform.indicate.tolist() == [False, False, True, False]
    rows = np.array([[20, 7, np.nan, 0.5, 3], [20, 7, 10, 0.5, 99], [20, 7, np.inf, 0.5, -1]])
    numeric, categorical = transform.apply(rows.astype(np.float32), FEATURES)
    assert numeric.shape == (3, 5) and numeric[:, -1].tolist() == [1, 0, 1]
    assert numeric[0, 2] == 0.0 and np.isfinite(numeric).all()
    assert categorical[:, 0].tolist() == [4, 0, 0]


def test_bad_settings_and_inputs(
    fitted: MultiTaskRanker, splits: tuple[RankingExamples, ...]
) -> None:
    train, _, test = splits
    with pytest.raises(ValueError, match=r"`architecture` must be one of .* got 'moe'"):
        MultiTaskRanker(architecture="moe").fit(train)
    with pytest.raises(ValueError, match=r"`head_weights` names events \['click'\]"):
        MultiTaskRanker(head_weights={"click": 2}).fit(train)
    with pytest.raises(ValueError, match="`conditional_on` must be one of the events"):
        MultiTaskRanker(conditional_on="click").fit(train)
    with pytest.raises(NotFittedError, match="call fit\\(\\) first"):
        MultiTaskRanker().score(test)
    no_buys = train.frame.assign(label_buy=0)
    with pytest.raises(DataError, match="no training example has a positive 'buy' label"):
        MultiTaskRanker().fit(RankingExamples(no_buys, FEATURES, EVENTS, ("category",)))
    fewer = RankingExamples(test.frame, FEATURES[:3], EVENTS)
    with pytest.raises(SchemaError, match=r"lack the feature columns \['similarity', 'category'\]"):
        fitted.score(fewer)
    empty = test.subset(np.zeros(len(test), bool))
    assert fitted.score(empty).shape == (0,)
    assert fitted.event_probabilities(empty)["buy"].shape == (0,)


def test_an_ensemble_averages_its_seeds(
    fitted: MultiTaskRanker, splits: tuple[RankingExamples, ...]
) -> None:
    train, valid, test = splits
    second = MultiTaskRanker(seed=1, **FAST).fit(train, valid)
    both = MultiTaskRanker(ensemble=2, **FAST).fit(train, valid)
    assert len(both.best_epochs_) == 2
    assert {record["seed"] for record in both.history_} == {0, 1}
    raw = both.event_probabilities(test, calibrated=False)
    one, two = (m.event_probabilities(test, calibrated=False) for m in (fitted, second))
    for event in EVENTS:
        np.testing.assert_allclose(raw[event], (one[event] + two[event]) / 2, atol=1e-5)


def test_unknown_users_and_items_in_a_huge_request(fitted: MultiTaskRanker) -> None:
    """10,000 candidates nobody has seen (every feature missing, unknown category): finite,
    equal scores, never a crash."""
    frame = pd.DataFrame(
        {
            "request": np.zeros(10_000, np.int64),
            "user": "new",
            "item": [f"new{i}" for i in range(10_000)],
            "timestamp": np.zeros(10_000, np.int64),
            **{name: np.full(10_000, np.nan) for name in FEATURES},
        }
    )
    scores = fitted.score(RankingExamples(frame, FEATURES, (), ("category",)))
    assert scores.shape == (10_000,) and np.isfinite(scores).all()
    assert np.ptp(scores) == 0.0
