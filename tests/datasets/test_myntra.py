"""Brands read off Myntra photo titles."""

from __future__ import annotations

import pandas as pd

from furima.datasets import with_brand


def test_brands_are_the_words_before_the_gender_else_a_known_brand_that_starts_the_title() -> None:
    titles = [
        "Puma Men Black Running Shoes",
        "Puma Women's Red Tee",
        "Lotus Herbals Men Face Wash",
        "Lotus Herbals Women Night Cream",
        "Puma Black Cap",  # no gender word: a brand seen twice starts it
        "Lotus Herbals Safe Sun Sunscreen SPF 40",  # the longest known brand wins
        "Nike Women Tee",
        "Nike Cap",  # Nike was seen once only: not trusted
        "Colorbar Velvet Matte Lipstick",  # never written before a gender word
        None,
    ]
    brands = with_brand(pd.DataFrame({"title": titles}))["brand"]
    assert brands.tolist()[:7] == [
        "Puma", "Puma", "Lotus Herbals", "Lotus Herbals", "Puma", "Lotus Herbals", "Nike",
    ]  # fmt: skip
    assert brands.iloc[7:].isna().all()
