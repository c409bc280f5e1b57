"""The ``recommend`` task: two endpoints, one registered model, batched, swapped together."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from furima.recommend import Recommender
from furima.registry import ModelRegistry
from furima.serve import ServeSettings, create_app, running_server
from furima.serve._task_recommend import (
    RECOMMEND_TASK,
    RecommendRequest,
    SimilarItemsRequest,
)

from .recommend_model import catalog, fit_tiny

POLL = 0.1


@pytest.fixture(scope="module")
def model() -> Recommender:
    return fit_tiny()


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return catalog().set_index("id")


@pytest.fixture(scope="module")
def served(
    model: Recommender, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ModelRegistry, Path]]:
    """A server for the registry's ``recommend`` task, version 1 as champion."""
    root = tmp_path_factory.mktemp("recommend-serving")
    registry = ModelRegistry(root / "registry")
    registry.log_model(model.save(root / "v1"), task="recommend", alias="champion")
    settings = ServeSettings(tasks=("recommend",), poll_seconds=POLL, max_batch_wait_ms=5)
    with running_server(create_app(settings, registry=registry)) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        yield url, registry, root


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=30)


def test_both_endpoints_answer_from_the_one_registered_model(
    served: tuple[str, ModelRegistry, Path], model: Recommender, listings: pd.DataFrame
) -> None:
    url = served[0]
    user = model.users_sample(1)[0]
    feed = post(url, "/v1/recommend", {"user_id": user, "k": 20})
    assert feed.status_code == 200, feed.text
    body = feed.json()
    expected = model.recommend([user], k=20)[0]
    assert [item["id"] for item in body["items"]] == expected.ids
    assert body["model"] == {"task": "recommend", "version": 1, "route": "champion"}
    assert body["query"] == user and body["notes"] == []
    first = body["items"][0]
    assert first["reason"] == expected.items[0].reason
    assert first["reason"].startswith("because you viewed “")
    assert first["title"] == listings.loc[first["id"], "title"]
    assert first["price"] == listings.loc[first["id"], "price"]
    assert first["category"] == listings.loc[first["id"], "article_type"]
    assert first["photo_url"] == f"/v1/recommend/listings/{first['id']}/photo"

    similar = post(url, "/v1/similar-items", {"listing_id": first["id"], "k": 5})
    assert similar.status_code == 200, similar.text
    alike = similar.json()
    assert [i["id"] for i in alike["items"]] == model.similar_items([first["id"]], k=5)[0].ids
    assert alike["model"]["version"] == 1 and similar.headers["x-model-version"] == "1"
    assert first["id"] not in {item["id"] for item in alike["items"]}

    folded = post(url, "/v1/recommend", {"history": [first["id"]], "k": 5}).json()
    assert folded["query"] is None and len(folded["items"]) == 5


def test_unknown_user_gets_popular_listings_with_a_note(
    served: tuple[str, ModelRegistry, Path],
) -> None:
    answer = post(served[0], "/v1/recommend", {"user_id": "just-arrived", "k": 4})
    assert answer.status_code == 200
    body = answer.json()
    assert body["notes"] == ["user 'just-arrived' is unknown: popular listings instead"]
    assert len(body["items"]) == 4
    assert all(item["reason"].startswith("popular in ") for item in body["items"])


def test_filters_apply_and_sold_listings_never_come_back(
    served: tuple[str, ModelRegistry, Path], model: Recommender, listings: pd.DataFrame
) -> None:
    url = served[0]
    for user in model.users_sample(5):
        ids = [
            i["id"] for i in post(url, "/v1/recommend", {"user_id": user, "k": 60}).json()["items"]
        ]
        assert (listings.loc[ids, "status"] == "on_sale").all()
    body = {"user_id": model.users_sample(1)[0], "k": 10}
    body["filters"] = {"category": ["Watches", "Handbags"], "price": [None, 1200]}
    rows = listings.loc[[i["id"] for i in post(url, "/v1/recommend", body).json()["items"]]]
    assert len(rows) == 10
    assert set(rows["article_type"]) <= {"Watches", "Handbags"}
    assert (rows["price"] <= 1200).all()


BAD_REQUESTS = [
    ("/v1/recommend", {"user_id": "u", "k": 0}, "k: Input should be greater than or equal to 1"),
    ("/v1/recommend", {"user_id": "u", "k": 101}, "k: Input should be less than or equal to 100"),
    ("/v1/recommend", {"user_id": "u", "history": ["1"]}, "exactly one of `user_id` or `history`"),
    ("/v1/recommend", {"k": 5}, "exactly one of `user_id` or `history`"),
    ("/v1/recommend", {"user_id": "u", "filters": {"price": [50, 10]}}, "low <= high"),
    ("/v1/recommend", {"user_id": "u", "filters": {"colour": "Red"}}, "cannot filter on 'colour'"),
    ("/v1/similar-items", {"listing_id": "1548", "k": -1}, "greater than or equal to 1"),
    ("/v1/similar-items", {"k": 3}, "listing_id: Field required"),
]


@pytest.mark.parametrize(("path", "body", "words"), BAD_REQUESTS)
def test_bad_requests_get_422_json_saying_what_is_wrong(
    served: tuple[str, ModelRegistry, Path], path: str, body: dict[str, Any], words: str
) -> None:
    answer = post(served[0], path, body)
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]


