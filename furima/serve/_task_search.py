"""The ``search`` task: a buyer's search over the catalog, by words and/or a photo.

``POST /v1/search`` takes a query (words), an optional photo (base64 bytes, like the seller's
check), filters (category, price range, other catalog fields), ``k`` and ``offset`` for paging
and the facets to count, and answers the loaded :class:`~furima.search.BuyerSearch`'s page: the
listings best first, each with its display fields and a photo address, the total number of
matches, the facet counts over all of them (prices in buckets) and notes in words. The requests
of one micro-batch that share a page size, an offset and facets are answered by one
``search_many`` call (their texts encoded together), each with its own filters. Filters and
facets are checked by the search itself; what it cannot apply is the caller's input (422). The
search page (``/search``) reads photos and example queries through the GET routes in
:mod:`furima.serve._search_routes`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from furima.exceptions import DataError, FilterError
from furima.serve._schemas import MAX_PHOTO_BASE64, checked_base64
from furima.serve._search_routes import example_queries, search_routes
from furima.serve._task_recommend import FilterValue
from furima.serve._tasks import ServingTask, listing_overlap

__all__ = ["SEARCH_TASK", "SearchRequest", "SearchResponse", "search_photo_url"]

_MAX_K = 100
_MAX_OFFSET = 10_000


def search_photo_url(listing_id: str) -> str:
    """Where the server serves a found listing's photo."""
    return f"/v1/search/listings/{quote(listing_id, safe='')}/photo"


class SearchRequest(BaseModel):
    """Words, a photo, or both; with optional filters, a page (``k``, ``offset``) and facets."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    query: str | None = Field(
        None, max_length=500, description='What the buyer typed, e.g. "women red kurta".'
    )
    photo: str | None = Field(
        None,
        max_length=MAX_PHOTO_BASE64,
        description="A photo to search with: base64-encoded JPEG, PNG or WebP bytes.",
    )
    filters: dict[str, FilterValue] | None = Field(
        None,
        max_length=10,
        description='e.g. `{"category": ["Kurtas"], "price": [500, 1500]}`: a list of values '
        "keeps any of them, a price range is [low, high] (null for an open end).",
    )
    k: int = Field(20, ge=1, le=_MAX_K, description="How many listings to return.")
    offset: int = Field(0, ge=0, le=_MAX_OFFSET, description="How many to skip (paging).")
    facets: list[str] | None = Field(
        None, max_length=10, description="Fields to count (default: the search's own)."
    )

    @field_validator("photo")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        return checked_base64(value)

    @model_validator(mode="after")
    def _something_to_search(self) -> SearchRequest:
        if self.query is not None and not self.query.strip():
            self.query = None
        if self.query is None and not self.photo:
            raise ValueError("type some words in `query` or send a `photo` to search with")
        return self

    def model_filters(self) -> dict[str, Any] | None:
        """The filters as the search takes them (a price range is a tuple)."""
        if not self.filters:
            return None
        return {
            name: tuple(value) if name == "price" and isinstance(value, list) else value
            for name, value in self.filters.items()
        }

    def photo_bytes(self) -> bytes | None:
        return base64.b64decode(self.photo) if self.photo else None


class FoundListing(BaseModel):
    id: int
    score: float | None = Field(description="Higher is better; comparable within one answer.")
    title: str
    price: float | None = None
    category: str | None = None
    colour: str | None = None
    condition: str | None = None
    photo_url: str | None = Field(None, description="Its photo on this server, when it has one.")


class FacetCount(BaseModel):
    value: str = Field(description="A field's value, or a price bucket's label (\"770-1100\").")
    count: int = Field(description="Matching listings with this value (over every page).")
    min: float | None = Field(None, description="A price bucket's lower end (null: open).")
    max: float | None = Field(None, description="A price bucket's upper end (null: open).")


class SearchResponse(BaseModel):
    query: str | None = Field(description="The words searched for (null: by photo alone).")
    total: int = Field(description="How many listings match, over all pages.")
    offset: int
    k: int
    results: list[FoundListing] = Field(description="This page, best first.")
    facets: dict[str, list[FacetCount]] = Field(
        description="Per field, how many matching listings have each value (most first); "
        "`price` in buckets."
    )
    notes: list[str] = Field(description="What the buyer should know about the answer, in words.")
    ranking: str = Field(description="How the results were ordered: learned, rrf, photo, ...")


def _load(path: Path) -> Any:
    from furima.search import BuyerSearch

    return BuyerSearch.load(path)


def _group_key(request: SearchRequest) -> tuple[int, int, str]:
    return request.k, request.offset, json.dumps(request.facets)


def _predict(model: Any, requests: Sequence[SearchRequest]) -> list[dict[str, Any]]:
    """One ``search_many`` call (texts encoded together) per group of requests that share a
    page size, an offset and facets; each keeps its own filters."""
    groups: dict[tuple[int, int, str], list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault(_group_key(request), []).append(i)
    answers: list[dict[str, Any]] = [{} for _ in requests]
    for rows in groups.values():
        found = _search(model, [requests[i] for i in rows])
        for row, page in zip(rows, found, strict=True):
            answers[row] = _answer(page)
    return answers


def _search(model: Any, group: list[SearchRequest]) -> list[Any]:
    first = group[0]
    options: dict[str, Any] = {"k": first.k, "offset": first.offset}
    if first.facets is not None:
        options["facets"] = tuple(first.facets)
    try:
        pages: list[Any] = model.search_many(
            [request.query for request in group],
            photos=[request.photo_bytes() for request in group],
            filters=[request.model_filters() for request in group],
            **options,
        )
    except FilterError as error:  # a filter or facet the catalog lacks: the caller's input
        raise DataError(str(error)) from None
    return pages


def _answer(page: Any) -> dict[str, Any]:
    answer: dict[str, Any] = page.to_dict()
    for item in answer["results"]:
        score = float(item["score"])
        item["score"] = round(score, 6) if math.isfinite(score) else None
        has_photo = item.pop("has_photo", False)
        item["photo_url"] = search_photo_url(str(item["id"])) if has_photo else None
    return answer


def _smoke(model: Any) -> list[SearchRequest]:
    """Searches made from the catalog itself (its commonest category and colour, else its
    first title); a fresh version must find something for them."""
    queries = example_queries(model, 2) or [str(model.catalog["title"].iloc[0])]
    return [SearchRequest.model_validate({"query": query, "k": 5}) for query in queries]


def _check(answer: dict[str, Any]) -> None:
    if not answer["results"]:
        raise ValueError(f"a smoke-test search for {answer['query']!r} found nothing")
    scores = [item["score"] for item in answer["results"]]
    if any(score is None for score in scores):
        raise ValueError(f"a smoke-test search has scores that are not finite: {scores}")


SEARCH_TASK = ServingTask(
    name="search",
    path="/v1/search",
    summary="Search the catalog by words and/or a photo, with filters and facet counts",
    request=SearchRequest,
    response=SearchResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    compare=listing_overlap("results"),
    routes=search_routes,
    photo_in_body=True,
)
