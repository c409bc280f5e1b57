"""``furima experiments analyze | power | assign | ope``: thin commands over furima.experiments."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from furima.cli._errors import reported_errors
from furima.cli._filters import comma_list
from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

    from furima.experiments import ExperimentAnalysis, Metric, Mixed, PowerSummary

__all__ = ["experiments_app"]

experiments_app = typer.Typer(
    help="Experiments: A/B test analysis, power, assignment and off-policy estimates."
)


class Method(StrEnum):
    welch = "welch"
    sequential = "sequential"
    bayesian = "bayesian"


class Correction(StrEnum):
    holm = "holm"
    bh = "bh"
    none = "none"


class MixedUnits(StrEnum):
    raise_ = "raise"
    drop = "drop"
    first = "first"


class Interval(StrEnum):
    refit_bootstrap = "refit_bootstrap"
    bootstrap = "bootstrap"
    normal = "normal"


class DifferenceKind(StrEnum):
    relative = "relative"
    absolute = "absolute"


@experiments_app.command("analyze")
def analyze(
    data: Annotated[
        Path | None,
        typer.Argument(help="One row per unit (.parquet, .csv, .jsonl): variant and metrics."),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="A metric column (repeat for more)."),
    ] = None,
    pre_metric: Annotated[
        list[str] | None,
        typer.Option(
            "--pre-metric", help="METRIC=COLUMN: a pre-period covariate for CUPED (repeatable)."
        ),
    ] = None,
    ratio: Annotated[
        list[str] | None,
        typer.Option("--ratio", help="NAME=NUMERATOR/DENOMINATOR: a ratio metric (repeatable)."),
    ] = None,
    quantile: Annotated[
        list[str] | None,
        typer.Option("--quantile", help="NAME=COLUMN@Q, e.g. p90_days=delivery_days@0.9."),
    ] = None,
    guardrail: Annotated[
        str | None,
        typer.Option("--guardrail", help="Comma-separated metrics that must not get worse."),
    ] = None,
    lower_is_better: Annotated[
        str | None,
        typer.Option("--lower-is-better", help="Comma-separated metrics where less is better."),
    ] = None,
    variant: Annotated[str, typer.Option("--variant", help="The variant column.")] = "variant",
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="The unit id column: refuses units in two variants."),
    ] = None,
    control: Annotated[
        str | None, typer.Option("--control", help="The control variant (default: first).")
    ] = None,
    method: Annotated[Method, typer.Option("--method")] = Method.welch,
    difference: Annotated[DifferenceKind, typer.Option("--difference")] = (DifferenceKind.relative),
    correction: Annotated[Correction, typer.Option("--correction")] = Correction.holm,
    alpha: Annotated[float, typer.Option("--alpha", min=0.0001, max=0.5)] = 0.05,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Comma-separated columns to split by.")
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="First-exposure time column: sequential paths.")
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option("--log", help="Read units from a server's exposure log (SQLite) instead."),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="The experiment in --log.")
    ] = None,
    mixed: Annotated[
        MixedUnits,
        typer.Option(
            "--mixed",
            help="--log units that met several variants (after a ramp): raise, drop, first.",
        ),
    ] = MixedUnits.raise_,
    mde: Annotated[
        float | None,
        typer.Option(
            "--mde", help="Lift to plan for: the report shows the power this many units reach."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="HTML report (the JSON is written beside it).")
    ] = Path("experiment_report.html"),
) -> None:
    """Analyse an experiment: SRM check first, then each metric's effect with its interval,
    and the power of the first metric (the lift these units find, or the power at --mde)."""
    from furima.experiments import analyze as run_analysis
    from furima.experiments import write_report

    with reported_errors():
        frame, time, weights = _units(data, log, experiment, metric, time, mixed.value)
        variant = "variant" if log is not None else variant
        metrics = _metrics(metric, pre_metric, ratio, quantile, guardrail, lower_is_better)
        result = run_analysis(
            frame,
            metrics,
            variant=variant,
            control=control,
            unit="unit" if log is not None else unit,
            method=method.value,
            difference=difference.value,
            alpha=alpha,
            correction=correction.value,
            segments=_names(segment),
            time=time,
            weights=weights,
        )
        planned = _power(frame, variant, result.control, metrics[0], mde, alpha)
        report = write_report(result, out, power=planned)
    _print_analysis(Console(), result)
    if planned is not None:
        Console().print(f"power: {escape(planned.text)}")
    Console().print(f"report: {report}  json: {report.with_suffix('.json')}")


@experiments_app.command("power")
def power(
    mean: Annotated[float, typer.Option("--mean", help="The metric's mean in control.")],
    std: Annotated[float, typer.Option("--std", help="The metric's standard deviation.")],
    mde: Annotated[
        float | None,
        typer.Option("--mde", help="Smallest effect worth finding (relative unless --absolute)."),
    ] = None,
    users: Annotated[
        int | None, typer.Option("--users", help="Units you can expose: gives the MDE instead.")
    ] = None,
    absolute: Annotated[bool, typer.Option("--absolute", help="--mde is absolute.")] = False,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    target_power: Annotated[float, typer.Option("--power")] = 0.8,
    share: Annotated[float, typer.Option("--treatment-share")] = 0.5,
) -> None:
    """Before an experiment: units needed for an effect, or the effect a number of units finds."""
    from furima.experiments import minimum_detectable_effect, sample_size

    relative = not absolute
    with reported_errors():
        if (mde is None) == (users is None):
            raise DataError("give exactly one of --mde (to get units) or --users (to get the MDE).")
        common: dict[str, Any] = {
            "mean": mean,
            "std": std,
            "relative": relative,
            "alpha": alpha,
            "power": target_power,
            "treatment_share": share,
        }
        if mde is not None:
            answer = {"units": sample_size(mde=mde, **common), "mde": mde}
        else:
            assert users is not None
            answer = {"units": users, "mde": minimum_detectable_effect(n_total=users, **common)}
    kind = "relative" if relative else "absolute"
    Console().print_json(
        json.dumps({**answer, "mde_kind": kind, "alpha": alpha, "power": target_power})
    )


@experiments_app.command("list")
def list_experiments(
    log: Annotated[
        Path, typer.Argument(help="A server's exposure log (furima serve --experiment-log).")
    ],
) -> None:
    """Experiments in an exposure log: units per variant, first and last exposure."""
    from furima.experiments import ExposureLog

    with reported_errors():
        if not log.is_file():
            raise DataError(f"exposure log {str(log)!r} does not exist.")
        found = [counts.to_dict() for counts in ExposureLog(log).experiments()]
    Console().print_json(json.dumps(found, default=str))


@experiments_app.command("ope")
def off_policy(
    log: Annotated[
        Path,
        typer.Argument(
            help="Logged bandit feedback in the Open Bandit Dataset's columns (item_id, "
            "position, click, propensity_score, user_feature_*, user-item_affinity_*)."
        ),
    ],
    items: Annotated[Path, typer.Option("--items", help="The items table (item_id, features).")],
    target: Annotated[
        Path | None,
        typer.Option(
            "--target",
            help="The policy to judge: item_id, position, probability rows (context-free); "
            "default: uniform at random.",
        ),
    ] = None,
    interval: Annotated[
        Interval,
        typer.Option(
            "--interval",
            help="refit_bootstrap: refit the reward model per resample (honest for DM and DR); "
            "normal: fast, holds the model fixed.",
        ),
    ] = Interval.refit_bootstrap,
    resamples: Annotated[int, typer.Option("--resamples", min=10)] = 200,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Estimate another policy's mean reward from this log: DM, IPS, SNIPS, DR, switch-DR."""
    import numpy as np

    from furima.cli._search import read_table
    from furima.experiments import estimate, open_bandit_log

    with reported_errors():
        logged, _ = open_bandit_log(read_table(log), read_table(items))
        n_items = int(read_table(items)["item_id"].max()) + 1
        n_positions = 1 if logged.positions is None else int(logged.positions.max()) + 1
        probs = (
            np.full((n_items, n_positions), 1.0 / n_items)
            if target is None
            else _target_policy(read_table(target), n_items, n_positions)
        )
        shaped = np.broadcast_to(probs, (logged.n_rounds, n_items, n_positions))
        values = estimate(
            logged,
            shaped,
            alpha=alpha,
            seed=seed,
            interval=interval.value,
            n_bootstrap=resamples,
        )
    Console().print_json(json.dumps({name: value.to_dict() for name, value in values.items()}))


