"""FeedRanker on real Taobao events: trained point-in-time, it orders candidates with notes for
whatever it could not use, refuses bad requests clearly, is fast, and saves atomically."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import Interactions
from furima.exceptions import DataError, ModelFormatError, NotFittedError
from furima.ranking._lightgbm import LightGBMRanker
from furima.ranking._pipeline import FeedRanker, RankRequest

FIXTURE = Path(__file__).parents[1] / "fixtures" / "taobao_60_users.parquet"
EVENTS = {"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"}


@pytest.fixture(scope="module")
def log() -> tuple[Interactions, np.ndarray]:
    raw = pd.read_parquet(FIXTURE)
    frame = pd.DataFrame(
        {
            "user": raw["user_id"].astype(str),
            "item": raw["item_id"].astype(str),
            "timestamp": raw["timestamp"].astype(np.int64),
            "event": raw["behavior_type"].astype(str).map(EVENTS),
        }
    )
    events = Interactions.from_frame(frame, event_weights=dict.fromkeys(EVENTS.values(), 1.0))
    first = raw.drop_duplicates("item_id")
    by_item = pd.Series(first["category_id"].astype(str).to_numpy(), first["item_id"].astype(str))
    return events, by_item.loc[list(events.items.ids)].to_numpy()


@pytest.fixture(scope="module")
def model(log: tuple[Interactions, np.ndarray]) -> FeedRanker:
    events, category = log
    return FeedRanker(LightGBMRanker(rounds=60), candidates_per_request=60).fit(
        events, category=category
    )


@pytest.fixture(scope="module")
def candidates(log: tuple[Interactions, np.ndarray]) -> list[str]:
    items = log[0].items.ids
    return [str(i) for i in items[np.random.default_rng(0).choice(len(items), 200, False)]]


def test_learns_from_requests_after_the_generators_share(model: FeedRanker) -> None:
    assert model.training_["requests"] > 100
    assert model.builder_.generators_before_ is None  # refitted on every event for serving
    assert model.moment_ == int(model.builder_.events_.timestamp.max()) + 1


def test_puts_the_users_own_recent_categories_first(
    model: FeedRanker, log: tuple[Interactions, np.ndarray], candidates: list[str]
) -> None:
    events = log[0]
    user = str(events.users.ids[0])
    mine = events.items.external(model.builder_.history(0, model.moment_)[-5:]).tolist()
    answer = model.rank([{"user": user, "candidates": candidates + mine}])[0]
    assert len(answer.items) == len(set(candidates + mine))
    scores = [item.score for item in answer.items]
    assert scores == sorted(scores, reverse=True)
    top = set(answer.ids[:20])
    assert len(top & set(mine)) >= 3  # what the user just looked at ranks high


def test_notes_unknown_listings_duplicates_and_unknown_users(
    model: FeedRanker, log: tuple[Interactions, np.ndarray], candidates: list[str]
) -> None:
    user = str(log[0].users.ids[1])
    answers = model.rank(
        [
            {"user": user, "candidates": [*candidates[:3], "no-such", candidates[0]]},
            RankRequest(user="ghost", candidates=candidates[:4]),
            {"history": [candidates[5], "gone"], "candidates": candidates[:4]},
        ]
    )
    assert sorted(answers[0].ids) == sorted(candidates[:3])
    assert answers[0].notes == [
        "1 duplicate candidate(s) ranked once",
        "left out 1 unknown listing(s): no-such",
    ]
    assert answers[1].user == "ghost" and len(answers[1].items) == 4
    assert answers[1].notes == ["user 'ghost' is unknown: ranked by item features alone"]
    assert answers[2].notes == ["left out 1 unknown history listing(s): gone"]
    only_unknown = model.rank([{"user": user, "candidates": ["x", "y"]}])[0]
    assert only_unknown.items == [] and "left out 2 unknown listing(s): x, y" in only_unknown.notes


def test_fill_takes_candidates_from_the_generators(
    model: FeedRanker, log: tuple[Interactions, np.ndarray]
) -> None:
    user = str(log[0].users.ids[2])
    filled = model.rank([{"user": user, "fill": 15}, {"user": "ghost", "fill": 5}])
    assert len(filled[0].items) == 15 and filled[0].notes == []
    assert len(filled[1].items) == 5
    assert "no history: the most popular listings were ranked" in filled[1].notes


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"user": "1", "candidates": []}, "needs 1 to 1000 candidate ids"),
        ({"user": "1", "candidates": [str(i) for i in range(1001)]}, "at most 1000 candidates"),
        ({"user": "1", "fill": 0}, "fill must be an integer in \\[1, 1000\\]"),
        ({"user": "1", "fill": 2, "candidates": ["a"]}, "give candidates or fill, not both"),
        ({"user": "1", "items": ["a"]}, "unknown rank request fields \\['items'\\]"),
        (
            {"history": "abc", "candidates": ["a"]},
            "history is a list of listing ids, not one string",
        ),
    ],
)
def test_bad_requests_are_refused_clearly(
    model: FeedRanker, request_: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        model.rank([request_])


def test_ranks_200_candidates_in_a_few_milliseconds(
    model: FeedRanker, log: tuple[Interactions, np.ndarray], candidates: list[str]
) -> None:
    users = [str(u) for u in log[0].users.ids[:20]]
    model.rank([{"user": users[0], "candidates": candidates}])
    took = []
    for user in users:
        started = time.perf_counter()
        model.rank([{"user": user, "candidates": candidates}])
        took.append(time.perf_counter() - started)
    assert np.median(took) < 0.03


def test_saved_model_answers_the_same(
    tmp_path: Path, model: FeedRanker, log: tuple[Interactions, np.ndarray], candidates: list[str]
) -> None:
    request = {"user": str(log[0].users.ids[3]), "candidates": candidates}
    saved = model.save(tmp_path / "feed")
    assert json.loads((saved / "manifest.json").read_text())["format"] == "furima.feed_ranker"
    loaded = FeedRanker.load(saved)
    assert loaded.rank([request])[0] == model.rank([request])[0]
    (saved / "events.npz").write_bytes(b"broken")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        FeedRanker.load(saved)


def test_unfitted_and_misconfigured_rankers_say_so() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        FeedRanker().rank(["1"])
    with pytest.raises(DataError, match="generator_share must be in"):
        FeedRanker(generator_share=0.99)


def test_listings_give_prices_and_new_listings_can_be_ranked(
    log: tuple[Interactions, np.ndarray],
) -> None:
    events = log[0]
    ids = [str(i) for i in events.items.ids]
    listings = pd.DataFrame(
        {
            "id": [*ids, "brand-new"],
            "category": [f"c{i % 7}" for i in range(len(ids) + 1)],
            "price": np.arange(len(ids) + 1, dtype=float),
        }
    )
    small = FeedRanker(
        LightGBMRanker(rounds=10), candidates_per_request=20, generators=("popularity",)
    ).fit(events, listings=listings)
    assert "item_price" in small.builder_.features
    answer = small.rank([{"user": str(events.users.ids[0]), "candidates": ["brand-new", ids[1]]}])[
        0
    ]
    assert sorted(answer.ids) == sorted(["brand-new", ids[1]]) and answer.notes == []
