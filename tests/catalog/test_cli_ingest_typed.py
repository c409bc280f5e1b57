"""``furima ingest`` with numeric attributes and condition words, from a mapping file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from furima.catalog import CatalogStore
from furima.cli._ingest import ingest

CSV = "title,price,condition,msrp\nJacket,25,used,120\nScarf,40,Like new,89.5\nBoots,80,2,\n"


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("ingest")(ingest)

    @cli.callback()
    def main() -> None:
        """furima (test app)."""

    return cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_ingest_reads_numeric_and_condition_words_from_a_mapping_file(
    run: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "resale.csv").write_text(CSV, encoding="utf-8")
    mapping = {"name": "title", "price": "price", "condition": "condition", "numeric": ["msrp"]}
    (tmp_path / "resale.json").write_text(json.dumps(mapping), encoding="utf-8")
    result = run.invoke(app(), ["ingest", "resale.csv", "--mapping", "resale.json"])
    assert result.exit_code == 0, result.output
    assert "added     3 listings" in result.stdout
    assert "numeric   columns msrp\n" in result.stdout
    with CatalogStore(tmp_path / "catalog.duckdb") as store:
        stored = store.to_frame().sort_values("name")
    assert stored["condition"].tolist() == [2, 3, 2]
    assert stored["msrp"].astype("Float64").tolist()[1:] == [120.0, 89.5]


def test_ingest_reports_inferred_numeric_columns_and_bad_words(
    run: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "canonical.csv").write_text(
        CSV.replace("title", "name") + "Hat,5,so-so,12\n", encoding="utf-8"
    )
    failed = run.invoke(app(), ["ingest", "canonical.csv"])
    assert failed.exit_code == 1
    assert "'so-so' is neither an integer 1..5 nor a word" in failed.stderr
    skipped = run.invoke(app(), ["ingest", "canonical.csv", "--on-error", "skip"])
    assert skipped.exit_code == 0, skipped.output
    assert "rejected  1 rows" in skipped.stdout
    assert "numeric   columns msrp (inferred: every value is a number" in skipped.stdout
    plain = run.invoke(
        app(), ["ingest", "canonical.csv", "--on-error", "skip", "--no-infer-numeric", "--upsert"]
    )
    assert plain.exit_code == 0, plain.output
    assert "ignored   columns msrp" in plain.stdout
    told = run.invoke(
        app(),
        [
            "ingest",
            "canonical.csv",
            "--on-error",
            "skip",
            "--no-infer-numeric",
            "--upsert",
            "--numeric",
            "msrp",
        ],
    )
    assert told.exit_code == 0, told.output
    assert "numeric   columns msrp\n" in told.stdout
