"""`furima buyer-search build|query` on 240 real Myntra listings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.registry import ModelRegistry

LISTINGS = Path(__file__).parents[1] / "fixtures" / "myntra_photos_240.parquet"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-buyer-search")
    out, registry = root / "search", root / "registry"
    args = ["buyer-search", "build", str(LISTINGS), "--out", str(out), "--ranker", "fusion"]
    args += ["--category-column", "article_type", "--colour-column", "base_colour"]
    args += ["--attribute-columns", "gender,usage", "--registry", str(registry)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["registered"]["task"] == "search"
    assert {k: summary[k] for k in ("model", "listings", "ranker", "photos")} == {
        "model": str(out),
        "listings": 240,
        "ranker": "fusion",
        "photos": False,
    }
    assert ModelRegistry(registry).version("search", "champion").version == 1
    return out


def query(model: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["buyer-search", "query", *args, "--model", str(model)])
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_words_find_listings_with_facets_and_filters(model: Path) -> None:
    page = query(model, "women kurta", "--k", "5")
    assert len(page["results"]) == 5
    assert all("Kurta" in hit["title"] for hit in page["results"])
    assert page["facets"]["category"][0] == {"value": "Kurtas", "count": 30}
    narrowed = query(model, "women kurta", "--filter", "colour=White")
    assert narrowed["results"] and {h["colour"] for h in narrowed["results"]} == {"White"}


def test_bad_queries_say_what_to_do(model: Path) -> None:
    empty = CliRunner().invoke(app, ["buyer-search", "query", "--model", str(model)])
    assert empty.exit_code != 0
    assert "the search query is empty: type some words, or give a photo" in empty.output
    unknown = CliRunner().invoke(
        app, ["buyer-search", "query", "shirt", "--model", str(model), "--filter", "brand=x"]
    )
    assert unknown.exit_code != 0
    assert "cannot filter on unknown field 'brand'" in unknown.output
    other_script = query(model, "赤いクルタ")
    assert other_script["results"] == []
    assert "Chinese/Japanese script" in other_script["notes"][0]


def test_a_learned_ranker_needs_two_attribute_columns() -> None:
    args = ["buyer-search", "build", str(LISTINGS), "--category-column", "article_type"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "needs at least two of --category-column, --colour-column" in result.output
