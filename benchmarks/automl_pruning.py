"""Does pruning pay? The same AutoML search with pruning and without, over the same trials.

Both runs of a pair use the random sampler with the same seed, no warm-start defaults and the
same number of trials, so they try the same configurations in the same order: the run without
pruning trains each to the end; the pruned run stops those whose learning curves (LightGBM
rounds, extra-trees chunks, MLP epochs) fall behind. The bar is the unpruned run's best
validation score; each run is timed (from its first trial's start) to the moment it reaches
that score, and ``speedup`` is their ratio (``search_speedup``: the same for the whole search of
``--trials`` trials). OpenMP keeps its default wait policy, as in ``furima automl run``: with
``OMP_WAIT_POLICY=PASSIVE`` the trials here ran slower (LightGBM's several times), which
distorts what pruning saves. One JSON line, with the medians over seeds (results:
``docs/benchmarks.md``)::

    python benchmarks/automl_pruning.py --data ../shared/data --task photo_article_type \
        --trials 16 --seeds 0,1 --pruners hyperband,asha
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
from _automl_tasks import BenchTask, add_search_arguments, task_and_seeds

from furima.automl import AutoML

FAMILIES = ["lightgbm", "extra_trees", "mlp"]


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


def search(task: BenchTask, pruner: str, args: argparse.Namespace, seed: int) -> Any:
    started = time.perf_counter()
    result = AutoML(
        task.kind,
        task.metric,
        budget_s=args.budget,
        max_trials=args.trials,
        pruner=pruner,
        sampler=args.sampler,
        families=FAMILIES,
        warm_start=False,
        seed=seed,
    ).fit(task.X_train, task.y_train)
    states = [t.state.name for t in result.study.trials]
    print(
        f"{task.name} seed {seed} pruner {pruner}: {len(states)} trials, "
        f"{states.count('PRUNED')} pruned, {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return {
        "curve": curve(result.study, maximize=task.metric != "rmsle"),
        "trials": len(states),
        "pruned": states.count("PRUNED"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def compared(baseline: dict[str, Any], pruned: dict[str, Any], maximize: bool) -> dict[str, Any]:
    """Seconds each run took to reach the unpruned run's final best; their ratio."""
    bar = baseline["curve"][-1][1]
    without = reached(baseline["curve"], bar, maximize)
    with_pruning = reached(pruned["curve"], bar, maximize)
    return {
        "best_without": round(bar, 5),
        "best_with": round(pruned["curve"][-1][1], 5),
        "seconds_to_bar_without": without and round(without, 1),
        "seconds_to_bar_with": with_pruning and round(with_pruning, 1),
        "speedup": round(without / with_pruning, 2) if without and with_pruning else None,
        "search_seconds_without": round(baseline["curve"][-1][0], 1),
        "search_seconds_with": round(pruned["curve"][-1][0], 1),
        "search_speedup": round(baseline["curve"][-1][0] / pruned["curve"][-1][0], 2),
        "trials_without": baseline["trials"],
        "trials_with": pruned["trials"],
        "pruned": pruned["pruned"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_search_arguments(parser, trials=16, seeds="0,1")  # one pair of runs per seed
    parser.add_argument("--pruners", default="hyperband", help="comma-separated")
    parser.add_argument(
        "--sampler", default="random", help="random: both runs try the same configurations"
    )
    args = parser.parse_args(argv)
    task, seeds = task_and_seeds(args)
    maximize = task.metric != "rmsle"
    pruners = args.pruners.split(",")
    results: dict[str, list[dict[str, Any]]] = {p: [] for p in pruners}
    for seed in seeds:
        baseline = search(task, "none", args, seed)
        for pruner in pruners:
            pruned = search(task, pruner, args, seed)
            results[pruner].append({"seed": seed, **compared(baseline, pruned, maximize)})
    speedups = {
        p: [r["speedup"] for r in runs if r["speedup"] is not None] for p, runs in results.items()
    }
    search_speedups = {p: [r["search_speedup"] for r in runs] for p, runs in results.items()}
    print(
        json.dumps(
            {
                "benchmark": "automl_pruning",
                "task": task.name,
                "metric": f"{task.metric}_validation",
                "median_speedup": {
                    p: float(np.median(v)) if len(v) == len(seeds) else None
                    for p, v in speedups.items()
                },
                "median_search_speedup": {
                    p: float(np.median(v)) for p, v in search_speedups.items()
                },
                "runs": results,
                "sampler": args.sampler,
                "families": FAMILIES,
                "trials": args.trials,
                "budget_s": args.budget,
                "rows": len(task.X_train),
                "data_sha256": task.data_sha256,
                "seeds": seeds,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
