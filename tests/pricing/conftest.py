"""Shared fixtures for the pricing tests: real listings and one small fitted model.

LightGBM's OpenMP threads spin while they wait by default; on a 2-core machine that is busy
with anything else, a fit then takes minutes instead of seconds. Passive waiting changes no
result, only the scheduling, and must be set before LightGBM is first imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import pandas as pd
import pytest

from furima.catalog import read_listings
from furima.pricing import PriceSuggester

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def myntra_150() -> pd.DataFrame:
    """The 150 real Myntra rows of tests/fixtures as canonical, priced listings."""
    return read_listings(FIXTURES / "myntra_150.parquet", require_price=True).listings


@pytest.fixture(scope="session")
def small_model(myntra_150: pd.DataFrame) -> PriceSuggester:
    """A model fitted on those 150 listings (about a second); treat it as read-only."""
    return PriceSuggester(random_state=0).fit(myntra_150)
