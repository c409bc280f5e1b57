"""A tiny buyer search for the server and page tests: the 240 real Myntra photo listings.

Titles, types, colours and photos are real (tests/fixtures/myntra_photos_240.parquet); prices
and sold flags are the made-up ones of recommend_model.py. The photo pool holds the photos
(no titles, no joint embedding) of only the first six listings of each article type, so that
it encodes in a couple of seconds; a photo search finds among those 48. Built once per process.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from furima.search import BuyerColumns, BuyerSearch, PoolColumns, SimilarSearch

from .recommend_model import catalog

COLUMNS = BuyerColumns(
    category="article_type",
    colour="base_colour",
    price="price",
    status="status",
    photo="jpeg",
    attributes=("gender", "usage"),
)
PHOTOS_PER_TYPE = 6


@lru_cache(maxsize=1)
def listings() -> pd.DataFrame:
    """The 240 listings with integer ids, made-up prices and sold flags."""
    table = catalog()
    return table.assign(id=table["id"].astype(int)).reset_index(drop=True)


def pooled() -> pd.DataFrame:
    """The listings whose photos the photo pool holds."""
    return listings().groupby("article_type", sort=False).head(PHOTOS_PER_TYPE)


@lru_cache(maxsize=1)
def build_tiny() -> BuyerSearch:
    photos_only = PoolColumns(title=None, photo="jpeg", label="article_type")
    pool = SimilarSearch.build(pooled(), columns=photos_only, train_embedder=False)
    return BuyerSearch.build(listings(), columns=COLUMNS, photo_pool=pool)
