"""Shared fixtures for the feature tests: real listings, conformed the way furima reads them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from furima.catalog import read_listings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def myntra_photos() -> pd.DataFrame:
    """240 real Myntra photos (JPEG bytes) with titles and labels: 30 per article type."""
    return pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")


@pytest.fixture(scope="module")
def myntra_listings() -> pd.DataFrame:
    """The 150 real Myntra rows of tests/fixtures, as canonical listings (10 columns)."""
    return read_listings(FIXTURES / "myntra_150.parquet", require_price=True).listings
