"""The ``listing`` task: the listing assistant, served from the registry.

Its endpoints (multipart photo upload, catalog photos, the seller's page) are the hand-written
ones in :mod:`furima.serve._routes`; the registry decides which assistant version they use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from furima.serve._assistant import load_assistant
from furima.serve._schemas import SuggestRequest
from furima.serve._tasks import ServingTask

__all__ = ["LISTING_TASK"]


class SuggestionOut(BaseModel):
    """The parts of a suggestion every version must return."""

    model_config = ConfigDict(extra="allow")

    fields: list[dict[str, Any]]
    similar: list[dict[str, Any]]
    notes: list[str]


def _predict(assistant: Any, requests: Sequence[SuggestRequest]) -> list[dict[str, Any]]:
    return [
        assistant.suggest(text=r.text, brand=r.brand, condition=r.condition).to_dict()
        for r in requests
    ]


def _check(answer: dict[str, Any]) -> None:
    if not answer["fields"]:
        raise ValueError("the assistant suggested no fields for a plain description")


LISTING_TASK = ServingTask(
    name="listing",
    path="/v1/listings:suggest",
    summary="Suggest a listing's fields, title and price from a photo and/or words",
    request=SuggestRequest,
    response=SuggestionOut,
    load=load_assistant,
    predict=_predict,
    smoke=lambda _model: [SuggestRequest.model_validate({"text": "black cotton t-shirt for men"})],
    check=_check,
    own_routes=True,
)
