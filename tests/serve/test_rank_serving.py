"""The ``rank`` task: ``POST /v1/rank`` from a registered FeedRanker, and the ``recommend``
feed ordered by the served ranker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from furima.catalog import Interactions, read_interactions
from furima.ranking import FeedRanker, LightGBMRanker, item_categories
from furima.recommend import Recommender
from furima.registry import ModelRegistry
from furima.serve import ServeSettings, create_app, running_server

from .test_recommend_serving import wait_for

FIXTURE = Path(__file__).parents[1] / "fixtures" / "taobao_60_users.parquet"


@pytest.fixture(scope="module")
def log() -> tuple[Interactions, np.ndarray]:
    events = read_interactions(FIXTURE, mapping="taobao").interactions
    return events, item_categories(pd.read_parquet(FIXTURE), events.items)


@pytest.fixture(scope="module")
def ranker(log: tuple[Interactions, np.ndarray]) -> FeedRanker:
    events, category = log
    return FeedRanker(LightGBMRanker(rounds=40), candidates_per_request=40).fit(
        events, category=category
    )


@pytest.fixture(scope="module")
def recommender(log: tuple[Interactions, np.ndarray]) -> Recommender:
    return Recommender(generators=("popularity", "item_knn")).fit(log[0])


@pytest.fixture(scope="module")
def served(
    ranker: FeedRanker, recommender: Recommender, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ModelRegistry]]:
    root = tmp_path_factory.mktemp("rank-serving")
    registry = ModelRegistry(root / "registry")
    registry.log_model(ranker.save(root / "rank"), task="rank", alias="champion")
    registry.log_model(recommender.save(root / "recommend"), task="recommend", alias="champion")
    settings = ServeSettings(tasks=("rank", "recommend"), poll_seconds=0.1, max_batch_wait_ms=5)
    with running_server(create_app(settings, registry=registry)) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        yield url, registry


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=30)


def test_ranks_candidates_as_the_library_does(
    served: tuple[str, ModelRegistry], ranker: FeedRanker, log: tuple[Interactions, np.ndarray]
) -> None:
    user = ranker.users_sample(1)[0]
    candidates = [str(i) for i in log[0].items.ids[:200]]
    answer = post(served[0], "/v1/rank", {"user_id": user, "candidates": candidates})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = ranker.rank([{"user": user, "candidates": candidates}])[0]
    assert [item["id"] for item in body["items"]] == expected.ids
    assert len(body["items"]) == 200 and body["user"] == user and body["notes"] == []
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert body["model"] == {"task": "rank", "version": 1, "route": "champion"}


def test_fill_k_and_unknowns_answer_with_notes(served: tuple[str, ModelRegistry]) -> None:
    url = served[0]
    filled = post(url, "/v1/rank", {"user_id": "nobody-at-all", "fill": 30, "k": 5}).json()
    assert len(filled["items"]) == 5
    assert any("unknown" in note for note in filled["notes"])
    visitor = post(url, "/v1/rank", {"candidates": ["no-such-listing", "also-missing"]}).json()
    assert visitor["items"] == []
    assert visitor["notes"] == ["left out 2 unknown listing(s): no-such-listing, also-missing"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"user_id": "1", "candidates": []}, "at least 1 item"),
        ({"user_id": "1", "candidates": [str(i) for i in range(10_000)]}, "at most 1000 items"),
        ({"user_id": "1"}, "exactly one of `candidates`"),
        ({"user_id": "1", "fill": 0}, "greater than or equal to 1"),
        ({"user_id": "1", "history": ["2"], "fill": 3}, "not both"),
        ({"user_id": "1", "fill": 3, "colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_requests_get_a_422_that_says_why(
    served: tuple[str, ModelRegistry], body: dict[str, Any], words: str
) -> None:
    answer = post(served[0], "/v1/rank", body)
    assert answer.status_code == 422
    assert words in answer.text


def test_the_feed_is_ordered_by_the_served_ranker(
    served: tuple[str, ModelRegistry], ranker: FeedRanker, recommender: Recommender
) -> None:
    user = recommender.users_sample(1)[0]
    feed = post(served[0], "/v1/recommend", {"user_id": user, "k": 10}).json()
    assert len(feed["items"]) == 10 and "ordered by the ranker" in feed["notes"]
    pool = recommender.recommend([user], k=100)[0].ids
    best = ranker.rank([{"user": user, "candidates": pool}])[0].ids[:10]
    assert [item["id"] for item in feed["items"]] == best
    assert all(item["reason"] for item in feed["items"])  # the recommender's reasons stay


def test_a_ranker_of_another_catalog_leaves_the_feed_as_it_was() -> None:
    from furima.ranking import RankedFeed
    from furima.serve._task_rank import rerank_feeds

    class Stranger:
        def rank(self, requests: list[dict[str, Any]]) -> list[RankedFeed]:
            return [RankedFeed(None, [], ["left out every listing"]) for _ in requests]

    answer = {"query": "7", "items": [{"id": "a", "score": 2.0}, {"id": "b", "score": 1.0}]}
    answer["notes"] = []
    kept = rerank_feeds(Stranger(), [{"user": "7"}], [answer])[0]
    assert [item["id"] for item in kept["items"]] == ["a", "b"]
    assert kept["notes"] == [
        "kept the recommender's order: the served ranker knows none of these listings"
    ]


def test_the_api_document_lists_both_tasks(served: tuple[str, ModelRegistry]) -> None:
    document = httpx.get(f"{served[0]}/openapi.json", timeout=30)
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert {"/v1/rank", "/v1/recommend", "/v1/recommend/listings/{listing_id}/photo"} <= set(paths)
