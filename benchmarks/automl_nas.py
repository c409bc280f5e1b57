"""Does reinforcement-learning architecture search beat TPE and random search on our tasks?

furima adds RL-based architecture search only if it beats the samplers it has, measured here.
Every run searches the same space (the MLP family: embedding width, depth, width, activation,
dropout, learning rate, weight decay, batch size) for the same number of trials, with no
pruning and no warm-start defaults, and one sampler:

- ``random``: Optuna's random sampler;
- ``tpe``: furima's default (multivariate TPE);
- ``reinforce``: a REINFORCE controller in the manner of Zoph & Le (2017), with an independent
  softmax policy per decision instead of an RNN. Each decision draws from a grid (continuous
  ranges cut into ``--grid`` points); after each trial the logits of the choices it made move
  along the policy gradient, scaled by the advantage: the trial's validation score against a
  moving average of earlier scores, in units of their moving spread.

One JSON line: per sampler, the median over seeds of the best validation score after all
trials and of the test score of AutoML's final (ensembled, refit) model, and per seed the
trial at which the sampler first matched random search's final best::

    python benchmarks/automl_nas.py --data ../shared/data --task photo_article_type \
        --trials 30 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import optuna
from _automl_tasks import TASKS, BenchTask, TaskSkipped
from automl import HIGHER_IS_BETTER, furima_predictions, score

from furima.automl import AutoML

SAMPLERS = ("random", "tpe", "reinforce")


class ReinforceSampler(optuna.samplers.BaseSampler):  # type: ignore[misc]
    """Policy-gradient search: a softmax policy over a grid of values for each parameter.

    Args:
        seed: Seeds the draws.
        learning_rate: Step of the logits per trial, per unit of advantage.
        decay: Weight of the past in the moving average (and spread) of scores.
        grid: Points a continuous range (or a long integer range) is cut into.
    """

    def __init__(
        self, seed: int, learning_rate: float = 0.5, decay: float = 0.8, grid: int = 8
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.learning_rate = learning_rate
        self.decay = decay
        self.grid = grid
        self.values: dict[str, list[Any]] = {}
        self.logits: dict[str, np.ndarray] = {}
        self.choices: dict[int, dict[str, int]] = {}
        self.baseline: float | None = None
        self.spread = 0.0

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
        values = self.values.setdefault(name, grid_of(distribution, self.grid))
        logits = self.logits.setdefault(name, np.zeros(len(values)))
        chosen = int(self.rng.choice(len(values), p=softmax(logits)))
        self.choices.setdefault(trial.number, {})[name] = chosen
        return values[chosen]

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        choices = self.choices.pop(trial.number, {})
        if state != optuna.trial.TrialState.COMPLETE or not values:
            return
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        reward = float(values[0]) if maximize else -float(values[0])
        if self.baseline is None:
            self.baseline = reward
            return
        gap = reward - self.baseline
        advantage = float(np.clip(gap / self.spread, -3, 3)) if self.spread > 0 else np.sign(gap)
        for name, index in choices.items():
            gradient = -softmax(self.logits[name])
            gradient[index] += 1.0
            self.logits[name] += self.learning_rate * advantage * gradient
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward
        self.spread = self.decay * self.spread + (1 - self.decay) * abs(gap)


def grid_of(distribution: Any, points: int) -> list[Any]:
    """The values a policy chooses among: every category, or points spread over a range."""
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return list(distribution.choices)
    low, high = distribution.low, distribution.high
    spread = np.geomspace if distribution.log else np.linspace
    if isinstance(distribution, optuna.distributions.IntDistribution):
        every = list(range(low, high + 1, distribution.step))
        if len(every) <= points:
            return every
        step = distribution.step
        spaced = spread(low, high, points)
        return sorted({low + step * round((float(v) - low) / step) for v in spaced})
    return [float(v) for v in spread(low, high, points)]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted: np.ndarray = np.exp(logits - logits.max())
    return np.asarray(shifted / shifted.sum())


def sampler_named(name: str, seed: int, grid: int) -> Any:
    if name == "reinforce":
        return ReinforceSampler(seed, grid=grid)
    return name  # furima builds the others


def search(task: BenchTask, sampler: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = AutoML(
        task.kind,
        task.metric,
        budget_s=args.budget,
        max_trials=args.trials,
        families=["mlp"],
        sampler=sampler_named(sampler, seed, args.grid),
        pruner="none",
        warm_start=False,
        seed=seed,
    ).fit(task.X_train, task.y_train)
    maximize = HIGHER_IS_BETTER[task.metric]
    scores = [t.value for t in result.study.trials if t.state.name == "COMPLETE"]
    best_so_far = (np.maximum if maximize else np.minimum).accumulate(scores)
    test = score(task.metric, task.y_test, furima_predictions(task, result))
    seconds = time.perf_counter() - started
    print(
        f"{task.name} seed {seed} {sampler}: {len(scores)} trials, best validation "
        f"{best_so_far[-1]:.4f}, test {test:.4f}, {seconds:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return {"best_so_far": best_so_far.tolist(), "test": test, "seconds": seconds}


def first_reaching(best_so_far: list[float], bar: float, maximize: bool) -> int | None:
    """1-based trial at which the best score so far reached ``bar`` (None: never)."""
    for trial, best in enumerate(best_so_far, start=1):
        if (best >= bar) if maximize else (best <= bar):
            return trial
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--task", choices=sorted(TASKS), default="photo_article_type")
    parser.add_argument("--trials", type=int, default=30, help="trials per run")
    parser.add_argument("--budget", type=float, default=1800.0, help="a cap per run (seconds)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated; one run per sampler")
    parser.add_argument("--grid", type=int, default=8, help="reinforce: points per range")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/furima/benchmarks")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    try:
        task = TASKS[args.task](args.data, seeds[0], args.cache)
    except TaskSkipped as skipped:
        sys.exit(str(skipped))
    maximize = HIGHER_IS_BETTER[task.metric]
    runs = {name: [search(task, name, args, seed) for seed in seeds] for name in SAMPLERS}
    bars = [run["best_so_far"][-1] for run in runs["random"]]
    print(
        json.dumps(
            {
                "benchmark": "automl_nas",
                "task": task.name,
                "metric": task.metric,
                "median_best_validation": {
                    name: round(float(np.median([r["best_so_far"][-1] for r in rs])), 4)
                    for name, rs in runs.items()
                },
                "median_test": {
                    name: round(float(np.median([r["test"] for r in rs])), 4)
                    for name, rs in runs.items()
                },
                "trial_reaching_random_best": {
                    name: [
                        first_reaching(r["best_so_far"], bar, maximize)
                        for r, bar in zip(rs, bars, strict=True)
                    ]
                    for name, rs in runs.items()
                },
                "median_seconds": {
                    name: round(float(np.median([r["seconds"] for r in rs])), 1)
                    for name, rs in runs.items()
                },
                "family": "mlp",
                "trials": args.trials,
                "rows": len(task.X_train),
                "data_sha256": task.data_sha256,
                "seeds": seeds,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
