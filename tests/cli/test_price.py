"""`furima price fit` and `furima price suggest` through the app as installed, on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.pricing import PriceSuggester


def test_fit_prints_a_summary_and_saves(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    result = run.invoke(app, ["price", "fit", str(fixtures / "myntra_150.csv"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == "models/price"  # the default, relative to the working dir
    assert (summary["rows"], summary["stack_rows"], summary["mode"]) == (150, 150, "cross_fit")
    assert 0.6 <= summary["validation_coverage"] <= 0.95
    assert 0.0 < summary["validation_rmsle"] < 1.0
    model = PriceSuggester.load(tmp_path / "models" / "price")
    assert model.random_state == 3
    assert model.metrics_["validation_rmsle"] == summary["validation_rmsle"]
    assert model.attribute_columns_ == ["gender", "primary_color"]


def test_fit_with_coverage(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    args = ["price", "fit", str(fixtures / "mercari_format_150.tsv"), "--model", "m"]
    result = run.invoke(app, [*args, "--coverage", "0.5"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["params"]["coverage"] == 0.5
    assert manifest["stacker"]["coverage"] == 0.5


def test_suggest_one_listing(run: CliRunner, fitted_model: Path) -> None:
    args = ["price", "suggest", "--model", str(fitted_model)]
    result = run.invoke(
        app,
        [
            *args,
            "--name",
            "Puma Men Black Running Shoes",
            "--brand",
            "Puma",
            "--attr",
            "gender=Men",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["model"] == str(fitted_model)
    (suggestion,) = document["suggestions"]
    assert suggestion["listing_id"] == "query"
    assert suggestion["coverage"] == 0.8
    assert 0 < suggestion["low"] <= suggestion["price"] <= suggestion["high"]
    assert len(suggestion["comparables"]) == 5
    training = pd.read_parquet(Path(__file__).parents[1] / "fixtures" / "myntra_150.parquet")
    prices = dict(zip(training["product_id"].astype(str), training["price"], strict=True))
    for comparable in suggestion["comparables"]:
        assert comparable["price"] == prices[comparable["listing_id"]]
    # The JSON is the library's answer, rounded to cents.
    model = PriceSuggester.load(fitted_model)
    query = pd.DataFrame(
        [{"listing_id": "query", "name": "Puma Men Black Running Shoes", "brand": "Puma",
          "gender": "Men"}]
    )  # fmt: skip
    assert model.suggest(query)[0].to_dict() == suggestion


def test_suggest_a_listings_file(run: CliRunner, fitted_model: Path, fixtures: Path) -> None:
    source = fixtures / "flipkart_150.jsonl"  # other marketplace, other columns: still priced
    result = run.invoke(app, ["price", "suggest", str(source), "--model", str(fitted_model)])
    assert result.exit_code == 0, result.output
    suggestions = json.loads(result.stdout)["suggestions"]
    ids = pd.read_json(source, lines=True)["uniq_id"].tolist()
    assert [s["listing_id"] for s in suggestions] == ids
    assert all(s["low"] <= s["price"] <= s["high"] for s in suggestions)


def test_missing_model_folder(run: CliRunner) -> None:
    result = run.invoke(app, ["price", "suggest", "--model", "no/such/model", "--name", "Shoes"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: 'no/such/model' is not a furima price model: it has no manifest.json. Point at "
        "the folder written by `furima price fit` or PriceSuggester.save()."
    )
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("attr", ["gender", "=Men"])
def test_bad_attr(run: CliRunner, fitted_model: Path, attr: str) -> None:
    args = ["price", "suggest", "--model", str(fitted_model), "--name", "Shoes", "--attr", attr]
    result = run.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: --attr must look like key=value, but got {attr!r}."
    assert "Traceback" not in result.output


def test_suggest_needs_a_file_or_a_name(run: CliRunner, fitted_model: Path) -> None:
    result = run.invoke(app, ["price", "suggest", "--model", str(fitted_model)])
    assert result.exit_code == 1
    assert "error: Give a listings file, or at least --name" in result.stderr


def test_fit_on_a_zero_price_names_the_row(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(fixtures / "myntra_150.csv")
    frame.loc[6, "price"] = 0
    frame.to_csv(tmp_path / "zero.csv", index=False)
    result = run.invoke(app, ["price", "fit", "zero.csv"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "error: file 'zero.csv': 1 of 150 rows break the listing schema:" in result.stderr
    assert "row 7, column 'price': price must be a finite number > 0, got '0'" in result.stderr
    assert not (tmp_path / "models").exists()


def test_fit_skipping_bad_rows(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(fixtures / "myntra_150.csv")
    frame.loc[6, "price"] = 0
    frame.to_csv(tmp_path / "zero.csv", index=False)
    result = run.invoke(app, ["price", "fit", "zero.csv", "--on-error", "skip", "--model", "m"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 149


def test_fit_on_a_missing_store(run: CliRunner) -> None:
    result = run.invoke(app, ["price", "fit", "catalog.duckdb"])
    assert result.exit_code == 1
    assert "error: Catalog store 'catalog.duckdb' does not exist; run `furima ingest`." in (
        result.stderr
    )


def test_fit_from_an_ingested_store(run: CliRunner, fixtures: Path, tmp_path: Path) -> None:
    ingest = run.invoke(
        app, ["ingest", str(fixtures / "myntra_150.parquet"), "--store", "c.duckdb"]
    )
    assert ingest.exit_code == 0, ingest.output
    result = run.invoke(app, ["price", "fit", "c.duckdb", "--model", "m"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 150
    assert PriceSuggester.load(tmp_path / "m").training_["rows"] == 150
