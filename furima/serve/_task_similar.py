"""The ``similar`` task: the nearest catalog listings to some words or to a listing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from furima.serve._tasks import ServingTask

__all__ = ["SIMILAR_TASK", "SimilarRequest", "SimilarResponse"]


class SimilarRequest(BaseModel):
    """Words ("red nike running shoes") or a listing already in the pool; not both."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, min_length=1, max_length=2000)
    listing_id: int | None = Field(None, ge=0, description="More like this listing.")
    k: int = Field(10, ge=1, le=100, description="How many listings to return.")

    @model_validator(mode="after")
    def _one_query(self) -> SimilarRequest:
        if (self.text is None) == (self.listing_id is None):
            raise ValueError("give exactly one of `text` or `listing_id`")
        return self


class Neighbour(BaseModel):
    id: int
    score: float


class SimilarResponse(BaseModel):
    results: list[Neighbour] = Field(description="Nearest listings, best first.")


def _load(path: Path) -> Any:
    from furima.search import SimilarSearch

    return SimilarSearch.load(path)


def _predict(model: Any, requests: Sequence[SimilarRequest]) -> list[dict[str, Any]]:
    """Words are encoded and searched together; listing queries one call per ``k``."""
    answers: list[dict[str, Any]] = [{} for _ in requests]
    by_kind: dict[tuple[str, int], list[int]] = {}
    for i, request in enumerate(requests):
        kind = "texts" if request.text is not None else "listing_ids"
        by_kind.setdefault((kind, request.k), []).append(i)
    for (kind, k), rows in by_kind.items():
        queries = [requests[i].text if kind == "texts" else requests[i].listing_id for i in rows]
        found = model.similar(**{kind: queries}, k=k)
        for row, ids, scores in zip(rows, found.ids, found.scores, strict=True):
            answers[row] = {
                "results": [
                    {"id": int(i), "score": round(float(s), 4)}
                    for i, s in zip(ids, scores, strict=True)
                    if i >= 0
                ]
            }
    return answers


def _smoke(model: Any) -> list[SimilarRequest]:
    return [SimilarRequest.model_validate({"text": "black running shoes", "k": 3})]


SIMILAR_TASK = ServingTask(
    name="similar",
    path="/v1/similar:search",
    summary="Find the catalog listings nearest to some words or to a listing",
    request=SimilarRequest,
    response=SimilarResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    listing_key=lambda request: None if request.listing_id is None else str(request.listing_id),
)
