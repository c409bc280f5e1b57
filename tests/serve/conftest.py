"""Fixtures for the server tests: the 240-photo catalog, a fake assistant, a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from furima.serve import ListingAssistantLike, ServeSettings, create_app
from furima.serve._assistant import load_assistant

from .chromium import launched_chromium
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
def held_out(unseen: pd.DataFrame) -> pd.DataFrame:
    """One listing per article type (8) that the shared assistant is not fitted on."""
    return unseen.groupby("article_type", sort=True).head(1).reset_index(drop=True)


@pytest.fixture(scope="session")
def real_assistant(assistant_path: Path) -> ListingAssistantLike:
    """The shared assistant's saved folder loaded back, as ``furima serve`` loads it."""
    return load_assistant(assistant_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium for the page tests, one per test module."""
    with launched_chromium() as launched:
        yield launched
