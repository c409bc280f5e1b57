"""``furima automl run``: search models for a table within a budget, write the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from furima.cli._errors import reported_errors
from furima.cli._search import read_table, require_column
from furima.exceptions import DataError

__all__ = ["automl_app", "parse_budget"]

automl_app = typer.Typer(help="Automatic model creation: families, hyperparameters, ensembles.")

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """``"300"``, ``"300s"``, ``"10m"`` or ``"1h"`` as seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found:
        raise ValueError(f"--budget {text!r} is not a duration; write e.g. 300, 300s, 10m or 1h.")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


@automl_app.command("run")
def run(
    data: Annotated[Path, typer.Argument(help="A table: .parquet, .csv or .jsonl.")],
    target: Annotated[str, typer.Option(help="The column to predict.")],
    task: Annotated[str, typer.Option(help="regression, binary, multiclass or ranking.")],
    metric: Annotated[
        str | None, typer.Option(help="e.g. rmsle, auprc, accuracy, ndcg@10.")
    ] = None,
    budget: Annotated[str, typer.Option(help="Time budget: 300, 300s, 10m, 1h.")] = "5m",
    max_trials: Annotated[
        int | None, typer.Option(min=1, help="Stop the search after this many trials.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the report and leaderboard.")] = Path(
        "automl"
    ),
    sampler: Annotated[str, typer.Option(help="auto, tpe, gp, cmaes, nsga2, random.")] = "auto",
    pruner: Annotated[str, typer.Option(help="hyperband, asha, median, none.")] = "hyperband",
    latency: Annotated[
        bool, typer.Option(help="Also minimise prediction latency (a Pareto front).")
    ] = False,
    storage: Annotated[
        str | None, typer.Option(help="A .journal file or database URL (resumable).")
    ] = None,
    study_name: Annotated[str | None, typer.Option(help="Study name in the storage.")] = None,
    n_jobs: Annotated[int, typer.Option(min=1, help="Processes searching in parallel.")] = 1,
    time_column: Annotated[
        str | None, typer.Option(help="Hold out the latest rows by this column.")
    ] = None,
    group_column: Annotated[
        str | None, typer.Option(help="Ranking: the column naming each row's query.")
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Columns to leave out.")] = None,
    registry: Annotated[
        str | None,
        typer.Option(help="Record every trial on this registry's MLflow (and --register there)."),
    ] = None,
    register: Annotated[
        str | None,
        typer.Option(
            help="Register the chosen model under this name (its first version becomes the "
            "champion); `furima serve` then answers POST /v1/<name>:predict."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Search model families, hyperparameters and feature options; write report.html and
    save the chosen model to OUT/model."""
    from furima.automl import AutoML
    from furima.cli._models import DEFAULT_REGISTRY, log_fit

    with reported_errors():
        table = read_table(data)
        require_column(table, target, "--target", data)
        unknown = [c for c in drop or [] if c not in table.columns]
        if unknown:
            raise DataError(f"--drop names unknown column(s): {', '.join(unknown)}.")
        tracking = None
        if registry:
            from furima.registry import ModelRegistry

            tracking = ModelRegistry(registry)
        automl = AutoML(
            task,  # type: ignore[arg-type]
            metric,
            budget_s=parse_budget(budget),
            max_trials=max_trials,
            sampler=sampler,
            pruner=pruner,
            objectives=("score", "latency") if latency else ("score",),
            storage=storage,
            study_name=study_name,
            workdir=out / "work",
            n_jobs=n_jobs,
            tracking=tracking,
            time_column=time_column,
            group_column=group_column,
            seed=seed,
            progress=True,
        )
        features = table.drop(columns=[target, *(drop or [])])
        result = automl.fit(features, table[target].to_numpy())
        out.mkdir(parents=True, exist_ok=True)
        report = result.report(out / "report.html")
        result.leaderboard.to_csv(out / "leaderboard.csv", index=False)
        saved = result.save(out / "model")
        registered = None
        if register is not None:
            registered = log_fit(saved, registry or DEFAULT_REGISTRY, task=register)
    summary = {
        key: result.chosen[key]
        for key in ("task", "metric", "ensemble_score", "best_single_score", "trials", "pruned")
    }
    summary["members"] = result.chosen["members"]
    summary["report"] = str(report)
    summary["model"] = str(saved)
    if registered is not None:
        summary["registered"] = registered
    Console().print_json(json.dumps(summary))
