"""Settings and shared fixtures for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest
from postgres import PostgresUnavailable, running_postgres, skip_message

from furima.datasets import with_brand
from furima.listing import ListingAssistant, ListingFields

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# OpenMP workers that spin while waiting starve each other on a 2-core CI machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session", autouse=True)
def furima_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One throwaway cache (ONNX exports) per test run, never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("furima-cache")
    previous = os.environ.get("FURIMA_CACHE_DIR")
    os.environ["FURIMA_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("FURIMA_CACHE_DIR", None)
    else:
        os.environ["FURIMA_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def postgres_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLAlchemy URL of a throwaway PostgreSQL database, one server for the whole run."""
    with ExitStack() as stack:
        try:
            uri = stack.enter_context(running_postgres(tmp_path_factory.mktemp("postgres")))
        except PostgresUnavailable as reason:
            pytest.skip(skip_message(reason))
        yield uri


@pytest.fixture
def postgres_database(postgres_uri: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on that server for one test (MLflow and Optuna both keep an
    ``alembic_version`` table, so they must not share a database)."""
    import re

    from sqlalchemy import create_engine, text

    name = "test_" + re.sub(r"\W+", "_", request.node.name).lower()[:50]
    engine = create_engine(postgres_uri, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return f"{postgres_uri.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="session")
def photo_catalog() -> pd.DataFrame:
    """240 real Myntra listings with photos (30 per article type) and a brand column."""
    return with_brand(pd.read_parquet(FIXTURES / "myntra_photos_240.parquet"))


@pytest.fixture(scope="session")
def unseen(photo_catalog: pd.DataFrame) -> pd.DataFrame:
    """Two listings per article type (16) that the shared assistant is not fitted on."""
    return photo_catalog.groupby("article_type", sort=True).head(2).reset_index(drop=True)


@pytest.fixture(scope="session")
def assistant(photo_catalog: pd.DataFrame, unseen: pd.DataFrame) -> ListingAssistant:
    """The assistant fitted on the other 224 listings, shared by the listing, server and page
    tests (one fit for the whole run: about 15 seconds)."""
    catalog = photo_catalog[~photo_catalog["id"].isin(unseen["id"])]
    return ListingAssistant(seed=0).fit(catalog, fields=ListingFields.myntra_photos())


@pytest.fixture(scope="session")
def assistant_path(assistant: ListingAssistant, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """That assistant saved, as ``furima listing fit`` saves one."""
    return assistant.save(tmp_path_factory.mktemp("listing-assistant") / "assistant")
