"""The ``price`` task: a suggested price, its range and comparable listings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, field_validator

from furima.serve._tasks import ServingTask

__all__ = ["PRICE_TASK", "PriceRequest", "PriceResponse"]

_COLUMNS = ("name", "description", "brand", "category", "condition", "shipping")


class PriceRequest(BaseModel):
    """One listing to price."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500, description="The listing's title.")
    description: str | None = Field(None, max_length=10_000)
    brand: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=500, description="e.g. `Women/Tops/Blouse`.")
    condition: int | str | None = Field(
        None, description="1 (new) to 5 (poor), or a word such as 'Like new' or 'used'."
    )
    shipping: int | None = Field(None, ge=0, le=1, description="1 when the seller pays.")
    listing_id: str | None = Field(None, max_length=200, description="For sticky routing.")
    attributes: dict[str, str | float] | None = Field(
        None,
        description="Catalog attributes the model learned from, text or numbers, e.g. "
        "`{'gender': 'Men', 'retail_price': 1999}`.",
    )
    photo: Base64Bytes | None = Field(
        None,
        description="The listing's photo, a base64-encoded JPEG or PNG, read by price models "
        "that learned from photos (others ignore it).",
    )

    @field_validator("photo")
    @classmethod
    def _readable_photo(cls, photo: bytes | None) -> bytes | None:
        from furima.exceptions import ImageError
        from furima.features._images import open_rgb

        if photo is not None:
            try:
                open_rgb(photo, name="the photo")
            except ImageError as error:
                raise ValueError(str(error)) from None
        return photo


class ComparableOut(BaseModel):
    listing_id: str
    price: float
    similarity: float


class PriceResponse(BaseModel):
    listing_id: str | None = Field(description="The request's listing id, if it gave one.")
    price: float = Field(description="Suggested price.")
    low: float = Field(description="Low end of the range.")
    high: float = Field(description="High end of the range.")
    coverage: float = Field(description="Share of real prices such ranges hold.")
    comparables: list[ComparableOut]
    missing_attributes: list[str] = Field(
        default_factory=list,
        description="Numeric attributes (or the photo) the model uses that this listing lacks; "
        "it was priced from the rest.",
    )


def _load(path: Path) -> Any:
    from furima.pricing import PriceSuggester

    return PriceSuggester.load(path)


def _predict(model: Any, requests: Sequence[PriceRequest]) -> list[dict[str, Any]]:
    import pandas as pd

    rows = []
    for i, request in enumerate(requests):
        row: dict[str, Any] = {column: getattr(request, column) for column in _COLUMNS}
        row["listing_id"] = request.listing_id or f"request-{i}"
        row.update(request.attributes or {})
        if model.photo_column_ is not None:  # only ever the request's bytes, never a path
            row[model.photo_column_] = request.photo
        rows.append(row)
    answers: list[dict[str, Any]] = [s.to_dict() for s in model.suggest(pd.DataFrame(rows))]
    for request, answer in zip(requests, answers, strict=True):
        if request.listing_id is None:
            answer["listing_id"] = None
    return answers


def _smoke(model: Any) -> list[PriceRequest]:
    return [
        PriceRequest.model_validate(
            {"name": "Nike Men Black Running Shoes", "brand": "Nike", "condition": 1}
        ),
        PriceRequest.model_validate(
            {"name": "Cotton blouse", "description": "Worn twice, no stains.", "condition": 3}
        ),
    ]


def _check(answer: dict[str, Any]) -> None:
    values = (answer["price"], answer["low"], answer["high"])
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"a smoke-test price is not a finite non-negative number: {values}")
    if not answer["low"] <= answer["price"] <= answer["high"]:
        raise ValueError(f"a smoke-test price lies outside its own range: {values}")


def _compare(served: dict[str, Any], shadow: dict[str, Any]) -> float:
    """Absolute log ratio of the two suggested prices."""
    return abs(math.log1p(served["price"]) - math.log1p(shadow["price"]))


PRICE_TASK = ServingTask(
    name="price",
    path="/v1/price:suggest",
    summary="Suggest a price and a range for a listing",
    request=PriceRequest,
    response=PriceResponse,
    load=_load,
    predict=_predict,
    smoke=_smoke,
    check=_check,
    listing_key=lambda request: request.listing_id,
    compare=_compare,
)
