"""The experiments step of ``furima demo``: a real randomised field experiment analysed with
and without its pre-treatment covariate, and one recommendation policy's click rate estimated
from another policy's log (the Open Bandit Dataset sample), before any user sees it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from furima.experiments import ExperimentAnalysis
    from furima.registry import ModelRegistry

__all__ = ["experiments_step", "print_served_experiment", "serve_rank_experiment"]

_PLANNED_LIFT = 0.10
_OTHER_CANDIDATES = 20
_RESAMPLES = 50


def experiments_step(out: Console, workdir: Path, seed: int) -> Path:
    """Analyse the shipped field experiment and write its report; estimate a policy offline."""
    out.rule("12. experiments: a real field experiment; a policy judged from another's log")
    report = _field_experiment(out, workdir)
    _off_policy(out, seed)
    return report


def _field_experiment(out: Console, workdir: Path) -> Path:
    from furima.datasets import demo_experiment_path
    from furima.experiments import Metric, analyze, power_summary, write_report

    frame = pd.read_parquet(demo_experiment_path())
    frame["session"] = np.where(frame["intensive"] == 1, "intensive", "simple")
    control = frame.loc[frame["session"] == "simple", "takeup_survey"]
    plan = power_summary(mean=float(control.mean()), std=float(control.std()), mde=_PLANNED_LIFT)
    out.print(
        f"{len(frame):,} households offered weather insurance after a simple or an intensive "
        f"information session (Cai et al. 2015). Planning: {escape(plan.text)}"
    )
    plain = analyze(frame, ["takeup_survey"], variant="session", control="simple")
    adjusted = analyze(
        frame,
        [Metric("takeup_survey", pre_column="pre_takeup_rate")],
        variant="session",
        control="simple",
    )
    out.print(_effects_table({"Welch": plain, "CUPED (village take-up before)": adjusted}))
    out.print(f"{escape(adjusted.srm.message)} {escape(adjusted.decision)}")
    report = write_report(
        adjusted,
        workdir / "experiment_report.html",
        power=power_summary(
            mean=float(control.mean()), std=float(control.std()), n_total=len(frame)
        ),
        title="Intensive information sessions and insurance take-up",
    )
    out.print(
        f"report {report} (and {report.with_suffix('.json').name}); try: furima experiments "
        f"analyze units.parquet --variant session --metric takeup_survey "
        f"--pre-metric takeup_survey=pre_takeup_rate"
    )
    return report


def _effects_table(analyses: dict[str, ExperimentAnalysis]) -> Table:
    table = Table(title="Take-up, intensive against simple sessions")
    for column in ("test", "lift", "95% interval", "p", "interval width"):
        table.add_column(column)
    for name, analysis in analyses.items():
        effect = analysis.results[0].effect
        if effect is None:
            table.add_row(name, "-", "-", "-", analysis.results[0].unsupported or "")
            continue
        table.add_row(
            name,
            f"{effect.estimate:+.1%}",
            f"{effect.ci_low:+.1%} to {effect.ci_high:+.1%}",
            f"{effect.p_value:.2f}" if effect.p_value is not None else "-",
            f"{effect.ci_high - effect.ci_low:.1%}",
        )
    return table


def _off_policy(out: Console, seed: int) -> None:
    """The uniform-random policy's click rate, estimated from the Thompson-sampling log and
    checked against the random policy's own log."""
    from furima.datasets import demo_bandit_paths
    from furima.experiments import estimate, open_bandit_log

    log_path, items_path = demo_bandit_paths("bts")
    logged, _ = open_bandit_log(pd.read_parquet(log_path), pd.read_parquet(items_path))
    assert logged.positions is not None
    n_items, n_positions = int(logged.actions.max()) + 1, int(logged.positions.max()) + 1
    uniform = np.full((n_items, n_positions), 1.0 / n_items)
    target = np.broadcast_to(uniform, (logged.n_rounds, n_items, n_positions))
    values = estimate(logged, target, seed=seed, interval="refit_bootstrap", n_bootstrap=_RESAMPLES)
    truth = float(pd.read_parquet(demo_bandit_paths("random")[0])["click"].mean())
    table = Table(
        title=(
            f"Click rate of the uniform-random policy, estimated from {logged.n_rounds:,} "
            f"Thompson-sampling impressions (ZOZOTOWN); its own log says {truth:.4f}"
        )
    )
    for column in ("estimator", "estimate", "95% interval (model refitted)", "relative error"):
        table.add_column(column)
    for name, value in values.items():
        table.add_row(
            name,
            f"{value.value:.4f}",
            f"{value.ci_low:.4f} to {value.ci_high:.4f}",
            f"{abs(value.value - truth) / truth:.0%}",
        )
    out.print(table)


def serve_rank_experiment(registry: ModelRegistry, folder: Path) -> None:
    """The same ranker as challenger, on 50% of users by a hash of their id: an A/A test
    through the server, which records who met which version."""
    from furima.registry import TrafficPolicy

    registry.log_model(folder, task="rank", alias="challenger")
    registry.set_traffic("rank", TrafficPolicy(canary_percent=50, sticky="user"))


def print_served_experiment(out: Console, url: str, seed: int) -> None:
    """Each demo buyer active on the last day asks for a feed of five out of what they
    touched that day and twenty other listings; how many of the five they touched is their
    outcome. Then the server's own analysis of the canary."""
    import httpx

    from furima.datasets import demo_behaviour_path

    events = pd.read_parquet(demo_behaviour_path(), columns=["user_id", "item_id", "timestamp"])
    last_day = int(events["timestamp"].max()) // 86_400 * 86_400
    touched = events[events["timestamp"] >= last_day].groupby("user_id")["item_id"].agg(set)
    others = events.loc[events["timestamp"] < last_day, "item_id"].unique()
    rng = np.random.default_rng(seed)
    outcomes = []
    for user, items in touched.items():
        candidates = [*items, *rng.choice(others, _OTHER_CANDIDATES, replace=False).tolist()]
        body = {"user_id": str(user), "candidates": [str(item) for item in candidates], "k": 5}
        reply = httpx.post(
            f"{url}/v1/rank", json=body, headers={"X-User-Id": str(user)}, timeout=60
        )
        served = {int(item["id"]) for item in reply.json()["items"]}
        outcomes.append({"user": str(user), "metric": "touched", "value": len(served & items)})
    httpx.post(f"{url}/v1/experiments/events:batch", json={"events": outcomes}, timeout=60)
    listed = httpx.get(f"{url}/v1/experiments", timeout=60).json()["experiments"][0]
    answer = httpx.get(
        f"{url}/v1/experiments/{listed['name']}", params={"metrics": "touched"}, timeout=60
    ).json()["analysis"]
    units = ", ".join(f"{arm} {count}" for arm, count in listed["units"].items())
    out.print(
        f"{len(outcomes)} buyers asked POST /v1/rank with X-User-Id; the canary became "
        f"experiment {listed['name']!r} ({units}). GET /v1/experiments/{listed['name']}"
        f"?metrics=touched -> {answer['srm']['message']} {_served_effect(answer)} "
        f"{answer['decision']}"
    )


def _served_effect(answer: dict[str, Any]) -> str:
    row = answer["results"][0]
    effect = row.get("effect")
    if effect is None:
        return f"No effect reported: {row.get('unsupported')}"
    return (
        f"Listings touched among the five, challenger against champion: "
        f"{effect['estimate']:+.1%} ({effect['ci_low']:+.1%} to {effect['ci_high']:+.1%})."
    )