def test_listing_photo_and_sample_user_routes(
    served: tuple[str, ModelRegistry, Path], model: Recommender, listings: pd.DataFrame
) -> None:
    url = served[0]
    users = httpx.get(f"{url}/v1/recommend/users", params={"n": 3}).json()
    assert users == {"users": model.users_sample(3), "version": 1}
    listing_id = listings.index[1]
    shown = httpx.get(f"{url}/v1/recommend/listings/{listing_id}").json()
    assert shown["title"] == listings.loc[listing_id, "title"]
    assert shown["photo_url"] == f"/v1/recommend/listings/{listing_id}/photo"
    photo = httpx.get(f"{url}{shown['photo_url']}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == listings.loc[listing_id, "jpeg"]
    again = httpx.get(
        f"{url}{shown['photo_url']}", headers={"if-none-match": photo.headers["etag"]}
    )
    assert again.status_code == 304
    missing = httpx.get(f"{url}/v1/recommend/listings/no-such-listing/photo")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "unknown_listing"


def test_requests_of_one_micro_batch_share_one_model_call(model: Recommender) -> None:
    calls: list[tuple[str, int, int]] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(model, name)

        def recommend(self, users: Any = None, **kwargs: Any) -> Any:
            queries = users if users is not None else kwargs["histories"]
            calls.append(("recommend", len(queries), kwargs["k"]))
            return model.recommend(users, **kwargs)

        def similar_items(self, items: Any, **kwargs: Any) -> Any:
            calls.append(("similar", len(items), kwargs["k"]))
            return model.similar_items(items, **kwargs)

    users = model.users_sample(8)
    requests = [RecommendRequest(user_id=u, k=20) for u in users[:6]]  # type: ignore[call-arg]
    requests.append(RecommendRequest(user_id=users[6], k=5))  # type: ignore[call-arg]
    requests.append(RecommendRequest(history=["1548"], k=20))  # type: ignore[call-arg]
    answers = RECOMMEND_TASK.predict(Counting(), requests)
    assert sorted(calls) == [("recommend", 1, 5), ("recommend", 1, 20), ("recommend", 6, 20)]
    one_by_one = [RECOMMEND_TASK.predict(model, [r])[0] for r in requests]
    assert answers == one_by_one

    calls.clear()
    similar = RECOMMEND_TASK.endpoints[0]
    asked = [SimilarItemsRequest(listing_id=i, k=3) for i in ("1548", "1798", "2138")]  # type: ignore[call-arg]
    assert len(similar.predict(Counting(), asked)) == 3
    assert calls == [("similar", 3, 3)]


def test_concurrent_requests_are_batched_and_measured_per_endpoint(
    served: tuple[str, ModelRegistry, Path], model: Recommender
) -> None:
    url = served[0]
    users = model.users_sample(16)
    with ThreadPoolExecutor(16) as pool:
        answers = list(
            pool.map(lambda u: post(url, "/v1/recommend", {"user_id": u, "k": 20}), users * 4)
        )
    assert {a.status_code for a in answers} == {200}
    post(url, "/v1/similar-items", {"listing_id": "1548"})
    metrics = httpx.get(f"{url}/metrics").text
    batches = [
        line for line in metrics.splitlines()
        if line.startswith('furima_batch_size_count{endpoint="/v1/recommend",task="recommend"}')
    ]  # fmt: skip
    assert batches and float(batches[0].rsplit(" ", 1)[1]) < 64  # fewer model calls than requests
    assert (
        'furima_endpoint_requests_total{endpoint="/v1/similar-items",status="200",task="recommend"}'
        in metrics
    )
    assert (
        'furima_endpoint_request_seconds_count{endpoint="/v1/recommend",task="recommend"}'
        in metrics
    )


def test_a_new_champion_swaps_both_endpoints_at_once(
    served: tuple[str, ModelRegistry, Path], model: Recommender
) -> None:
    url, registry, root = served
    popular_only = fit_tiny(generators=("popularity",))
    registry.log_model(popular_only.save(root / "v2"), task="recommend", alias="champion")
    wait_for(lambda: httpx.get(f"{url}/v1/models/recommend").json()["champion"] == 2)
    user = model.users_sample(1)[0]
    feed = post(url, "/v1/recommend", {"user_id": user, "k": 5}).json()
    similar = post(url, "/v1/similar-items", {"listing_id": "1548", "k": 5}).json()
    assert feed["model"]["version"] == similar["model"]["version"] == 2
    assert [i["id"] for i in feed["items"]] == popular_only.recommend([user], k=5)[0].ids
    assert {item["source"] for item in feed["items"]} == {"popularity"}
    registry.rollback("recommend")
    wait_for(lambda: httpx.get(f"{url}/v1/models/recommend").json()["champion"] == 1)


def test_the_buyers_page_is_served_with_a_strict_policy(
    served: tuple[str, ModelRegistry, Path],
) -> None:
    page = httpx.get(f"{served[0]}/buyer")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/buyer.js"' in page.text
    assert httpx.get(f"{served[0]}/static/buyer.css").status_code == 200
