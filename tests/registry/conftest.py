"""Fixtures for the model-registry tests: registries and a saved price model (the real
PostgreSQL server is in tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from furima.registry import ModelRegistry


@pytest.fixture(scope="session")
def price_model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A price model fitted on the 150 real Myntra rows of tests/fixtures, saved once."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from furima.catalog import read_listings
    from furima.pricing import PriceSuggester

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    listings = read_listings(fixtures / "myntra_150.parquet", require_price=True).listings
    folder = tmp_path_factory.mktemp("price") / "model"
    PriceSuggester(random_state=0).fit(listings).save(folder)
    return folder


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """An empty embedded registry (SQLite and a local artifact folder)."""
    return ModelRegistry(tmp_path / "registry", cache=tmp_path / "cache")
