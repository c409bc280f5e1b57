"""Brand names found in a seller's words."""

from __future__ import annotations

import pandas as pd

from furima.listing._brands import BrandMatcher


def _matcher() -> BrandMatcher:
    brands = pd.Series(["Puma"] * 6 + ["United Colors of Benetton"] * 5 + ["Basics"] * 2 + ["Once"])
    titles = pd.Series(
        ["Puma Men Shoes"] * 6 + ["United Colors of Benetton Men Basics Shirt"] * 5
        + ["Basics Men Shirt"] * 2 + ["Once Men Shirt"]
    )  # fmt: skip
    return BrandMatcher.fit(brands, titles, min_listings=5)


def test_finds_the_longest_brand_named_in_words_case_insensitively() -> None:
    matcher = _matcher()
    assert matcher.find("united colors of benetton basics shirt") == "United Colors of Benetton"
    assert matcher.find("black PUMA running shoes") == "Puma"
    assert matcher.find("basics shirt") == "Basics"
    assert matcher.find("a red shirt") is None
    assert matcher.find("once") is None  # seen once: too rare to trust


def test_precision_is_measured_on_the_catalog_titles() -> None:
    assert _matcher().precision == 1.0


def test_only_frequent_brands_are_learnable() -> None:
    assert _matcher().learnable == {"Puma", "United Colors of Benetton"}
