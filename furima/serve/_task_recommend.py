"""The ``recommend`` task: a buyer's "for you" feed and "more like this", from one model.

One registered :class:`~furima.recommend.Recommender` answers both endpoints, so they always
agree on the version and swap together:

- ``POST /v1/recommend``: a known user by id, or anyone by an explicit recent history (fold-in,
  no retraining), with ``k`` and filters (category, price range, other catalog fields);
- ``POST /v1/similar-items``: the listings most like one listing.

When the server also serves a ``rank`` model, the feed is ordered by it: the recommender
proposes a wider pool of candidates and the ranker decides their order.

The requests of one micro-batch that ask the same kind of question with the same ``k`` and
filters are answered by one model call, which scores all their histories at once. Each listing
in an answer carries its display fields (title, price, category) and a photo address, so a page
draws a feed from one request. The buyer's page reads photos, listings and sample users through
the GET routes in :mod:`furima.serve._recommend_routes`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from furima.exceptions import DataError, FilterError
from furima.serve._recommend_routes import recommend_routes
from furima.serve._tasks import ServingTask, TaskEndpoint, listing_overlap

__all__ = [
    "RECOMMEND_TASK",
    "RecommendRequest",
    "RecommendResponse",
    "SimilarItemsRequest",
    "photo_url",
]

_MAX_K = 100
_RERANK_POOL = 100  # listings the recommender proposes for the ranker to order
_MAX_HISTORY = 500
_SMOKE_UNKNOWN_USER = "furima-smoke-test-unknown-user"

FilterValue = str | float | list[str | float | None]


def photo_url(listing_id: str) -> str:
    """Where the server serves a recommended listing's photo."""
    return f"/v1/recommend/listings/{quote(listing_id, safe='')}/photo"


def _check_filters(filters: dict[str, FilterValue] | None) -> dict[str, FilterValue] | None:
    """``price`` must be ``[low, high]`` (either may be null); others a value or a list."""
    if not filters:
        return None
    for name, value in filters.items():
        if name == "price":
            ok = isinstance(value, list) and len(value) == 2
            given = [v for v in value if v is not None] if isinstance(value, list) else []
            numbers = [float(v) for v in given if isinstance(v, int | float)]
            if not ok or len(numbers) != len(given):
                raise ValueError(
                    f"the price filter is [low, high] (null for an open end), e.g. [10, 50]; "
                    f"got {value!r}"
                )
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                raise ValueError(f"the price filter needs low <= high, but got {value!r}")
        elif isinstance(value, list) and (not value or None in value):
            raise ValueError(f"the {name!r} filter is a value or a non-empty list of values")
    return filters


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    k: int = Field(10, ge=1, le=_MAX_K, description="How many listings to return.")
    filters: dict[str, FilterValue] | None = Field(
        None,
        max_length=10,
        description='e.g. `{"category": "Shoes", "price": [10, 50]}`; a list of values keeps '
        "any of them.",
    )

    @field_validator("filters")
    @classmethod
    def _filters(cls, filters: dict[str, FilterValue] | None) -> dict[str, FilterValue] | None:
        return _check_filters(filters)

    def model_filters(self) -> dict[str, Any] | None:
        """The filters as the recommender takes them (a price range is a tuple)."""
        if not self.filters:
            return None
        return {
            name: tuple(value) if name == "price" and isinstance(value, list) else value
            for name, value in self.filters.items()
        }


class RecommendRequest(_Query):
    """A feed for a known user (``user_id``) or for a recent history of listing ids."""

    user_id: str | None = Field(None, min_length=1, max_length=200)
    history: list[str] | None = Field(
        None,
        max_length=_MAX_HISTORY,
        description="Listing ids the buyer viewed, oldest first (no retraining needed).",
    )

    @model_validator(mode="after")
    def _one_query(self) -> RecommendRequest:
        if (self.user_id is None) == (self.history is None):
            raise ValueError("give exactly one of `user_id` or `history`")
        return self


class SimilarItemsRequest(_Query):
    """Listings like one listing ("more like this")."""

    listing_id: str = Field(min_length=1, max_length=200)


class RecommendedListing(BaseModel):
    id: str
    score: float | None = Field(description="Higher is better; comparable within one answer.")
    reason: str = Field(description='Why it is here, e.g. "because you viewed ...".')
    source: str = Field(description="The generator that contributed most.")
    title: str | None = None
    price: float | None = None
    category: str | None = None
    photo_url: str | None = Field(None, description="Its photo on this server, when it has one.")


class RecommendResponse(BaseModel):
    query: str | None = Field(description="The user or listing asked about.")
    items: list[RecommendedListing] = Field(description="Best first.")
    notes: list[str] = Field(description="What the answer had to do differently, in words.")


def _load(path: Path) -> Any:
    """Load a version and check that "more like this" answers too (it serves both)."""
    from furima.recommend import Recommender

    model = Recommender.load(path)
    users = model.users_sample(1)
    if users:
        feed = model.recommend(users=users, k=1)[0]
        if feed.items:
            model.similar_items([feed.items[0].id], k=3)
    return model