def _target_policy(frame: pd.DataFrame, n_items: int, n_positions: int) -> Any:
    import numpy as np

    missing = {"item_id", "position", "probability"} - set(frame.columns)
    if missing:
        raise DataError(
            f"--target needs columns item_id, position, probability; missing {sorted(missing)}."
        )
    probs = np.zeros((n_items, n_positions))
    positions = frame["position"].to_numpy() - int(frame["position"].min())
    probs[frame["item_id"].to_numpy(), positions] = frame["probability"].to_numpy(float)
    return probs


@experiments_app.command("assign")
def assign(
    units: Annotated[list[str], typer.Argument(help="Unit ids (users, sessions, listings).")],
    name: Annotated[str, typer.Option("--experiment", help="The experiment's name.")],
    variants: Annotated[str, typer.Option("--variants")] = "control,treatment",
    weights: Annotated[
        str | None, typer.Option("--weights", help="Comma-separated, e.g. 0.5,0.5.")
    ] = None,
    traffic: Annotated[float, typer.Option("--traffic", help="Share of units in it.")] = 1.0,
    salt: Annotated[str | None, typer.Option("--salt", help="Default: the name.")] = None,
) -> None:
    """Which variant each unit gets: the same hash the server and the SDKs use."""
    from furima.experiments import Experiment

    with reported_errors():
        shares = [float(part) for part in _names(weights)] if weights else None
        plan = Experiment(
            name, variants=comma_list(variants), weights=shares, traffic=traffic, salt=salt
        )
        answers = {unit: plan.assign(unit) for unit in units}
    Console().print_json(json.dumps(answers))


