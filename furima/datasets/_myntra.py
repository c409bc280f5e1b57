"""Helpers for the Myntra fashion photo catalog."""

from __future__ import annotations

import pandas as pd

__all__ = ["with_brand"]

# Myntra titles read "<brand> <gender word> <what it is>": "Puma Men's Black Running Shoes".
_BRAND_BEFORE_GENDER = r"^\s*(.+?)\s+(?:Men|Women|Boys|Girls|Unisex|Kids)(?:'s)?\b"
_MAX_BRAND_WORDS = 5


def with_brand(
    photos: pd.DataFrame, *, title: str = "title", column: str = "brand"
) -> pd.DataFrame:
    """``photos`` with a ``brand`` column read off the titles.

    The photo catalog has no brand column, but its titles start with the brand, mostly
    followed by a gender word ("Puma Men's ..."): those words are the brand. A title without a
    gender word ("Lakme Nine to Five Compact", about 8%) takes the longest brand found that way
    at least twice that starts it; the rest (brands never written before a gender word, such as
    cosmetics lines) get a missing brand.
    """
    titles = photos[title].astype("string")
    brand = titles.str.extract(_BRAND_BEFORE_GENDER, expand=False).str.strip()
    counts = brand.str.lower().value_counts()
    known = {str(b) for b in counts.index[counts >= 2]}
    missing = brand.isna() & titles.notna()
    recovered = pd.Series(
        [_known_prefix(str(t), known) for t in titles[missing]], index=titles.index[missing]
    )
    return photos.assign(**{column: brand.fillna(recovered.astype("string"))})


def _known_prefix(title: str, known: set[str]) -> str | None:
    """The longest run of ``title``'s first words that is a known (lower-cased) brand."""
    words = title.split()
    for width in range(min(_MAX_BRAND_WORDS, len(words)), 0, -1):
        if " ".join(words[:width]).lower() in known:
            return " ".join(words[:width])
    return None
