"""Real fixture tables for the AutoML tests (see tests/fixtures/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def spam() -> pd.DataFrame:
    """600 real SMS (120 spam): columns label, text."""
    return pd.read_parquet(FIXTURES / "sms_spam_600.parquet")


@pytest.fixture(scope="session")
def cards() -> pd.DataFrame:
    """2,000 real card transactions (80 fraud), sorted by Time."""
    return pd.read_parquet(FIXTURES / "creditcard_2000.parquet")


@pytest.fixture(scope="session")
def myntra() -> pd.DataFrame:
    """150 real Myntra listings with prices."""
    return pd.read_parquet(FIXTURES / "myntra_150.parquet")
