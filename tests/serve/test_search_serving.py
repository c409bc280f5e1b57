"""The ``search`` task: ``POST /v1/search`` from a registered buyer search, its GET routes,
batching and bad input, served by uvicorn from a registry (see search_model.py)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd
import pytest

from furima.registry import ModelRegistry
from furima.search import BuyerSearch
from furima.serve import ServeSettings, create_app, known_tasks, running_server
from furima.serve._search_routes import example_queries, facet_fields
from furima.serve._task_search import SEARCH_TASK, SearchRequest

from .search_model import build_tiny, listings, pooled

FACETS = ["category", "colour", "gender", "usage", "price"]


@pytest.fixture(scope="module")
def model() -> BuyerSearch:
    return build_tiny()


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return listings().set_index("id")


@pytest.fixture(scope="module")
def url(model: BuyerSearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server for the registry's ``search`` task (registered by its saved format)."""
    root = tmp_path_factory.mktemp("search-serving")
    registry = ModelRegistry(root / "registry")
    registry.log_model(model.save(root / "v1"), alias="champion")
    settings = ServeSettings(tasks=("search",), poll_seconds=0.2, max_batch_wait_ms=5)
    with running_server(create_app(settings, registry=registry)) as base:
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        yield base


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def search(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/v1/search", json=body, timeout=30)


def test_search_is_a_known_task_and_answers_as_the_library_does(
    url: str, model: BuyerSearch, catalog: pd.DataFrame
) -> None:
    assert "search" in known_tasks()
    answer = search(url, {"query": "black watch", "k": 5, "facets": FACETS})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = model.search("black watch", k=5, facets=FACETS)
    assert [hit["id"] for hit in body["results"]] == expected.ids.tolist()
    assert body["total"] == expected.total and body["offset"] == 0 and body["k"] == 5
    assert body["model"] == {"task": "search", "version": 1, "route": "champion"}
    first = body["results"][0]
    assert first["title"] == catalog.loc[first["id"], "title"]
    assert first["category"] == "Watches" and first["colour"] == "Black"
    assert first["price"] == catalog.loc[first["id"], "price"]
    assert first["photo_url"] == f"/v1/search/listings/{first['id']}/photo"
    assert body["facets"]["category"][0] == {"value": "Watches", "count": 26}
    assert sum(f["count"] for f in body["facets"]["price"]) == body["total"]
    assert set(body["facets"]) == set(FACETS)
    documented = httpx.get(f"{url}/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/search/examples", "/v1/search/listings/{listing_id}/photo"} <= set(
        documented
    )


def test_filters_narrow_and_facet_counts_match_the_next_page(
    url: str, catalog: pd.DataFrame
) -> None:
    everything = search(url, {"query": "shirt", "k": 10, "facets": FACETS}).json()
    shirts = next(f for f in everything["facets"]["category"] if f["value"] == "Shirts")
    narrowed = search(
        url, {"query": "shirt", "k": 100, "filters": {"category": ["Shirts"]}, "facets": FACETS}
    ).json()
    assert narrowed["total"] == shirts["count"] < everything["total"]
    ids = [hit["id"] for hit in narrowed["results"]]
    assert (catalog.loc[ids, "article_type"] == "Shirts").all()
    cheap = search(url, {"query": "shirt", "k": 100, "filters": {"price": [None, 900]}}).json()
    assert cheap["total"] > 0
    assert (catalog.loc[[hit["id"] for hit in cheap["results"]], "price"] <= 900).all()
    assert "sold" not in set(catalog.loc[ids, "status"])  # sold listings stay out


def test_pages_follow_each_other(url: str) -> None:
    first = search(url, {"query": "shoes", "k": 6}).json()
    second = search(url, {"query": "shoes", "k": 6, "offset": 6}).json()
    both = search(url, {"query": "shoes", "k": 12}).json()
    assert [h["id"] for h in first["results"] + second["results"]] == [
        h["id"] for h in both["results"]
    ]
    assert second["offset"] == 6


def test_a_photo_finds_its_own_listing_first(url: str) -> None:
    listing = pooled().iloc[7]
    photo = base64.b64encode(listing["jpeg"]).decode()
    body = search(url, {"photo": photo, "k": 5}).json()
    assert body["query"] is None and body["ranking"] == "photo"
    assert body["results"][0]["id"] == listing["id"]
    assert body["results"][0]["category"] == listing["article_type"]
    both = search(url, {"query": listing["title"], "photo": photo, "k": 5}).json()
    assert both["ranking"] == "text+photo" and both["results"][0]["id"] == listing["id"]


def test_a_large_photo_fits_the_body_limit_and_garbage_is_unreadable(url: str) -> None:
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG", quality=95)
    assert len(buffer.getvalue()) > 4 * ServeSettings().max_json_bytes
    large = search(url, {"photo": base64.b64encode(buffer.getvalue()).decode(), "k": 3})
    assert large.status_code == 200 and len(large.json()["results"]) == 3
    garbage = search(url, {"photo": base64.b64encode(b"not a photo at all").decode()})
    assert garbage.status_code == 422
    assert garbage.json()["error"]["type"] == "unreadable_photo"


BAD_REQUESTS = [
    ({"query": ""}, "type some words in `query` or send a `photo` to search with"),
    ({"query": "   ", "k": 3}, "type some words in `query` or send a `photo` to search with"),
    ({}, "type some words in `query` or send a `photo` to search with"),
    ({"query": "shirt", "k": 0}, "k: Input should be greater than or equal to 1"),
    ({"query": "shirt", "k": 101}, "k: Input should be less than or equal to 100"),
    ({"query": "shirt", "offset": -1}, "offset: Input should be greater than or equal to 0"),
    ({"query": "shirt", "photo": "not base64!"}, "the photo must be the image file's bytes"),
    ({"query": "shirt", "filters": {"price": [50, 10]}}, "needs min <= max, but got (50.0, 10.0)"),
    ({"query": "shirt", "filters": {"price": [10]}}, "a number, a (min, max) pair"),
    ({"query": "shirt", "filters": {"brand": "Nike"}}, "cannot filter on unknown field 'brand'"),
    ({"query": "shirt", "facets": ["brand"]}, "cannot count facets of unknown field(s)"),
    ({"query": "shirt", "filters": {"category": 3}}, "must be a string or a list of strings"),
    ({"query": "shirt", "colour": "Red"}, "colour: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "words"), BAD_REQUESTS)
def test_bad_requests_get_422_json_saying_what_is_wrong(
    url: str, body: dict[str, Any], words: str
) -> None:
    answer = search(url, body)
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]


def test_a_query_in_another_script_answers_with_a_note(url: str) -> None:
    body = search(url, {"query": "赤いドレス"}).json()
    assert body["total"] == 0 and body["results"] == []
    assert any("Chinese/Japanese" in note for note in body["notes"])


def test_photo_and_example_routes(url: str, model: BuyerSearch, catalog: pd.DataFrame) -> None:
    hit = search(url, {"query": "kurta", "k": 1}).json()["results"][0]
    photo = httpx.get(f"{url}{hit['photo_url']}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == catalog.loc[hit["id"], "jpeg"]
    again = httpx.get(f"{url}{hit['photo_url']}", headers={"if-none-match": photo.headers["etag"]})
    assert again.status_code == 304
    for missing in ("999999999", "no-such-listing"):
        gone = httpx.get(f"{url}/v1/search/listings/{missing}/photo")
        assert gone.status_code == 404 and gone.json()["error"]["type"] == "unknown_listing"
    examples = httpx.get(f"{url}/v1/search/examples", params={"n": 3}).json()
    assert examples == {
        "queries": example_queries(model, 3),
        "facets": ["category", "colour", "gender", "usage", "price"],
        "photo_search": True,
        "version": 1,
    }
    assert len(examples["queries"]) == 3
    types = set(catalog["article_type"])
    assert all(any(q.endswith(f" {t}") for t in types) for q in examples["queries"])
    assert facet_fields(model) == examples["facets"]
    assert httpx.get(f"{url}/v1/search/examples", params={"n": 0}).status_code == 422
    page = httpx.get(f"{url}/search")
    assert page.status_code == 200 and "<title>Search · furima</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_one_micro_batch_is_one_library_call_per_page_shape(model: BuyerSearch) -> None:
    calls: list[tuple[int, int, int]] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(model, name)

        def search_many(self, queries: list[str | None], **kwargs: Any) -> Any:
            calls.append((len(queries), kwargs["k"], kwargs["offset"]))
            return model.search_many(queries, **kwargs)

    requests = [
        SearchRequest.model_validate({"query": q, "k": 10})
        for q in ("shirt", "black watch", "red kurta", "handbag")
    ]
    requests.append(
        SearchRequest.model_validate({"query": "shoes", "k": 10, "filters": {"colour": "White"}})
    )
    requests.append(SearchRequest.model_validate({"query": "shoes", "k": 5}))
    answers = SEARCH_TASK.predict(Counting(), requests)
    assert sorted(calls) == [(1, 5, 0), (5, 10, 0)]
    assert answers == [SEARCH_TASK.predict(model, [r])[0] for r in requests]
    assert {hit["colour"] for hit in answers[4]["results"]} == {"White"}


def test_concurrent_requests_are_batched(url: str) -> None:
    queries = ["shirt", "black watch", "kurta", "handbag", "sports shoes", "tshirt"] * 4
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda q: search(url, {"query": q, "k": 8}), queries))
    assert {a.status_code for a in answers} == {200}
    metrics = httpx.get(f"{url}/metrics").text
    batches = [
        line for line in metrics.splitlines()
        if line.startswith('furima_batch_size_count{endpoint="/v1/search",task="search"}')
    ]  # fmt: skip
    assert batches and float(batches[0].rsplit(" ", 1)[1]) < len(queries)


def test_smoke_requests_pass_their_check(model: BuyerSearch) -> None:
    requests = SEARCH_TASK.smoke(model)
    answers = SEARCH_TASK.predict(model, requests)
    assert SEARCH_TASK.check is not None
    for answer in answers:
        SEARCH_TASK.check(answer)
    with pytest.raises(ValueError, match="found nothing"):
        SEARCH_TASK.check({"query": "x", "results": []})
