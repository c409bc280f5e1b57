"""Helpers for the Myntra fashion photo catalog."""

from __future__ import annotations

import pandas as pd

__all__ = ["with_brand"]

# Myntra titles read "<brand> <gender word> <what it is>": "Puma Men's Black Running Shoes".
_BRAND_BEFORE_GENDER = r"^\s*(.+?)\s+(?:Men|Women|Boys|Girls|Unisex|Kids)(?:'s)?\b"


def with_brand(
    photos: pd.DataFrame, *, title: str = "title", column: str = "brand"
) -> pd.DataFrame:
    """``photos`` with a ``brand`` column read off the titles (the words before the gender).

    The photo catalog has no brand column, but its titles start with the brand; titles that do
    not follow the pattern (about 8%) get a missing brand.
    """
    brand = photos[title].astype("string").str.extract(_BRAND_BEFORE_GENDER, expand=False)
    return photos.assign(**{column: brand.str.strip()})
