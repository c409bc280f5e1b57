"""Which fields a :class:`~furima.listing.ListingAssistant` fills in, and with what.

From the classifier's probabilities for one listing: the top candidates of each field, filled
only when the best clears its threshold and the photo is familiar; the brand as the seller gave
it or as the words name it; category levels made consistent; and, for each field, the similar
listings that agree with its best candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from furima.listing._brands import BrandMatcher
from furima.listing._categories import consistent_categories
from furima.listing._classifier import AttributeClassifier
from furima.listing._fields import ListingFields
from furima.listing._requests import Query
from furima.listing._suggestion import Choice, FieldSuggestion, SimilarListing

__all__ = ["EVIDENCE", "field_suggestions"]

EVIDENCE = 5  # listing ids shown as evidence per field
_TOP = 3  # candidates shown per field


def field_suggestions(
    probabilities: dict[str, np.ndarray],
    mode: str,
    familiar: bool,
    neighbours: list[SimilarListing],
    query: Query,
    *,
    fields: ListingFields,
    classifier: AttributeClassifier,
    min_confidence: float | Mapping[str, float] | None,
    brands: BrandMatcher | None,
    parents: dict[str, dict[str, str]],
) -> list[FieldSuggestion]:
    """One listing's suggestion per field, from ``probabilities`` over each field's classes."""
    suggestions = {}
    for name in fields.suggested:
        classes = classifier.classes_[name]
        p = probabilities[name]
        best = np.argsort(-p)[:_TOP]
        top = [Choice(str(classes[i]), float(p[i])) for i in best]
        threshold = _threshold(name, mode, classifier, min_confidence)
        value = top[0].value if familiar and top[0].confidence >= threshold else None
        suggestions[name] = FieldSuggestion(
            name=name,
            label=fields.label(name),
            value=value,
            confidence=top[0].confidence,
            threshold=threshold,
            top=top,
            evidence=_agreeing(neighbours, name, top[0].value),
            source=mode,
        )
    if fields.brand:
        suggestions[fields.brand] = _brand(suggestions[fields.brand], query, neighbours, brands)
    return consistent_categories(list(suggestions.values()), fields.category, parents)


def _threshold(
    name: str,
    mode: str,
    classifier: AttributeClassifier,
    min_confidence: float | Mapping[str, float] | None,
) -> float:
    if isinstance(min_confidence, int | float):
        return float(min_confidence)
    if isinstance(min_confidence, Mapping) and name in min_confidence:
        return float(min_confidence[name])
    return classifier.threshold(name, mode)


def _brand(
    suggestion: FieldSuggestion,
    query: Query,
    neighbours: list[SimilarListing],
    brands: BrandMatcher | None,
) -> FieldSuggestion:
    """The seller's brand as given; else a brand named in the words; else the model's."""
    name = suggestion.name
    if query.brand:
        return replace(
            suggestion,
            value=query.brand,
            confidence=1.0,
            top=[Choice(query.brand, 1.0)],
            evidence=_agreeing(neighbours, name, query.brand),
            source="seller",
        )
    named = brands.find(query.text) if brands and query.text else None
    if named is None or brands is None:
        return suggestion
    confidence = brands.precision
    return replace(
        suggestion,
        value=named if confidence >= suggestion.threshold else None,
        confidence=confidence,
        top=[Choice(named, confidence)],
        evidence=_agreeing(neighbours, name, named),
        source="text",
    )


def _agreeing(neighbours: list[SimilarListing], name: str, value: str) -> list[int]:
    return [n.id for n in neighbours if n.attributes.get(name) == value][:EVIDENCE]
