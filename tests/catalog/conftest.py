"""Shared fixtures for the catalog tests: committed fixture files and the real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    """The folder of committed fixture files (see tests/fixtures/PROVENANCE.md)."""
    return FIXTURES


@pytest.fixture
def shared_data() -> Path:
    """The real data folder: $FURIMA_DATA, else <repo>/../shared/data; skip when absent."""
    data = Path(os.environ.get("FURIMA_DATA", REPO.parent / "shared" / "data"))
    if not (data / "listings").is_dir():
        pytest.skip(f"real data not found at {data} (set FURIMA_DATA to the shared data folder)")
    return data


@pytest.fixture
def myntra() -> pd.DataFrame:
    """The 150 real Myntra rows, native columns."""
    return pd.read_parquet(FIXTURES / "myntra_150.parquet")
