"""The draft a :class:`~furima.listing.ListingAssistant` hands the seller around its fields.

Given one listing's field suggestions and similar listings: a title in the catalog's style,
a price range (from the price model when there is one, else from priced neighbours), a note
naming the fields left for the seller, all gathered in a
:class:`~furima.listing.ListingSuggestion`. Also the one-row listing the price model reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.listing._field_filling import EVIDENCE
from furima.listing._fields import ListingFields
from furima.listing._requests import Query
from furima.listing._suggestion import (
    FieldSuggestion,
    ListingSuggestion,
    PriceRange,
    SimilarListing,
    TitleSuggestion,
)
from furima.listing._titles import TitleStyle

if TYPE_CHECKING:
    from furima.pricing import PriceSuggester

__all__ = ["draft_listing", "listing_suggestion"]

_LIKELY = 0.5  # unfilled fields still name the title when at least this likely


def listing_suggestion(
    query: Query,
    suggestions: list[FieldSuggestion],
    neighbours: list[SimilarListing],
    notes: list[str],
    *,
    fields: ListingFields,
    title_style: TitleStyle | None,
    price_model: PriceSuggester | None,
) -> ListingSuggestion:
    """The answer for one listing: its fields, title, price, similar listings and notes."""
    empty = [s.label.lower() for s in suggestions if not s.filled]
    if empty and len(empty) < len(suggestions):
        notes.append(f"Not sure enough to fill in: {', '.join(empty)}. Please choose.")
    title = _title(suggestions, neighbours, fields, title_style)
    return ListingSuggestion(
        fields=suggestions,
        title=title,
        price=_price(query, suggestions, title, neighbours, fields, price_model),
        similar=neighbours,
        notes=notes,
    )


def _title(
    suggestions: list[FieldSuggestion],
    neighbours: list[SimilarListing],
    fields: ListingFields,
    title_style: TitleStyle | None,
) -> TitleSuggestion | None:
    if title_style is None or not any(s.filled for s in suggestions):
        return None
    values = {s.name: _likely(s) for s in suggestions}
    noun = fields.category[-1]
    kind = values[noun] = next(s.top[0].value for s in suggestions if s.name == noun)
    backing = [n for n in neighbours if n.attributes.get(noun) == kind]
    backing = backing or neighbours
    text = title_style.compose(
        values, [n.title for n in backing], [max(n.score, 0.0) for n in backing]
    )
    return TitleSuggestion(text, [n.id for n in backing[:EVIDENCE]]) if text else None


def _price(
    query: Query,
    suggestions: list[FieldSuggestion],
    title: TitleSuggestion | None,
    neighbours: list[SimilarListing],
    fields: ListingFields,
    price_model: PriceSuggester | None,
) -> PriceRange | None:
    priced = [n for n in neighbours if n.price is not None]
    evidence = [n.id for n in priced[:EVIDENCE]]
    if price_model is not None and (title is not None or query.text):
        draft = draft_listing(query, suggestions, title, fields, price_model)
        (price,) = price_model.suggest(draft)
        return PriceRange(price.price, price.low, price.high, price.coverage, evidence, "model")
    if len(priced) >= 3:
        prices = np.array([n.price for n in priced], dtype=np.float64)
        low, middle, high = np.quantile(prices, [0.1, 0.5, 0.9])
        return PriceRange(float(middle), float(low), float(high), 0.8, evidence, "similar listings")
    return None


def draft_listing(
    query: Query,
    suggestions: list[FieldSuggestion],
    title: TitleSuggestion | None,
    fields: ListingFields,
    price_model: PriceSuggester | None,
) -> pd.DataFrame:
    """The listing as the price model reads it (name, brand, category, attributes)."""
    values = {s.name: s.value for s in suggestions}
    path = [str(values[level]) for level in fields.category if values.get(level)]
    row: dict[str, Any] = {
        "name": title.value if title is not None else query.text,
        "description": query.text or "",
        "brand": values.get(fields.brand) if fields.brand else None,
        "category": "/".join(path) if path else None,
        "condition": query.condition,
    }
    for name in fields.attributes:
        row[fields.price_attributes.get(name, name)] = values.get(name)
    photo_column = getattr(price_model, "photo_column_", None)
    if photo_column is not None:  # a price model that learned from photos sees this one
        row[photo_column] = query.photo
    return pd.DataFrame([row])


def _likely(suggestion: FieldSuggestion) -> str | None:
    """A field's value for the title: the filled value, else a candidate more likely right
    than wrong (the seller edits the title anyway; a missing word helps less). The product
    type always takes its best candidate: a title names what the item is."""
    if suggestion.value is not None or not suggestion.top:
        return suggestion.value
    best = suggestion.top[0]
    return best.value if best.confidence >= _LIKELY else None
