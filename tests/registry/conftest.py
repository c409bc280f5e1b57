"""Fixtures for the model-registry tests: registries, a saved price model, and a real
PostgreSQL server on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from postgres import PostgresUnavailable, running_postgres, skip_message

from furima.registry import ModelRegistry


@pytest.fixture(scope="session")
def postgres_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLAlchemy URL of a throwaway PostgreSQL database, one server for the whole run."""
    with ExitStack() as stack:
        try:
            uri = stack.enter_context(running_postgres(tmp_path_factory.mktemp("postgres")))
        except PostgresUnavailable as reason:
            pytest.skip(skip_message(reason))
        yield uri


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
