"""Does pruning pay? The same AutoML search with Hyperband pruning and without, same budget.

On the credit-card fraud data (time-ordered 80/20 split, AUPRC), LightGBM and the MLP report
learning curves; the run without pruning sets the bar (its best validation score and when it
got there), and the pruned run is timed to the same score. Prints one JSON line::

    python benchmarks/automl_pruning.py --data ../shared/data --budget 120
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd

from furima.automl import AutoML


def fraud(data: Path) -> tuple[pd.DataFrame, Any, str]:
    path = data / "fraud" / "creditcard_ulb.parquet"
    table = pd.read_parquet(path).sort_values("Time", kind="stable").reset_index(drop=True)
    train = table.iloc[: int(0.8 * len(table))]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return train.drop(columns=["Class"]), train["Class"].to_numpy(), digest


def curve(study: Any, maximize: bool) -> list[tuple[float, float]]:
    """(seconds since the study's first trial started, best score so far) per finished trial."""
    trials = [t for t in study.trials if t.datetime_complete is not None]
    if not trials:
        return []
    start = min(t.datetime_start for t in trials)
    points, best = [], None
    for trial in sorted(trials, key=lambda t: t.datetime_complete):
        if trial.state.name == "COMPLETE":
            value = float(trial.values[0])
            best = value if best is None or (value > best) == maximize else best
        if best is not None:
            points.append(((trial.datetime_complete - start).total_seconds(), best))
    return points


def reached(points: list[tuple[float, float]], target: float, maximize: bool) -> float | None:
    for seconds, best in points:
        if (best >= target) if maximize else (best <= target):
            return seconds
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.data / "fraud" / "creditcard_ulb.parquet").is_file():
        sys.exit(f"{args.data}/fraud/creditcard_ulb.parquet not found; pass --data DIR")
    X, y, digest = fraud(args.data)
    runs: dict[str, Any] = {}
    for pruner in ("none", "hyperband"):
        started = time.perf_counter()
        result = AutoML(
            "binary",
            "auprc",
            budget_s=args.budget,
            pruner=pruner,
            families=["lightgbm", "mlp"],
            time_column="Time",
            seed=args.seed,
        ).fit(X, y)
        states = [t.state.name for t in result.study.trials]
        runs[pruner] = {
            "curve": curve(result.study, maximize=True),
            "trials": len(states),
            "pruned": states.count("PRUNED"),
            "seconds": round(time.perf_counter() - started, 1),
        }
    bar = runs["none"]["curve"][-1][1]
    without = reached(runs["none"]["curve"], bar, True)
    with_pruning = reached(runs["hyperband"]["curve"], bar, True)
    print(
        json.dumps(
            {
                "benchmark": "automl_pruning",
                "task": "fraud",
                "metric": "auprc_validation",
                "best_without_pruning": round(bar, 5),
                "best_with_pruning": round(runs["hyperband"]["curve"][-1][1], 5),
                "seconds_to_bar_without": None if without is None else round(without, 1),
                "seconds_to_bar_with": None if with_pruning is None else round(with_pruning, 1),
                "speedup": round(without / with_pruning, 2) if without and with_pruning else None,
                "trials_without": runs["none"]["trials"],
                "trials_with": runs["hyperband"]["trials"],
                "pruned": runs["hyperband"]["pruned"],
                "budget_s": args.budget,
                "rows": len(X),
                "data_sha256": digest,
                "seed": args.seed,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
