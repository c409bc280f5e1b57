"""Fixtures for the server tests: the 240-photo catalog, a fake assistant, a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from furima.serve import ServeSettings, create_app

from .fakes import FakeAssistant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def photo_listings() -> pd.DataFrame:
    """240 real Myntra listings with photos: 30 per article type (see fixtures/PROVENANCE.md)."""
    return pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")


@pytest.fixture
def fake(photo_listings: pd.DataFrame) -> FakeAssistant:
    return FakeAssistant(photo_listings)


@pytest.fixture
def settings() -> ServeSettings:
    return ServeSettings()


@pytest.fixture
def client(settings: ServeSettings, fake: FakeAssistant) -> Iterator[TestClient]:
    with TestClient(create_app(settings, listing_assistant=fake)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def page_assistant(photo_listings: pd.DataFrame) -> FakeAssistant:
    """The assistant behind the browser tests."""
    return FakeAssistant(photo_listings)
