"""Brands a catalog knows: found in a seller's words, and learnable from photos."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BrandMatcher"]

_WORD = re.compile(r"[\w'&.+-]+")
_MAX_WORDS = 5  # longest brand name matched, in words
_PRECISION_SAMPLE = 5000


class BrandMatcher:
    """Brand names of a catalog, matched as whole words in free text.

    Attributes:
        names: Lower-cased brand -> brand as the catalog writes it (brands seen twice or more).
        learnable: Brands with enough listings for a classifier to learn them.
        precision: Share of catalog titles naming a brand whose named brand is the listing's
            own: the confidence of a brand found in a seller's words.
    """

    def __init__(self, names: Mapping[str, str], learnable: set[str], precision: float) -> None:
        self.names = dict(names)
        self.learnable = learnable
        self.precision = precision

    @classmethod
    def fit(cls, brands: pd.Series, titles: pd.Series, *, min_listings: int = 5) -> BrandMatcher:
        """Learn the brand list from a catalog's brand column and measure matching on titles."""
        known = brands.astype("string").str.strip()
        known = known[known.fillna("") != ""]
        counts = known.value_counts()
        names = {str(b).lower(): str(b) for b in counts.index[counts >= 2]}
        learnable = {str(b) for b in counts.index[counts >= min_listings]}
        matcher = cls(names, learnable, 0.0)
        matcher.precision = matcher._measured_precision(brands, titles)
        return matcher

    def _measured_precision(self, brands: pd.Series, titles: pd.Series) -> float:
        pairs = pd.DataFrame({"brand": brands.astype("string"), "title": titles.astype("string")})
        pairs = pairs.dropna().head(_PRECISION_SAMPLE)
        found = [self.find(str(title)) for title in pairs["title"]]
        hits = [(f, b) for f, b in zip(found, pairs["brand"], strict=True) if f is not None]
        return float(np.mean([f == b for f, b in hits])) if hits else 0.0

    def find(self, text: str) -> str | None:
        """The longest known brand named in ``text`` (earliest on ties), or ``None``."""
        words = [w.lower() for w in _WORD.findall(text)]
        best: tuple[int, int, str] | None = None
        for start in range(len(words)):
            for width in range(min(_MAX_WORDS, len(words) - start), 0, -1):
                brand = self.names.get(" ".join(words[start : start + width]))
                if brand is not None:
                    if best is None or width > best[0]:
                        best = (width, start, brand)
                    break
        return None if best is None else best[2]

    def get_state(self) -> dict[str, Any]:
        return {
            "names": self.names,
            "learnable": sorted(self.learnable),
            "precision": self.precision,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BrandMatcher:
        return cls(state["names"], set(state["learnable"]), float(state["precision"]))
