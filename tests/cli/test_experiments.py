"""`furima experiments analyze | power | assign | list | ope`: thin commands, checked on values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from furima.cli import app
from furima.datasets import demo_bandit_paths, demo_experiment_path
from furima.experiments import Experiment, ExposureLog


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """2,000 units, a +10% lift on orders in treatment, a pre-period covariate."""
    rng = np.random.default_rng(0)
    variant = np.where(np.arange(2_000) % 2 == 0, "control", "treatment")
    before = rng.gamma(2.0, 2.0, size=2_000)
    orders = before + rng.normal(0.0, 1.0, size=2_000) + 2.0
    orders[variant == "treatment"] *= 1.1
    path = tmp_path / "units.csv"
    user = [f"u{number % 1_999}" for number in range(2_000)]  # u0 is in both variants
    frame = {"user": user, "variant": variant, "orders": orders, "before": before}
    pd.DataFrame(frame).to_csv(path)
    return path


def test_analyze_writes_the_report_and_json_and_finds_the_lift(
    run: CliRunner, units: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = run.invoke(
        app,
        [
            "experiments",
            "analyze",
            str(units),
            "--metric",
            "orders",
            "--pre-metric",
            "orders=before",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "SRM check passed" in result.stdout
    assert "Plotly.newPlot(" in out.read_text()
    summary = json.loads(out.with_suffix(".json").read_text())
    effect = summary["results"][0]["effect"]
    assert effect["method"] == "cuped"
    assert effect["ci_low"] < 0.10 < effect["ci_high"] and effect["ci_low"] > 0.05
    assert "power" in result.stdout and "2,000 units" in " ".join(result.stdout.split())


def test_analyze_real_field_experiment_matches_the_difference_in_means(
    run: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "cai.html"
    result = run.invoke(
        app,
        [
            "experiments",
            "analyze",
            str(demo_experiment_path()),
            "--variant",
            "intensive",
            "--control",
            "0",
            "--metric",
            "takeup_survey",
            "--difference",
            "absolute",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(demo_experiment_path())
    means = frame.groupby("intensive")["takeup_survey"].mean()
    effect = json.loads(out.with_suffix(".json").read_text())["results"][0]["effect"]
    assert effect["estimate"] == pytest.approx(means[1] - means[0], abs=1e-12)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metric", "nope"], "nope"),
        (["--ratio", "orders"], "--ratio 'orders': write NAME=NUMERATOR/DENOMINATOR."),
        (["--metric", "orders", "--pre-metric", "x=before"], "['x'] are not metrics"),
        (["--metric", "orders", "--quantile", "p9=orders@9"], "between 0 and 1"),
        ([], "name at least one metric"),
        (["--metric", "orders", "--unit", "user"], "more than one variant (e.g. 'u0')"),
    ],
)
def test_analyze_bad_options_exit_1_with_a_message(
    run: CliRunner, units: Path, extra: list[str], message: str
) -> None:
    result = run.invoke(app, ["experiments", "analyze", str(units), *extra])
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_power_gives_units_for_an_effect_and_the_effect_for_units(run: CliRunner) -> None:
    needed = run.invoke(
        app, ["experiments", "power", "--mean", "10", "--std", "5", "--mde", "0.05"]
    )
    assert needed.exit_code == 0, needed.output
    units = json.loads(needed.stdout)["units"]
    # two-sample z test: n per arm = 2 (z_.975 + z_.8)^2 sigma^2 / delta^2 = 1569.8, so 1570
    assert units == 2 * 1570
    found = run.invoke(
        app, ["experiments", "power", "--mean", "10", "--std", "5", "--users", str(units)]
    )
    assert json.loads(found.stdout)["mde"] == pytest.approx(0.05, rel=1e-3)
    both = run.invoke(app, ["experiments", "power", "--mean", "1", "--std", "1"])
    assert both.exit_code == 1 and "exactly one of --mde" in both.stderr


def test_assign_is_the_library_hash(run: CliRunner) -> None:
    result = run.invoke(app, ["experiments", "assign", "u1", "u2", "u3", "--experiment", "badge"])
    assert result.exit_code == 0, result.output
    experiment = Experiment("badge")
    assert json.loads(result.stdout) == {u: experiment.assign(u) for u in ("u1", "u2", "u3")}


def test_list_and_analyze_an_exposure_log(run: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = ExposureLog(path)
    log.declare(Experiment("banner", weights=(0.9, 0.1)))  # a 10% canary
    for number in range(400):
        unit = f"u{number}"
        log.record_exposure("banner", unit, "treatment" if number % 10 == 0 else "control")
        log.record_event(unit, "clicks", float(number % 7))
    log.close()
    listed = run.invoke(app, ["experiments", "list", str(path)])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["units"] == {"control": 360, "treatment": 40}
    analysed = run.invoke(
        app,
        [
            "experiments",
            "analyze",
            "--log",
            str(path),
            "--experiment",
            "banner",
            "--metric",
            "clicks",
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert analysed.exit_code == 0, analysed.output
    assert "SRM check passed" in analysed.stdout  # against the declared 90/10 split
    srm = json.loads((tmp_path / "r.json").read_text())["srm"]
    assert srm["expected"] == pytest.approx([360.0, 40.0])
    missing = run.invoke(app, ["experiments", "list", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_ope_estimates_the_uniform_policy_from_the_thompson_log(run: CliRunner) -> None:
    log, items = demo_bandit_paths("bts")
    result = run.invoke(
        app, ["experiments", "ope", str(log), "--items", str(items), "--interval", "normal"]
    )
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert set(values) == {"dm", "ips", "snips", "dr", "switch_dr"}
    truth = pd.read_parquet(demo_bandit_paths("random")[0])["click"].mean()
    for value in values.values():
        assert value["ci_low"] <= value["value"] <= value["ci_high"]
        assert 0.0 < value["value"] < 3 * truth
