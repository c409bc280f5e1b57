"""Fixtures for the listing tests: a real catalog of 240 Myntra photos, and an assistant."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from furima.datasets import with_brand
from furima.listing import ListingAssistant, ListingFields

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def photo_catalog() -> pd.DataFrame:
    """240 real Myntra listings with photos (30 per article type) and a brand column."""
    return with_brand(pd.read_parquet(FIXTURES / "myntra_photos_240.parquet"))


@pytest.fixture(scope="session")
def unseen(photo_catalog: pd.DataFrame) -> pd.DataFrame:
    """Two listings per article type (16) that the assistant is not fitted on."""
    return photo_catalog.groupby("article_type", sort=True).head(2).reset_index(drop=True)


@pytest.fixture(scope="session")
def assistant(photo_catalog: pd.DataFrame, unseen: pd.DataFrame) -> ListingAssistant:
    """The assistant fitted on the other 224 listings (about 20 seconds)."""
    catalog = photo_catalog[~photo_catalog["id"].isin(unseen["id"])]
    return ListingAssistant(seed=0).fit(catalog, fields=ListingFields.myntra_photos())
