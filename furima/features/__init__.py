"""Encoders: listings to features. Pure fit/transform, no I/O.

- :class:`ListingTextVectorizer`: sparse TF-IDF over listing views and crosses.
- :func:`listing_keys` and :class:`TargetEncoder`: categorical keys and their smoothed targets.
"""

from __future__ import annotations

from furima.features._listing_text import (
    JOINED_VIEWS,
    SPLIT_VIEWS,
    ListingTextVectorizer,
    as_text,
    listing_tokens,
    restore_tfidf,
    tfidf_arrays,
    tfidf_transform,
)
from furima.features._target_encoding import TargetEncoder, listing_keys

__all__ = [
    "JOINED_VIEWS",
    "SPLIT_VIEWS",
    "ListingTextVectorizer",
    "TargetEncoder",
    "as_text",
    "listing_keys",
    "listing_tokens",
    "restore_tfidf",
    "tfidf_arrays",
    "tfidf_transform",
]