def _units(
    data: Path | None,
    log: Path | None,
    experiment: str | None,
    metrics: list[str] | None,
    time: str | None,
    mixed: Mixed,
) -> tuple[pd.DataFrame, str | None, dict[str, float] | None]:
    """Per-unit rows from a file, or from a server's exposure log with its declared split
    (the expected shares of the sample-ratio check)."""
    if (data is None) == (log is None):
        raise DataError("give a DATA file or --log FILE --experiment NAME, not both or neither.")
    if data is not None:
        from furima.cli._search import read_table

        return read_table(data), time, None
    from furima.experiments import ExposureLog

    assert log is not None
    if experiment is None:
        raise DataError("--log needs --experiment NAME; `furima experiments list` shows names.")
    if not log.is_file():
        raise DataError(f"exposure log {str(log)!r} does not exist.")
    exposures = ExposureLog(log)
    frame = exposures.unit_metrics(experiment, list(metrics or []), mixed=mixed)
    counts = exposures.experiment(experiment)
    shares = None if counts is None else counts.shares
    present = set(frame["variant"])
    if shares is not None and not all(shares.get(arm, 0.0) > 0 for arm in present):
        shares = None
    declared = None if shares is None else {arm: shares[arm] for arm in present}
    return frame, time or "first_exposure", declared


def _power(
    frame: pd.DataFrame,
    variant: str,
    control: str,
    metric: Metric,
    mde: float | None,
    alpha: float,
) -> PowerSummary | None:
    """The power of the first mean metric: its control arm's mean and spread, all units."""
    from furima.experiments import power_summary

    if metric.kind not in ("mean", "proportion"):
        return None
    values = frame.loc[frame[variant].astype(str) == control, metric.column or metric.name]
    mean, std = float(values.mean()), float(values.std())
    if not std > 0 or mean == 0:
        return None
    return power_summary(mean=mean, std=std, mde=mde, n_total=len(frame), alpha=alpha)


