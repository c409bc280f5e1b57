"""The ``rank`` task: a feed's candidates ordered for one buyer by the registered ranker.

``POST /v1/rank`` takes a user (or a visitor's recent history) and either the candidate
listing ids to order (1 to 1,000) or ``fill``: take that many from the ranker's own candidate
generators. It answers the candidates best first, with a score, each event type's calibrated
probability when the ranker models events, and notes saying what was done differently
(unknown listings left out, an unknown user ranked by listing features alone). When a ranker
is served, the ``recommend`` task's feed is ordered by it too (see
:func:`rerank_feeds`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from furima.exceptions import FurimaError
from furima.serve._tasks import ServingTask

__all__ = ["RANK_TASK", "RankBody", "RankResponse", "rerank_feeds"]

logger = logging.getLogger("furima.serve")

_MAX_CANDIDATES = 1000
_MAX_HISTORY = 500
_SMOKE_VISITOR = "furima-smoke-test-unknown-user"


class RankBody(BaseModel):
    """One feed to order: whose (``user_id`` or ``history``) and what (``candidates`` or
    ``fill``)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    user_id: str | None = Field(None, min_length=1, max_length=200)
    history: list[str] | None = Field(
        None,
        max_length=_MAX_HISTORY,
        description="A visitor's listing ids, oldest first, instead of a known user_id.",
    )
    candidates: list[str] | None = Field(
        None,
        min_length=1,
        max_length=_MAX_CANDIDATES,
        description="Listing ids to order (1 to 1,000); duplicates are ranked once.",
    )
    fill: int | None = Field(
        None, ge=1, le=_MAX_CANDIDATES, description="Take this many candidates from the ranker."
    )
    k: int | None = Field(None, ge=1, le=_MAX_CANDIDATES, description="Return the best k only.")

    @model_validator(mode="after")
    def _one_source(self) -> RankBody:
        if (self.candidates is None) == (self.fill is None):
            raise ValueError("give exactly one of `candidates` (listing ids) or `fill` (a count)")
        if self.user_id is not None and self.history is not None:
            raise ValueError("give `user_id` or `history`, not both")
        return self

    def as_request(self) -> dict[str, Any]:
        """The request as :meth:`furima.ranking.FeedRanker.rank` takes it."""
        request: dict[str, Any] = {"user": self.user_id}
        if self.history is not None:
            request["history"] = self.history
        if self.candidates is not None:
            request["candidates"] = self.candidates
        else:
            request["fill"] = self.fill
        return request


class RankedListing(BaseModel):
    id: str
    score: float | None = Field(description="Higher is better; comparable within one answer.")
    probabilities: dict[str, float] | None = Field(
        None, description="Calibrated P(event) per event type, when the ranker models them."
    )


class RankResponse(BaseModel):
    user: str | None = Field(description="The user asked about (none for a visitor).")
    items: list[RankedListing] = Field(description="Best first.")
    notes: list[str] = Field(description="What the answer had to do differently, in words.")


def _load(path: Path) -> Any:
    from furima.ranking import FeedRanker

    return FeedRanker.load(path)


def _predict(model: Any, requests: Sequence[RankBody]) -> list[dict[str, Any]]:
    feeds = model.rank([request.as_request() for request in requests])
    return [
        _answer(feed.to_dict(), request.k) for feed, request in zip(feeds, requests, strict=True)
    ]


def _answer(feed: dict[str, Any], k: int | None) -> dict[str, Any]:
    items = feed["items"] if k is None else feed["items"][:k]
    for item in items:
        item["score"] = item["score"] if math.isfinite(item["score"]) else None
    return {**feed, "items": items}


def _smoke(model: Any) -> list[RankBody]:
    """A known user's feed filled by the generators, and a visitor's."""
    users = [*model.users_sample(1), _SMOKE_VISITOR]
    return [RankBody.model_validate({"user_id": user, "fill": 20}) for user in users]


def _check(answer: dict[str, Any]) -> None:
    if not answer["items"]:
        raise ValueError(f"a smoke-test feed for {answer['user']!r} is empty")
    if any(item["score"] is None for item in answer["items"]):
        raise ValueError("a smoke-test feed has scores that are not finite")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """1 - the share of the served top 10 that the shadow's top 10 also holds."""
    mine = [item["id"] for item in served["items"][:10]]
    theirs = {item["id"] for item in shadow["items"][:10]}
    return 1.0 - sum(i in theirs for i in mine) / max(1, len(mine))


def rerank_feeds(
    ranker: Any, queries: Sequence[dict[str, Any]], answers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Order each feed answer's listings with ``ranker`` (one batch), keeping their reasons.

    ``queries[i]`` is ``{"user": ...}`` or ``{"history": [...]}`` for ``answers[i]``. Listings
    the ranker does not know keep their place after the ranked ones. When the ranker cannot
    rank (a different catalog, say), the feed keeps the recommender's order and says why.
    """
    rows = [i for i, answer in enumerate(answers) if answer["items"]]
    requests = [
        {**queries[i], "candidates": [item["id"] for item in answers[i]["items"]]} for i in rows
    ]
    try:
        feeds = ranker.rank(requests) if requests else []
    except FurimaError as error:
        logger.warning("the served ranker could not order a feed: %s", error)
        note = f"kept the recommender's order: the ranker could not rank ({error})"
        return [{**answer, "notes": [*answer["notes"], note]} for answer in answers]
    out = list(answers)
    for row, feed in zip(rows, feeds, strict=True):
        out[row] = _reordered(answers[row], feed)
    return out


def _reordered(answer: dict[str, Any], feed: Any) -> dict[str, Any]:
    by_id = {item["id"]: item for item in answer["items"]}
    ranked = [{**by_id[item.id], "score": item.score} for item in feed.items if item.id in by_id]
    seen = {item["id"] for item in ranked}
    rest = [item for item in answer["items"] if item["id"] not in seen]
    if not ranked:
        note = "kept the recommender's order: the served ranker knows none of these listings"
        return {**answer, "notes": [*answer["notes"], note]}
    note = "ordered by the ranker"
    if rest:
        note += f" ({len(rest)} listing(s) it does not know kept after the ranked ones)"
    return {**answer, "items": ranked + rest, "notes": [*answer["notes"], note]}


RANK_TASK = ServingTask(
    name="rank",
    path="/v1/rank",
    summary="A feed's candidates ordered for one buyer, with per-event probabilities",
    request=RankBody,
    response=RankResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    compare=_compare,
    json_bytes=1_000_000,  # ten thousand ids are refused by count, with a message that says so
)
