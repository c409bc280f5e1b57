"""A small real feature pool shared by the search tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from furima.features import PhotoTextEmbedder
from furima.search import PoolColumns, SimilarSearch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COLUMNS = PoolColumns(photo="jpeg", label="article_type", category="master_category", price="year")


@pytest.fixture(scope="session")
def photo_listings() -> pd.DataFrame:
    """240 real Myntra listings with photos: 30 per article type (see fixtures/PROVENANCE.md)."""
    return pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")


@pytest.fixture(scope="session")
def pool(photo_listings: pd.DataFrame) -> SimilarSearch:
    """A pool with a joint embedding trained on the 240 listings."""
    embedder = PhotoTextEmbedder(hidden=256, epochs=40, batch_size=64, seed=0)
    return SimilarSearch.build(photo_listings, columns=COLUMNS, embedder=embedder)