def _metrics(
    columns: list[str] | None,
    pre: list[str] | None,
    ratios: list[str] | None,
    quantiles: list[str] | None,
    guardrails: str | None,
    lower: str | None,
) -> list[Metric]:
    from furima.experiments import Metric

    pre_columns = dict(_pair(item, "--pre-metric", "METRIC=COLUMN") for item in pre or [])
    guarded, lower_better = set(_names(guardrails)), set(_names(lower))
    specs: list[dict[str, Any]] = [{"name": column, "column": column} for column in columns or []]
    for item in ratios or []:
        name, expression = _pair(item, "--ratio", "NAME=NUMERATOR/DENOMINATOR")
        numerator, _, denominator = expression.partition("/")
        if not numerator or not denominator:
            raise DataError(f"--ratio {item!r}: write NAME=NUMERATOR/DENOMINATOR.")
        specs.append(
            {"name": name, "column": numerator, "kind": "ratio", "denominator": denominator}
        )
    for item in quantiles or []:
        name, expression = _pair(item, "--quantile", "NAME=COLUMN@Q")
        column, _, level = expression.partition("@")
        specs.append(
            {"name": name, "column": column, "kind": "quantile", "quantile": _q(item, level)}
        )
    if not specs:
        raise DataError("name at least one metric: --metric, --ratio or --quantile.")
    names = {spec["name"] for spec in specs}
    unknown = (set(pre_columns) | guarded | lower_better) - names
    if unknown:
        raise DataError(
            f"{sorted(unknown)} are not metrics of this analysis; known: {sorted(names)}."
        )
    return [
        Metric(
            **spec,
            pre_column=pre_columns.get(spec["name"]),
            guardrail=spec["name"] in guarded,
            higher_is_better=spec["name"] not in lower_better,
        )
        for spec in specs
    ]


def _names(text: str | None) -> tuple[str, ...]:
    return comma_list(text) if text else ()


def _pair(item: str, option: str, shape: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise DataError(f"{option} {item!r}: write {shape}.")
    return name.strip(), value.strip()


def _q(item: str, level: str) -> float:
    try:
        value = float(level)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise DataError(f"--quantile {item!r}: the level after @ must be between 0 and 1.")
    return value


def _print_analysis(out: Console, result: ExperimentAnalysis) -> None:
    srm = result.srm
    out.print(
        ("SRM check passed: " if srm.ok else "[red]SRM check FAILED:[/red] ") + escape(srm.message)
    )
    table = Table(title="Effects (treatment vs control)")
    for column in ("metric", "variant", "effect", "interval", "p / chance to win", "note"):
        table.add_column(column, overflow="fold")
    for row in result.results:
        effect = row.effect
        label = escape(row.metric if not row.segment else f"{row.metric} [{row.segment}]")
        if effect is None:
            table.add_row(label, row.variant, "-", "-", "-", escape(row.unsupported or ""))
            continue
        scale, unit = (100.0, "%") if effect.difference == "relative" else (1.0, "")
        p_value = row.adjusted_p_value if row.adjusted_p_value is not None else effect.p_value
        evidence = (
            f"chance to win {effect.chance_to_win:.1%}"
            if effect.chance_to_win is not None
            else f"p={p_value:.4f}"
        )
        table.add_row(
            label,
            escape(row.variant),
            f"{effect.estimate * scale:+.3g}{unit}",
            f"[{effect.ci_low * scale:+.3g}{unit}, {effect.ci_high * scale:+.3g}{unit}]",
            evidence,
            effect.method,
        )
    out.print(table)
    out.print(f"[bold]decision:[/bold] {escape(result.decision)}")
