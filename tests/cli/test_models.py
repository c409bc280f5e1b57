"""`furima models ...`, `furima price fit --registry` and `furima deploy`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.registry import ModelRegistry


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "registry"
    monkeypatch.setenv("FURIMA_REGISTRY", str(folder))
    return folder


def invoke(run: CliRunner, *args: str) -> str:
    result = run.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_fit_with_a_registry_logs_it_and_the_first_version_is_champion(
    run: CliRunner, fixtures: Path, tmp_path: Path
) -> None:
    data = str(fixtures / "myntra_150.parquet")
    args = ["price", "fit", data, "--model", str(tmp_path / "m"), "--registry", "reg"]
    first = json.loads(invoke(run, *args))
    assert first["registered"] == {"task": "price", "version": 1, "aliases": ["champion"]}
    second = json.loads(invoke(run, *args))
    assert second["registered"] == {"task": "price", "version": 2, "aliases": []}


def test_log_list_promote_traffic_and_rollback(
    run: CliRunner, registry: Path, fitted_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    for _ in range(2):
        logged = json.loads(invoke(run, "models", "log", str(fitted_model)))
    assert (logged["task"], logged["version"], logged["format"]) == (
        "price",
        2,
        "furima.price_model",
    )
    assert json.loads(invoke(run, "models", "promote", "price", "1"))["aliases"] == ["champion"]
    invoke(run, "models", "promote", "price", "2", "--alias", "challenger")
    invoke(run, "models", "traffic", "price", "--canary", "10", "--sticky", "user")
    rows = [json.loads(line) for line in invoke(run, "models", "list", "--json").splitlines()]
    assert [(r["version"], r["aliases"]) for r in rows] == [(2, ["challenger"]), (1, ["champion"])]
    assert rows[0]["traffic"] == {"canary_percent": 10.0, "shadow": False, "sticky": "user"}
    table = invoke(run, "models", "list")
    assert "challenger (10% canary)" in table
    invoke(run, "models", "promote", "price", "2")
    assert json.loads(invoke(run, "models", "rollback", "price"))["version"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "promote", "price", "3"], "No model is registered for task 'price'"),
        (["models", "rollback", "nothing"], "No model is registered for task 'nothing'"),
        (["models", "traffic", "price", "--sticky", "session"], "--sticky must be user"),
        (["models", "log", "missing-folder"], "is not a folder"),
        (["deploy", "price", "--port", "0"], "No model is registered for task 'price'"),
    ],
)
def test_mistakes_get_one_clear_line(
    run: CliRunner, registry: Path, args: list[str], message: str
) -> None:
    result = run.invoke(app, args)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_list_on_an_empty_registry_says_so(run: CliRunner, registry: Path) -> None:
    assert "No models in sqlite:///" in invoke(run, "models", "list")


def test_deploy_starts_a_server_that_answers(
    run: CliRunner, registry: Path, fitted_model: Path
) -> None:
    invoke(run, "models", "log", str(fitted_model), "--alias", "champion")
    from furima.serve._deploy import deploy

    with deploy(["price"], registry=registry) as deployment:
        assert deployment.versions == {"price": 1}
        answer = httpx.post(
            f"{deployment.url}/v1/price:suggest", json={"name": "Nike Men Black Running Shoes"}
        )
        assert answer.status_code == 200
        assert answer.json()["model"] == {"task": "price", "version": 1, "route": "champion"}
        assert answer.json()["low"] <= answer.json()["price"] <= answer.json()["high"]
    # SIGTERM: uvicorn finishes in-flight requests, shuts the app down, then re-raises it
    assert deployment.process.returncode in (0, -15)
    assert "Application shutdown complete" in deployment.log.read_text()


def test_deploy_with_two_workers_sums_their_metrics(
    run: CliRunner, registry: Path, fitted_model: Path
) -> None:
    invoke(run, "models", "log", str(fitted_model), "--alias", "champion")
    from furima.serve._deploy import deploy

    with deploy(["price"], registry=registry, workers=2) as deployment:
        body = {"name": "Puma Women Pink Top"}
        with httpx.Client(base_url=deployment.url, timeout=30) as client:
            answers = []
            deadline = time.monotonic() + 60  # until both workers have loaded the champion
            while len(answers) < 20 and time.monotonic() < deadline:
                answer = client.post("/v1/price:suggest", json=body)
                if answer.status_code == 200:
                    answers.append(answer)
                else:
                    time.sleep(0.05)
            metrics = client.get("/metrics").text
    assert len(answers) == 20
    served = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('furima_requests_total{route="champion",status="200",task="price"')
    ]
    assert served == [20.0]  # one series, summed over both worker processes


def test_automl_run_writes_the_report_and_leaderboard(
    run: CliRunner, fixtures: Path, tmp_path: Path
) -> None:
    args = ["automl", "run", str(fixtures / "sms_spam_600.parquet"), "--target", "label"]
    options = ["--task", "binary", "--budget", "10s", "--max-trials", "6", "--out", "out"]
    options += ["--register", "spam"]
    result = run.invoke(app, [*args, *options, "--registry", "reg"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["metric"] == "auprc" and summary["ensemble_score"] > 0.9
    assert (tmp_path / "out" / "report.html").read_text().count("Plotly.newPlot(") >= 2
    board = (tmp_path / "out" / "leaderboard.csv").read_text().splitlines()
    assert board[0].startswith("rank,trial,family,score")
    assert summary["model"] == "out/model" and (tmp_path / "out/model/manifest.json").is_file()
    assert summary["registered"] == {"task": "spam", "version": 1, "aliases": ["champion"]}
    champion = ModelRegistry(tmp_path / "reg").version("spam", "champion")
    assert champion.format == "furima.automl_model"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "labels", "--task", "binary"], "--target 'labels' is not a column"),
        (["--target", "label", "--task", "binary", "--budget", "ten"], "is not a duration"),
        (["--target", "label", "--task", "regression", "--metric", "auprc"], "does not fit"),
    ],
)
def test_automl_mistakes_get_one_clear_line(
    run: CliRunner, fixtures: Path, args: list[str], message: str
) -> None:
    result = run.invoke(app, ["automl", "run", str(fixtures / "sms_spam_600.parquet"), *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
