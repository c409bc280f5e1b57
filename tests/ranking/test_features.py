"""Point-in-time features on real Taobao events: counts agree with brute force, and features at
a moment equal those computed from the log cut at that moment (no leakage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import Interactions
from furima.exceptions import DataError, NotFittedError
from furima.ranking._features import DAY_S, FeatureBuilder, Timeline

FIXTURE = Path(__file__).parents[1] / "fixtures" / "taobao_60_users.parquet"
EVENTS = {"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"}


def taobao(log: pd.DataFrame) -> tuple[Interactions, np.ndarray]:
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
    return events, by_item.loc[list(events.items.ids)].to_numpy()


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return pd.read_parquet(FIXTURE)


@pytest.fixture(scope="module")
def events(log: pd.DataFrame) -> tuple[Interactions, np.ndarray, int]:
    interactions, category = taobao(log)
    cutoff = int(np.quantile(interactions.timestamp, 0.4)) // DAY_S * DAY_S
    return interactions, category, cutoff


@pytest.fixture(scope="module")
def builder(events: tuple[Interactions, np.ndarray, int]) -> FeatureBuilder:
    interactions, category, cutoff = events
    return FeatureBuilder(generators=("popularity", "item_knn", "als")).fit(
        interactions, category=category, generators_before=cutoff
    )


def test_timeline_counts_and_dates_events_strictly_before_each_moment() -> None:
    keys = np.array([3, 3, 3, 7, 7, 9])
    times = np.array([10, 20, 20, 5, 30, 1])
    timeline = Timeline(keys, times)
    query_keys = np.array([3, 3, 3, 7, 7, 8, -1, 9])
    moments = np.array([10, 20, 21, 5, 100, 50, 50, 0])
    assert timeline.count(query_keys, moments).tolist() == [0, 1, 3, 0, 2, 0, 0, 0]
    last = timeline.last(query_keys, moments)
    assert np.array_equal(
        last, [np.nan, 10, 20, np.nan, 30, np.nan, np.nan, np.nan], equal_nan=True
    )
    first = timeline.first(query_keys, moments)
    assert np.array_equal(
        first, [np.nan, 10, 10, np.nan, 5, np.nan, np.nan, np.nan], equal_nan=True
    )


def test_an_empty_timeline_counts_nothing() -> None:
    empty = Timeline(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert empty.count(np.array([1, 2]), np.array([5, 6])).tolist() == [0, 0]
    assert np.isnan(empty.last(np.array([1]), np.array([5]))).all()


def test_counts_match_a_brute_force_count_on_real_events(
    builder: FeatureBuilder, events: tuple[Interactions, np.ndarray, int]
) -> None:
    interactions = events[0]
    rng = np.random.default_rng(0)
    rows = rng.choice(len(interactions), 40, replace=False)
    users, items = interactions.user[rows].astype(int), interactions.item[rows].astype(int)
    moments = interactions.timestamp[rows] + rng.integers(-DAY_S, DAY_S, 40)
    frame = builder.frame(users, items, moments)
    for row, (user, item, moment) in enumerate(zip(users, items, moments, strict=True)):
        before = interactions.timestamp < moment
        mine = before & (interactions.user == user)
        views = interactions.event == interactions.event_types.index("view")
        assert frame["user_n_view"][row] == (mine & views).sum()
        assert frame["item_users"][row] == len(
            np.unique(interactions.user[before & (interactions.item == item)])
        )
        assert frame["ui_n_view"][row] == (mine & views & (interactions.item == item)).sum()
        assert frame["user_items"][row] == len(np.unique(interactions.item[mine]))


def test_features_at_a_moment_equal_those_from_the_log_cut_there(
    builder: FeatureBuilder, events: tuple[Interactions, np.ndarray, int]
) -> None:
    interactions, category, cutoff = events
    moment = int(np.quantile(interactions.timestamp, 0.7))
    cut = FeatureBuilder(generators=("popularity", "item_knn", "als")).fit(
        interactions.subset(interactions.timestamp < moment),
        category=category,
        generators_before=cutoff,
    )
    rng = np.random.default_rng(1)
    users = rng.integers(0, interactions.n_users, 300)
    items = rng.integers(0, interactions.n_items, 300)
    seen = interactions.item[rng.choice(len(interactions), 100)].astype(int)  # some known pairs
    items[:100] = seen
    moments = np.full(300, moment)
    full, truncated = builder.matrix(users, items, moments), cut.matrix(users, items, moments)
    np.testing.assert_allclose(full, truncated, rtol=1e-5, atol=1e-6)
    later = builder.matrix(users, items, moments + 2 * DAY_S)
    assert not np.allclose(full, later, equal_nan=True)  # the future does change them


def test_feature_names_cover_every_column_and_category_is_categorical(
    builder: FeatureBuilder,
) -> None:
    names = builder.features
    assert len(names) == len(set(names))
    assert builder.matrix(np.array([0]), np.array([0]), np.array([10**10])).shape == (1, len(names))
    for expected in (
        "user_n_purchase",
        "item_conv_purchase",
        "uc_share",
        "gen_als",
        "als_similarity",
    ):
        assert expected in names
    assert builder.categorical == ("item_category",)


def test_unknown_user_gets_zero_counts_and_no_history_scores(builder: FeatureBuilder) -> None:
    frame = builder.frame(np.array([-1]), np.array([0]), np.array([10**10]))
    assert frame["user_n_view"][0] == 0 and frame["ui_n_view"][0] == 0
    assert np.isnan(frame["user_since_last"][0]) and np.isnan(frame["gen_item_knn"][0])


def test_listing_prices_and_categories_come_through_item_columns(
    events: tuple[Interactions, np.ndarray, int],
) -> None:
    interactions = events[0]
    ids = interactions.items.ids[:3]
    listings = pd.DataFrame({"id": ids, "category": ["Shoes", "Bags", "Shoes"], "price": [5, 7, 9]})
    built = FeatureBuilder(generators=()).fit(interactions, listings=listings)
    frame = built.frame(np.zeros(4, int), np.arange(4), np.full(4, 10**10))
    assert frame["item_price"][:3].tolist() == [5, 7, 9] and np.isnan(frame["item_price"][3])
    assert frame["item_category"].tolist() == [0, 1, 0, -1]


def test_bad_input_is_refused_clearly(events: tuple[Interactions, np.ndarray, int]) -> None:
    interactions = events[0]
    with pytest.raises(DataError, match="category= has 2 values but the log names"):
        FeatureBuilder(generators=()).fit(interactions, category=["a", "b"])
    with pytest.raises(DataError, match="interaction log is empty"):
        FeatureBuilder().fit(interactions.subset(np.zeros(len(interactions), bool)))
    with pytest.raises(NotFittedError):
        _ = FeatureBuilder().features
