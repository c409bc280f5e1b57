"""`furima risk simulate | fraud fit|score | credit fit|score`: thin commands, checked on values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.risk import FraudScorer
from furima.risk._credit_models import load_credit_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GERMAN = FIXTURES / "german_credit_400.parquet"


@pytest.fixture
def transactions(run: CliRunner, tmp_path: Path) -> Path:
    path = tmp_path / "tx.parquet"
    result = run.invoke(
        app,
        [
            "risk",
            "simulate",
            "--out",
            str(path),
            "--days",
            "30",
            "--customers",
            "300",
            "--terminals",
            "600",
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    frame = pd.read_parquet(path)
    assert summary["rows"] == len(frame) > 10_000
    assert summary["frauds"] == int(frame["is_fraud"].sum()) > 100
    return path


def test_fraud_fit_then_score_flags_the_daily_budget(
    run: CliRunner, transactions: Path, tmp_path: Path
) -> None:
    fitted = run.invoke(
        app,
        [
            "risk",
            "fraud",
            "fit",
            str(transactions),
            "--out",
            str(tmp_path / "fraud"),
            "--review-cost",
            "5",
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    summary = json.loads(fitted.output)
    assert summary["validation"]["auc"] > 0.8
    assert summary["cost_threshold"]["net_saving"] > 0
    assert FraudScorer.load(tmp_path / "fraud").validation_.auc == summary["validation"]["auc"]

    out = tmp_path / "scored.parquet"
    scored = run.invoke(
        app,
        [
            "risk",
            "fraud",
            "score",
            str(transactions),
            "--model",
            str(tmp_path / "fraud"),
            "--out",
            str(out),
            "--alerts-per-day",
            "10",
            "--show",
            "3",
        ],
    )
    assert scored.exit_code == 0, scored.output
    answer = json.loads(scored.output)
    table = pd.read_parquet(out)
    days = pd.to_datetime(table["timestamp"]).dt.floor("D")
    assert answer["alerts"] == int(table["alert"].sum()) == days.nunique() * 10
    assert len(answer["top"]) == 3 and len(answer["top"][0]["reasons"]) == 3
    assert answer["top"][0]["score"] == pytest.approx(table["score"].max(), abs=1e-4)

    page = tmp_path / "fraud.html"
    reported = run.invoke(
        app,
        [
            "risk",
            "fraud",
            "report",
            str(transactions),
            "--model",
            str(tmp_path / "fraud"),
            "--out",
            str(page),
            "--alerts-per-day",
            "10",
            "--review-cost",
            "5",
        ],
    )
    assert reported.exit_code == 0, reported.output
    assert "Precision" in page.read_text()


def test_fraud_fit_without_the_time_column_says_which_option_to_give(
    run: CliRunner, transactions: Path, tmp_path: Path
) -> None:
    result = run.invoke(
        app,
        ["risk", "fraud", "fit", str(transactions), "--out", str(tmp_path / "m"), "--time", "when"],
    )
    assert result.exit_code == 1
    assert "when" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_credit_fit_then_score_gives_points_and_reasons(run: CliRunner, tmp_path: Path) -> None:
    fitted = run.invoke(
        app,
        [
            "risk",
            "credit",
            "fit",
            str(GERMAN),
            "--out",
            str(tmp_path / "card"),
            "--target",
            "creditability",
            "--bad-value",
            "bad",
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    values = json.loads(fitted.output)["information_values"]
    assert max(values, key=values.get) == "status_of_existing_checking_account"

    out = tmp_path / "scored.jsonl"
    scored = run.invoke(
        app,
        [
            "risk",
            "credit",
            "score",
            str(GERMAN),
            "--model",
            str(tmp_path / "card"),
            "--out",
            str(out),
            "--show",
            "2",
        ],
    )
    assert scored.exit_code == 0, scored.output
    rows = pd.read_json(out, lines=True)
    expected = load_credit_model(tmp_path / "card").score(pd.read_parquet(GERMAN))
    assert rows["score"].to_numpy() == pytest.approx(expected["score"].to_numpy())
    shown = json.loads(scored.output)["applicants"]
    assert len(shown) == 2 and all(applicant["reasons"] for applicant in shown)

    page = tmp_path / "credit.html"
    reported = run.invoke(
        app,
        [
            "risk",
            "credit",
            "report",
            str(GERMAN),
            "--model",
            str(tmp_path / "card"),
            "--out",
            str(page),
            "--protected",
            "personal_status_and_sex",
            "--max-pd",
            "0.3",
        ],
    )
    assert reported.exit_code == 0, reported.output
    html = page.read_text()
    assert "Approval rates" in html and "personal_status_and_sex" in html


def test_credit_fit_takes_the_scorecard_alone(run: CliRunner, tmp_path: Path) -> None:
    fitted = run.invoke(
        app,
        [
            "risk",
            "credit",
            "fit",
            str(GERMAN),
            "--out",
            str(tmp_path / "card"),
            "--target",
            "creditability",
            "--bad-value",
            "bad",
            "--model",
            "scorecard",
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    manifest = json.loads((tmp_path / "card" / "manifest.json").read_text())
    assert manifest["format"] == "furima.scorecard"


def test_credit_fit_refuses_a_bad_value_the_target_never_holds(
    run: CliRunner, tmp_path: Path
) -> None:
    result = run.invoke(
        app,
        [
            "risk",
            "credit",
            "fit",
            str(GERMAN),
            "--out",
            str(tmp_path / "card"),
            "--target",
            "creditability",
            "--bad-value",
            "defaulted",
        ],
    )
    assert result.exit_code == 1
    assert "defaulted" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "card").exists()
