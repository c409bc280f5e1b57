"""Ranking examples from real Taobao events: requests per day, candidates with the day's items
among negatives, labels that agree with the log, and the contract's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import Interactions
from furima.exceptions import DataError, SchemaError
from furima.ranking import RankingExamples, label_column
from furima.ranking._examples import (
    CandidateSettings,
    build_examples,
    daily_requests,
    last_day_requests,
)
from furima.ranking._features import DAY_S, FeatureBuilder

FIXTURE = Path(__file__).parents[1] / "fixtures" / "taobao_60_users.parquet"
EVENTS = {"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"}


@pytest.fixture(scope="module")
def interactions() -> Interactions:
    log = pd.read_parquet(FIXTURE)
    frame = pd.DataFrame(
        {
            "user": log["user_id"].astype(str),
            "item": log["item_id"].astype(str),
            "timestamp": log["timestamp"].astype(np.int64),
            "event": log["behavior_type"].astype(str).map(EVENTS),
        }
    )
    return Interactions.from_frame(frame, event_weights=dict.fromkeys(EVENTS.values(), 1.0))


@pytest.fixture(scope="module")
def cutoff(interactions: Interactions) -> int:
    return int(np.quantile(interactions.timestamp, 0.4)) // DAY_S * DAY_S


@pytest.fixture(scope="module")
def examples(interactions: Interactions, cutoff: int) -> RankingExamples:
    builder = FeatureBuilder(generators=("popularity", "item_knn")).fit(
        interactions, generators_before=cutoff
    )
    requests = last_day_requests(interactions)
    settings = CandidateSettings(size=50, generated=20, popular=10, seed=0)
    return build_examples(interactions, requests, builder=builder, candidates=settings)


def test_daily_requests_start_each_active_day_and_window_it(
    interactions: Interactions, cutoff: int
) -> None:
    requests = daily_requests(interactions, start=cutoff)
    days = pd.DataFrame(
        {
            "user": interactions.users.external(interactions.user),
            "day": interactions.timestamp // DAY_S,
        }
    ).drop_duplicates()
    expected = days[days["day"] >= cutoff // DAY_S]
    assert len(requests) == len(expected)
    assert (requests["timestamp"] % DAY_S == 0).all()
    assert (requests["until"] - requests["timestamp"] == DAY_S).all()
    assert requests["timestamp"].min() == cutoff


def test_last_day_requests_one_per_user_at_their_last_active_day(
    interactions: Interactions,
) -> None:
    requests = last_day_requests(interactions)
    assert len(requests) == interactions.n_users == requests["user"].nunique()
    frame = interactions.to_frame()
    last = frame.groupby("user")["timestamp"].max() // DAY_S * DAY_S
    assert (requests.set_index("user")["timestamp"] == last.loc[requests["user"]]).all()


def test_labels_are_what_each_user_did_on_each_candidate_that_day(
    examples: RankingExamples, interactions: Interactions
) -> None:
    frame, log = examples.frame, interactions.to_frame()
    assert examples.events == ("view", "cart", "like", "purchase")
    for _, request in frame.groupby("request").head(1).head(15).iterrows():
        rows = frame[frame["request"] == request["request"]]
        day = log[
            (log["user"] == request["user"])
            & (log["timestamp"] >= request["timestamp"])
            & (log["timestamp"] < request["timestamp"] + DAY_S)
        ]
        assert set(day["item"]) <= set(rows["item"])  # every item of the day is a candidate
        for event in examples.events:
            done = set(day.loc[day["event"] == event, "item"])
            labelled = set(rows.loc[rows[label_column(event)] == 1, "item"])
            assert labelled == done


def test_layout_follows_the_contract(examples: RankingExamples) -> None:
    sizes = examples.group_sizes()
    assert len(sizes) == 60 and (sizes >= 50).all()
    frame = examples.frame
    assert list(frame.columns[:4]) == ["request", "user", "item", "timestamp"]
    assert (np.diff(frame["timestamp"].to_numpy()) >= 0).all()  # requests in time order
    assert not frame.duplicated(["request", "item"]).any()
    assert examples.matrix().shape == (len(frame), len(examples.features))
    assert examples.labels("view").sum() > 0 and examples.has_labels


def test_same_seed_same_examples(
    examples: RankingExamples, interactions: Interactions, cutoff: int
) -> None:
    builder = FeatureBuilder(generators=("popularity", "item_knn")).fit(
        interactions, generators_before=cutoff
    )
    again = build_examples(
        interactions,
        last_day_requests(interactions),
        builder=builder,
        candidates=CandidateSettings(size=50, generated=20, popular=10, seed=0),
    )
    pd.testing.assert_frame_equal(again.frame, examples.frame)


def test_bad_requests_are_refused(interactions: Interactions) -> None:
    builder = FeatureBuilder(generators=()).fit(interactions)
    with pytest.raises(SchemaError, match="requests lack the columns"):
        build_examples(interactions, pd.DataFrame({"user": ["x"]}), builder=builder)
    strangers = pd.DataFrame({"user": ["nobody"], "timestamp": [0]})
    with pytest.raises(DataError, match="1 requests name users not in the log"):
        build_examples(interactions, strangers, builder=builder)
    with pytest.raises(DataError, match="events \\['click'\\] are not in the log"):
        build_examples(interactions, strangers, builder=builder, events=["click"])
    with pytest.raises(DataError, match="candidate settings must be size >= 1"):
        CandidateSettings(size=0)
