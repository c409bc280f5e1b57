"""Fixtures for the server tests: the 240-photo catalog, a fake assistant, a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from furima.serve import ListingAssistantLike, ServeSettings, create_app
from furima.serve._assistant import load_assistant

from .fakes import ATTRIBUTES, CATEGORY, FakeAssistant

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
def held_out(photo_listings: pd.DataFrame) -> pd.DataFrame:
    """One listing per article type (8) that the real assistant is not fitted on."""
    return photo_listings.groupby("article_type", sort=True).head(1).reset_index(drop=True)


@pytest.fixture(scope="session")
def real_assistant_path(
    photo_listings: pd.DataFrame, held_out: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The real ListingAssistant fitted on the other 232 photos, saved (tens of seconds)."""
    listing = pytest.importorskip("furima.listing")
    if not hasattr(listing, "ListingAssistant"):
        pytest.skip("furima.listing.ListingAssistant has not landed yet")
    fields = listing.ListingFields(
        id="id", title="title", photo="jpeg", category=CATEGORY, attributes=ATTRIBUTES, brand=None
    )
    catalog = photo_listings[~photo_listings["id"].isin(held_out["id"])].reset_index(drop=True)
    assistant = listing.ListingAssistant().fit(catalog, fields=fields, progress=False)
    path = tmp_path_factory.mktemp("listing-assistant") / "assistant"
    assistant.save(path)
    return path


@pytest.fixture(scope="session")
def real_assistant(real_assistant_path: Path) -> ListingAssistantLike:
    """The saved assistant loaded back, as ``furima serve`` loads it."""
    return load_assistant(real_assistant_path)


@pytest.fixture(scope="session")
def page_assistant(
    request: pytest.FixtureRequest, photo_listings: pd.DataFrame
) -> ListingAssistantLike:
    """The assistant behind the browser tests: the real one, the fake until it has landed."""
    try:
        assistant: ListingAssistantLike = request.getfixturevalue("real_assistant")
    except pytest.skip.Exception:
        return FakeAssistant(photo_listings)
    return assistant
