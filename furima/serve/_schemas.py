"""Request and response bodies of the HTTP API, as pydantic models so OpenAPI documents them.

The response mirrors ``ListingSuggestion.to_dict()`` field for field, plus ``elapsed_ms`` and a
``photo_url`` on every similar listing.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_PHOTO_BASE64",
    "AssistantInfo",
    "ChoiceOut",
    "ErrorDetail",
    "ErrorResponse",
    "FieldOut",
    "HealthOut",
    "PriceOut",
    "SimilarOut",
    "SuggestRequest",
    "SuggestResponse",
    "TitleOut",
    "checked_base64",
    "error_body",
    "error_responses",
]

MAX_PHOTO_BASE64 = 14_000_000  # about 10 MB of photo


def checked_base64(value: str | None) -> str | None:
    """A request's base64 photo, refused (``ValueError``, a 422) when it is not base64."""
    if value is None:
        return None
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "the photo must be the image file's bytes in base64 (standard alphabet)"
        ) from None
    return value


class SuggestRequest(BaseModel):
    """The JSON form of a suggestion request (words only; photos go as multipart)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="The seller's draft words about the item.")
    brand: str | None = Field(None, description="The brand, if the seller knows it.")
    condition: int | str | None = Field(
        None, description="Item condition, 1 (new) to 5 (poor), or a word such as 'Like new'."
    )


class ChoiceOut(BaseModel):
    value: str = Field(description="A candidate value.")
    confidence: float = Field(description="Calibrated probability that it is right.")


class FieldOut(BaseModel):
    name: str = Field(description="Catalog column, e.g. `article_type`.")
    label: str = Field(description="How a person calls it, e.g. `Article type`.")
    value: str | None = Field(description="The suggestion; null when not confident enough.")
    filled: bool = Field(description="Whether `value` is set.")
    confidence: float = Field(description="Calibrated probability of the top candidate.")
    threshold: float = Field(description="Below this confidence the field is left empty.")
    top: list[ChoiceOut] = Field(description="Best candidates, most likely first (up to 3).")
    evidence: list[int] = Field(description="Ids of similar listings with the top candidate.")
    source: str = Field(description="`photo`, `text`, `photo+text` or `seller`.")


class TitleOut(BaseModel):
    value: str = Field(description="A suggested title in the catalog's style.")
    evidence: list[int] = Field(description="Ids of listings whose titles it follows.")


class PriceOut(BaseModel):
    value: float = Field(description="Suggested price.")
    low: float = Field(description="Low end of the range.")
    high: float = Field(description="High end of the range.")
    coverage: float = Field(description="Share of real prices the range holds.")
    evidence: list[int] = Field(description="Ids of comparable listings.")
    source: str = Field(description="Where the price came from.")


class SimilarOut(BaseModel):
    id: int = Field(description="Catalog listing id.")
    title: str
    score: float = Field(description="Similarity to the seller's photo or words.")
    attributes: dict[str, str]
    price: float | None
    photo_url: str = Field(description="Where to fetch the listing's photo.")


class SuggestResponse(BaseModel):
    fields: list[FieldOut] = Field(description="Category levels first (coarse to fine).")
    title: TitleOut | None
    price: PriceOut | None
    similar: list[SimilarOut] = Field(description="Nearest catalog listings, best first.")
    notes: list[str] = Field(description="Plain-language remarks for the seller.")
    elapsed_ms: float = Field(description="Server time spent on the suggestion.")


class ErrorDetail(BaseModel):
    type: str = Field(description="Machine-readable kind, e.g. `not_an_image`.")
    message: str = Field(description="What went wrong, in words a seller understands.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class HealthOut(BaseModel):
    status: str
    detail: str | None = None


class AssistantInfo(BaseModel):
    category: list[str] = Field(description="Category columns, coarse to fine.")
    attributes: list[str] = Field(description="Attribute columns (colour, gender, ...).")
    brand: str | None = Field(description="The brand column, if the catalog has one.")
    max_upload_bytes: int
    max_text_chars: int


def error_responses(*described: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each with the error body and a description."""
    return {
        status: {"model": ErrorResponse, "description": description}
        for status, description in described
    }


def error_body(kind: str, message: str) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": {"type": kind, "message": message}}