def _group_key(request: _Query, kind: str) -> tuple[str, int, str]:
    return kind, request.k, json.dumps(request.filters, sort_keys=True)


def _batched(
    requests: Sequence[_Query],
    kind_of: Callable[[Any], str],
    ask: Callable[[str, list[Any], int, dict[str, Any] | None], list[Any]],
    model: Any,
) -> list[dict[str, Any]]:
    """Answer requests that share kind, ``k`` and filters with one model call per group."""
    groups: dict[tuple[str, int, str], list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault(_group_key(request, kind_of(request)), []).append(i)
    answers: list[dict[str, Any]] = [{} for _ in requests]
    for (kind, k, _), rows in groups.items():
        first = requests[rows[0]]
        try:
            found = ask(kind, [requests[i] for i in rows], k, first.model_filters())
        except FilterError as error:  # a filter the catalog cannot apply: the caller's input
            raise DataError(str(error)) from None
        for row, recommendations in zip(rows, found, strict=True):
            answers[row] = _answer(model, recommendations)
    return answers


def _answer(model: Any, recommendations: Any) -> dict[str, Any]:
    answer: dict[str, Any] = recommendations.to_dict()
    for item in answer["items"]:
        score = float(item["score"])
        item["score"] = round(score, 6) if math.isfinite(score) else None
        item.update(_display(model, item["id"]))
    return answer


def _display(model: Any, listing_id: str) -> dict[str, Any]:
    listing = model.listing(listing_id) or {}
    has_photo = listing.get("has_photo")
    if has_photo is None:
        has_photo = model.photo(listing_id) is not None
    return {
        "title": listing.get("title") or None,
        "price": listing.get("price"),
        "category": listing.get("category") or None,
        "photo_url": photo_url(listing_id) if has_photo else None,
    }


def _predict(
    model: Any,
    requests: Sequence[RecommendRequest],
    companions: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Feeds from the recommender, ordered by the served ``rank`` model when there is one:
    the recommender proposes a wider pool, the ranker orders it, the best ``k`` are kept."""
    ranker = (companions or {}).get("rank")
    pool = _RERANK_POOL if ranker is not None else 0

    def ask(kind: str, group: list[Any], k: int, filters: dict[str, Any] | None) -> list[Any]:
        wide = max(k, pool)
        if kind == "users":
            users = [r.user_id for r in group]
            found: list[Any] = model.recommend(users=users, k=wide, filters=filters)
        else:
            histories = [list(r.history) for r in group]
            found = model.recommend(histories=histories, k=wide, filters=filters)
        return found

    answers = _batched(
        requests, lambda r: "users" if r.user_id is not None else "histories", ask, model
    )
    if ranker is None:
        return answers
    from furima.serve._task_rank import rerank_feeds

    queries = [
        {"user": r.user_id} if r.user_id is not None else {"history": list(r.history or [])}
        for r in requests
    ]
    ranked = rerank_feeds(ranker, queries, answers)
    return [_truncated(answer, r.k, pool) for answer, r in zip(ranked, requests, strict=True)]


def _truncated(answer: dict[str, Any], k: int, pool: int) -> dict[str, Any]:
    """The best ``k``; a "only n can be recommended" note from the wider pool is dropped
    when ``k`` of them are there."""
    items = answer["items"][:k]
    notes = answer["notes"]
    if len(items) == k:
        notes = [n for n in notes if not (n.startswith("only ") and "recommended" in n)]
    return {**answer, "items": items, "notes": notes}


def _predict_similar(model: Any, requests: Sequence[SimilarItemsRequest]) -> list[dict[str, Any]]:
    def ask(kind: str, group: list[Any], k: int, filters: dict[str, Any] | None) -> list[Any]:
        found: list[Any] = model.similar_items([r.listing_id for r in group], k=k, filters=filters)
        return found

    return _batched(requests, lambda _r: "listings", ask, model)


def _smoke(model: Any) -> list[RecommendRequest]:
    """A known user's feed and an unknown user's (the popular fallback)."""
    users = [*model.users_sample(1), _SMOKE_UNKNOWN_USER]
    return [RecommendRequest.model_validate({"user_id": user, "k": 5}) for user in users]


def _check(answer: dict[str, Any]) -> None:
    if not answer["items"]:
        raise ValueError(f"a smoke-test feed for {answer['query']!r} is empty")
    scores = [item["score"] for item in answer["items"]]
    if any(score is None for score in scores):
        raise ValueError(f"a smoke-test feed has scores that are not finite: {scores}")


SIMILAR_ITEMS = TaskEndpoint(
    path="/v1/similar-items",
    summary='Listings like one listing ("more like this")',
    request=SimilarItemsRequest,
    response=RecommendResponse,
    predict=_predict_similar,
    listing_key=lambda request: request.listing_id,
    compare=listing_overlap("items"),
)

RECOMMEND_TASK = ServingTask(
    name="recommend",
    path="/v1/recommend",
    summary="A buyer's feed: listings for a user or for a recent history, with reasons",
    request=RecommendRequest,
    response=RecommendResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    compare=listing_overlap("items"),
    endpoints=(SIMILAR_ITEMS,),
    routes=recommend_routes,
    uses=("rank",),
)
