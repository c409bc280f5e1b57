"""`furima price sell-chance simulate | fit | ask`: thin commands, checked against the model.

The data is the documented simulation (furima.pricing._sell_simulation): no real sale outcomes
exist here, so these tests check the commands, not the model's quality.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.pricing._sell_chance import SellChanceModel
from furima.registry import ModelRegistry

SELL = ["price", "sell-chance"]
FAST = ["--max-days", "14", "--estimators", "60", "--seed", "1"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sell-chance") / "sales.parquet"
    result = CliRunner().invoke(
        app, [*SELL, "simulate", "--out", str(path), "--listings", "1500", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    table = pd.read_parquet(path)
    assert summary["data"] == "SIMULATED" and "SIMULATED" in summary["note"]
    assert summary["rows"] == len(table) == 1500
    assert summary["sales"] == int(table["sold"].sum())
    return path


@pytest.fixture(scope="module")
def fitted(simulated: Path) -> Path:
    out = simulated.parent / "model"
    result = CliRunner().invoke(
        app,
        [*SELL, "fit", str(simulated), "--out", str(out), "--feature", "category", *FAST],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    table = pd.read_parquet(simulated)
    assert summary["model"] == str(out)
    assert summary["rows"] == 1500 and summary["sales"] == int(table["sold"].sum())
    assert summary["longest_horizon_days"] == 14
    return out


def _ask(model: Path, *extra: str) -> dict[str, object]:
    result = CliRunner().invoke(app, [*SELL, "ask", "--model", str(model), *extra])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_ask_prints_the_models_chance_sentence_and_best_price(fitted: Path) -> None:
    model = SellChanceModel.load(fitted)
    assert (model.n_estimators, model.max_days, model.random_state) == (60, 14, 1)
    answer = _ask(fitted, "--price", "1200", "--reference", "1000", "--feature", "category=shoes")
    listing = pd.DataFrame([{"reference_price": 1000.0, "category": "shoes"}])
    assert answer["chance"] == float(model.chance(listing, 1200.0, within_days=7)[0])
    assert answer["explanation"] == model.explain(listing, 1200.0, within_days=7)
    assert str(answer["explanation"]).startswith("priced at 1,200, ")
    best, chance = model.best_price(listing, within_days=7)
    assert (answer["best_price"], answer["best_chance"]) == (best, chance)
    assert answer["best_expected_proceeds"] == pytest.approx(best * chance)


def test_a_higher_price_never_reads_likelier_and_a_longer_horizon_is_likelier(
    fitted: Path,
) -> None:
    def chance(price: str, days: str) -> float:
        ask = ["--price", price, "--reference", "1000", "--feature", "category=books"]
        return float(_ask(fitted, *ask, "--within-days", days)["chance"])  # type: ignore[arg-type]

    assert chance("700", "7") >= chance("1000", "7") >= chance("1500", "7")
    assert chance("1000", "14") > chance("1000", "3")


def test_a_feature_left_out_is_scored_as_missing(fitted: Path) -> None:
    model = SellChanceModel.load(fitted)
    answer = _ask(fitted, "--price", "900", "--reference", "1000", "--within-days", "14")
    listing = pd.DataFrame([{"reference_price": 1000.0, "category": None}])
    assert answer["chance"] == float(model.chance(listing, 900.0, within_days=14)[0])


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--feature", "colour=red"], "'colour' is not a feature of this model; it uses"),
        (["--feature", "category"], "--feature must look like key=value"),
        (["--within-days", "40"], "`within_days` must be between 1 and 14"),
        (["--price", "-5"], "Prices must be finite numbers above 0"),
    ],
)
def test_bad_questions_are_refused_with_a_message(
    fitted: Path, extra: list[str], words: str
) -> None:
    ask = {"--price": "1200", "--reference": "1000"}
    if "--price" in extra:
        ask.pop("--price")
    args = [part for pair in ask.items() for part in pair] + extra
    result = CliRunner().invoke(app, [*SELL, "ask", "--model", str(fitted), *args])
    assert result.exit_code == 1
    assert words in " ".join(result.output.split())


def test_fit_names_a_missing_column_and_simulate_a_bad_suffix(
    simulated: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, [*SELL, "fit", str(simulated), "--out", str(tmp_path / "m"), "--price", "asking"]
    )
    assert result.exit_code == 1
    assert "Missing column(s) ['asking']" in result.output
    assert not (tmp_path / "m").exists()
    result = CliRunner().invoke(app, [*SELL, "simulate", "--out", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 1 and "write a .parquet, .csv or .jsonl file" in result.output


def test_fit_registers_the_model_as_the_sell_chance_champion(
    simulated: Path, tmp_path: Path
) -> None:
    registry = tmp_path / "registry"
    register = ["--register", "sell_chance", "--registry", str(registry)]
    result = CliRunner().invoke(
        app,
        [*SELL, "fit", str(simulated), "--out", str(tmp_path / "m"), *FAST, *register],
    )
    assert result.exit_code == 0, result.output
    registered = json.loads(result.stdout)["registered"]
    assert registered == {"task": "sell_chance", "version": 1, "aliases": ["champion"]}
    version = ModelRegistry(registry).versions("sell_chance")[0]
    assert version.metrics["listings"] == 1500
