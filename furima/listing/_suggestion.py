"""What the listing assistant answers: field suggestions, a title, a price, and their evidence.

Every suggestion carries a calibrated confidence and the similar catalog listings behind it. A
field whose confidence is below its threshold keeps ``value=None`` (``filled`` is false): the
seller chooses rather than being handed a wrong guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Choice",
    "FieldSuggestion",
    "ListingSuggestion",
    "PriceRange",
    "SimilarListing",
    "TitleSuggestion",
]


@dataclass(frozen=True)
class Choice:
    """One candidate value and its calibrated probability."""

    value: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class FieldSuggestion:
    """A suggested value for one field (category level, colour, brand, ...).

    Attributes:
        name: The catalog column (``article_type``).
        label: How a person calls it (``"Article type"``).
        value: The suggestion, or ``None`` when ``confidence < threshold``.
        confidence: Calibrated probability that the top candidate is right.
        threshold: The confidence below which the field is left empty.
        top: The best candidates, most likely first (three at most).
        evidence: Ids of similar catalog listings that have the top candidate.
        source: Where it came from: ``"photo"``, ``"text"``, ``"photo+text"`` or ``"seller"``.
    """

    name: str
    label: str
    value: str | None
    confidence: float
    threshold: float
    top: list[Choice] = field(default_factory=list)
    evidence: list[int] = field(default_factory=list)
    source: str = "photo"

    @property
    def filled(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "filled": self.filled,
            "confidence": round(self.confidence, 4),
            "threshold": round(self.threshold, 4),
            "top": [choice.to_dict() for choice in self.top],
            "evidence": self.evidence,
            "source": self.source,
        }


@dataclass(frozen=True)
class TitleSuggestion:
    """A title in the catalog's own style, built from the filled fields and similar titles."""

    value: str
    evidence: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "evidence": self.evidence}


@dataclass(frozen=True)
class PriceRange:
    """A suggested price with a range that holds ``coverage`` of real prices."""

    value: float
    low: float
    high: float
    coverage: float
    evidence: list[int] = field(default_factory=list)
    source: str = "model"

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": round(self.value, 2),
            "low": round(self.low, 2),
            "high": round(self.high, 2),
            "coverage": self.coverage,
            "evidence": self.evidence,
            "source": self.source,
        }


@dataclass(frozen=True)
class SimilarListing:
    """A catalog listing close to the seller's photo or words."""

    id: int
    title: str
    score: float
    attributes: dict[str, str]
    price: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "attributes": self.attributes,
            "price": None if self.price is None else round(self.price, 2),
        }


@dataclass(frozen=True)
class ListingSuggestion:
    """The assistant's whole answer for one photo and/or draft text.

    Attributes:
        fields: One suggestion per field, category levels first (coarse to fine).
        title: The suggested title (``None`` when too little is known to write one).
        price: The suggested price range (``None`` without a price model or priced neighbours).
        similar: The nearest catalog listings, most similar first.
        notes: Plain-language remarks for the seller (e.g. which fields were left empty).
    """

    fields: list[FieldSuggestion]
    title: TitleSuggestion | None
    price: PriceRange | None
    similar: list[SimilarListing]
    notes: list[str] = field(default_factory=list)

    def field(self, name: str) -> FieldSuggestion:
        """The suggestion for the field ``name`` (a ``KeyError`` names the known fields)."""
        for suggestion in self.fields:
            if suggestion.name == name:
                return suggestion
        raise KeyError(f"no field {name!r}; fields are {[f.name for f in self.fields]}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as served by ``POST /v1/listings:suggest``."""
        return {
            "fields": [suggestion.to_dict() for suggestion in self.fields],
            "title": None if self.title is None else self.title.to_dict(),
            "price": None if self.price is None else self.price.to_dict(),
            "similar": [listing.to_dict() for listing in self.similar],
            "notes": self.notes,
        }
