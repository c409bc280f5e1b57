"""AI listing: from a seller's photo and/or words to category, brand, title and price.

:class:`ListingAssistant` learns from a catalog of past listings and answers with a
:class:`ListingSuggestion`: calibrated field suggestions (left empty when unsure), a title in
the catalog's style, a price range, and the similar listings behind them::

    assistant = ListingAssistant().fit(catalog, fields=ListingFields.myntra_photos())
    suggestion = assistant.suggest(photo=open("shoe.jpg", "rb").read())
    suggestion.field("article_type").value, suggestion.title.value, suggestion.price

:class:`AttributeClassifier` is the calibrated photo + text classifier underneath, usable on
its own; :class:`TitleStyle` writes titles the way a catalog writes them.
"""

from __future__ import annotations

from furima.listing._assistant import ListingAssistant
from furima.listing._calibration import expected_calibration_error
from furima.listing._classifier import MODES, AttributeClassifier
from furima.listing._familiarity import PhotoFamiliarity
from furima.listing._features import ListingFeatures
from furima.listing._fields import ListingFields
from furima.listing._requests import MAX_TEXT_CHARS
from furima.listing._suggestion import (
    Choice,
    FieldSuggestion,
    ListingSuggestion,
    PriceRange,
    SimilarListing,
    TitleSuggestion,
)
from furima.listing._titles import TitleStyle, token_f1

__all__ = [
    "MAX_TEXT_CHARS",
    "MODES",
    "AttributeClassifier",
    "Choice",
    "FieldSuggestion",
    "ListingAssistant",
    "ListingFeatures",
    "ListingFields",
    "ListingSuggestion",
    "PhotoFamiliarity",
    "PriceRange",
    "SimilarListing",
    "TitleStyle",
    "TitleSuggestion",
    "expected_calibration_error",
    "token_f1",
]
