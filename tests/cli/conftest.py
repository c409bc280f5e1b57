"""Shared fixtures for the CLI tests: the furima app driven in-process by Typer's runner.

LightGBM's OpenMP threads spin while they wait by default; on a 2-core machine that is busy
with anything else, a fit then takes minutes instead of seconds. Passive waiting changes no
result, only the scheduling, and must be set before LightGBM is first imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from furima.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    """The folder of committed fixture files (see tests/fixtures/PROVENANCE.md)."""
    return FIXTURES


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose working directory is a fresh temporary folder."""
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture(scope="session")
def fitted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model saved by `furima price fit` on the 150 real Myntra rows."""
    model = tmp_path_factory.mktemp("cli") / "models" / "price"
    result = CliRunner().invoke(
        app, ["price", "fit", str(FIXTURES / "myntra_150.parquet"), "--model", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == str(model)
    return model
