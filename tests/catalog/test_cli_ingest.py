"""``furima ingest``, driven through Typer the way the CLI app registers it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from furima.catalog import CatalogStore
from furima.cli._ingest import default_rejects_path, ingest


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("ingest")(ingest)

    @cli.callback()
    def main() -> None:
        """furima (test app)."""

    return cli


def test_ingest_into_default_store(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    result = run.invoke(app(), ["ingest", str(fixtures / "mercari_format_150.tsv")])
    assert result.exit_code == 0, result.output
    assert "read      150 rows" in result.stdout
    assert "added     150 listings" in result.stdout
    assert "rejected  0 rows" in result.stdout
    assert "store     150 listings in catalog.duckdb" in result.stdout
    with CatalogStore(tmp_path / "catalog.duckdb") as store:
        assert len(store) == 150


def test_ingest_skip_writes_rejects_next_to_store(
    run: CliRunner, fixtures: Path, tmp_path: Path
) -> None:
    store = tmp_path / "stores" / "c.duckdb"
    store.parent.mkdir()
    args = ["ingest", str(fixtures / "flipkart_150.jsonl"), "--store", str(store)]
    result = run.invoke(app(), [*args, "--on-error", "skip", "--require-price"])
    assert result.exit_code == 0, result.output
    rejects = default_rejects_path(store, fixtures / "flipkart_150.jsonl")
    assert rejects == tmp_path / "stores" / "flipkart_150.rejects.csv"
    assert f"rejected  2 rows -> {rejects}" in result.stdout
    assert "ignored   columns pid, discounted_price" in result.stdout
    assert len(pd.read_csv(rejects)) == 2
    again = run.invoke(app(), [*args, "--mapping", "flipkart", "--no-require-price", "--upsert"])
    assert again.exit_code == 0, again.output
    assert "added     2 listings (148 replaced)" in again.stdout
    assert "store     150 listings" in again.stdout


def test_errors_are_one_message_and_exit_1(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    source = str(fixtures / "flipkart_150.parquet")
    result = run.invoke(app(), ["ingest", source, "--require-price"])
    assert result.exit_code == 1
    assert "error: file" in result.stderr
    assert "--on-error skip" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "catalog.duckdb").exists()
    run.invoke(app(), ["ingest", source])
    twice = run.invoke(app(), ["ingest", source])
    assert twice.exit_code == 1
    assert "already in the store" in twice.stderr and "--upsert" in twice.stderr
    missing = run.invoke(app(), ["ingest", "nope.csv"])
    assert (missing.exit_code, "no such file" in missing.stderr) == (1, True)
    mapping = run.invoke(app(), ["ingest", source, "--mapping", "ebay"])
    assert (mapping.exit_code, "unknown mapping preset 'ebay'" in mapping.stderr) == (1, True)


def test_bad_option_value_is_a_usage_error(run: CliRunner, fixtures: Path) -> None:
    args = ["ingest", str(fixtures / "myntra_150.csv"), "--on-error", "ignore"]
    result = run.invoke(app(), args)
    assert result.exit_code == 2
