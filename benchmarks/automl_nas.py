"""Do reinforcement-learning or differentiable architecture search beat TPE and random search?

furima adds RL-based or differentiable architecture search only if it beats the samplers it
has on our tasks, measured here.
Every run searches the same space (the MLP family: embedding width, depth, width, activation,
dropout, learning rate, weight decay, batch size) for the same number of trials, with no
pruning and no warm-start defaults, and one sampler:

- ``random``: Optuna's random sampler;
- ``tpe``: furima's default (multivariate TPE);
- ``reinforce``: a REINFORCE controller in the manner of Zoph & Le (2017), with an independent
  softmax policy per decision instead of an RNN. Each decision draws from a grid (continuous
  ranges cut into ``--grid`` points); after each trial the logits of the choices it made move
  along the policy gradient, scaled by the advantage: the trial's validation score against a
  moving average of earlier scores, in units of their moving spread;
- ``darts``: differentiable search (DARTS, Liu et al. 2019, first order) on numeric
  classification tasks. One supernet holds every choice at once: embedding and hidden widths
  as softly mixed masks, the activation as a soft mix of ReLU / GELU / SiLU, the depth as a
  soft mix of the outputs after 1, 2 and 3 layers. Network weights learn on training rows and
  the mixing weights on validation rows, in turns; the strongest choice of each is then
  trained as one ordinary trial (dropout 0.2, learning rate 1e-3, weight decay 1e-4, batch
  512);
- ``defaults``: the control for ``darts``: one trial of the same fixed settings with a plain
  architecture (embedding and width 128, ReLU, one hidden layer).

One JSON line: per sampler, the median over seeds of the best validation score after all
trials and of the test score of AutoML's final (ensembled, refit) model, and per seed the
trial at which the sampler first matched the first sampler's (random search's) final best::

    python benchmarks/automl_nas.py --data ../shared/data --task photo_article_type \
        --trials 30 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import optuna
import pandas as pd
import torch
from _automl_tasks import BenchTask, add_search_arguments, task_and_seeds
from automl import HIGHER_IS_BETTER, furima_predictions, score
from torch import nn
from torch.nn import functional as F

from furima.automl import AutoML

SAMPLERS = ("random", "tpe", "reinforce", "darts", "defaults")
# The MLP family's choices the DARTS supernet mixes, and the settings it keeps fixed.
EMBEDDINGS = (32, 64, 128, 256)
WIDTHS = (16, 32, 64, 128, 256)
ACTIVATIONS = ("relu", "gelu", "silu")
DEPTHS = (1, 2, 3)
_ACTIVATION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "silu": F.silu,
}
# The control for darts: the same fixed settings with a plain architecture, one trial.
DEFAULTS = {"mlp_embedding": 128, "mlp_width": 128, "mlp_activation": "relu", "mlp_layers": 1}
FIXED = {"mlp_dropout": 0.2, "mlp_lr": 1e-3, "mlp_weight_decay": 1e-4, "mlp_batch": 512}


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


def darts_architecture(task: BenchTask, seed: int, epochs: int) -> dict[str, Any]:
    """First-order DARTS over the MLP family's architecture; the strongest choice of each."""
    from sklearn.model_selection import train_test_split

    if task.kind not in ("binary", "multiclass") or task.text or task.categorical:
        raise SystemExit(f"darts: only numeric classification tasks, not {task.name}")
    torch.manual_seed(seed)
    X = task.X_train.to_numpy(np.float32)
    labels = pd.factorize(task.y_train, sort=True)[0]
    train, valid = train_test_split(
        np.arange(len(X)), test_size=0.2, random_state=seed, stratify=labels
    )
    mean, scale = X[train].mean(axis=0), X[train].std(axis=0) + 1e-6
    inputs = torch.from_numpy((X - mean) / scale)
    target = torch.from_numpy(labels.astype(np.int64))
    network = Supernet(X.shape[1], int(labels.max()) + 1)
    weights = torch.optim.AdamW(
        network.weights(), lr=FIXED["mlp_lr"], weight_decay=FIXED["mlp_weight_decay"]
    )
    mixing = torch.optim.Adam(network.mixing.parameters(), lr=3e-3, weight_decay=1e-3)
    rng = np.random.default_rng(seed)
    batch = int(FIXED["mlp_batch"])
    for _ in range(epochs):
        network.train()
        for rows in np.array_split(rng.permutation(train), max(1, len(train) // batch)):
            for optimiser, part in ((weights, rows), (mixing, rng.choice(valid, len(rows)))):
                loss = F.cross_entropy(network(inputs[part]), target[part])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return network.strongest()


class Supernet(nn.Module):  # type: ignore[misc]
    """Every architecture of the MLP family at once, mixed by learnable weights."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        widest = max(*EMBEDDINGS, *WIDTHS)
        self.embed = nn.Linear(inputs, widest)
        self.layers = nn.ModuleList(nn.Linear(widest, widest) for _ in DEPTHS)
        self.head = nn.Linear(widest, outputs)
        choices = {
            "embedding": EMBEDDINGS,
            "width": WIDTHS,
            "activation": ACTIVATIONS,
            "layers": DEPTHS,
        }
        self.mixing = nn.ParameterDict(
            {name: nn.Parameter(torch.zeros(len(c))) for name, c in choices.items()}
        )
        units = torch.arange(widest)
        self.register_buffer("embed_masks", torch.stack([units < w for w in EMBEDDINGS]).float())
        self.register_buffer("width_masks", torch.stack([units < w for w in WIDTHS]).float())

    def weights(self) -> list[torch.Tensor]:
        mixing = {id(p) for p in self.mixing.parameters()}
        return [p for p in self.parameters() if id(p) not in mixing]

    def share(self, name: str) -> torch.Tensor:
        return F.softmax(self.mixing[name], dim=0)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        mixed = [
            w * _ACTIVATION_FUNCTIONS[a](x)
            for w, a in zip(self.share("activation"), ACTIVATIONS, strict=True)
        ]
        return torch.stack(mixed).sum(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dropout = float(FIXED["mlp_dropout"])
        hidden = self.activation(self.embed(x)) * (self.share("embedding") @ self.embed_masks)
        width = self.share("width") @ self.width_masks
        after = []
        for layer in self.layers:
            hidden = self.activation(layer(F.dropout(hidden, dropout, self.training))) * width
            after.append(hidden)
        depth = self.share("layers")
        mixed = torch.stack([w * h for w, h in zip(depth, after, strict=True)]).sum(dim=0)
        return self.head(F.dropout(mixed, dropout, self.training))

    def strongest(self) -> dict[str, Any]:
        def best(name: str, choices: tuple[Any, ...]) -> Any:
            return choices[int(self.mixing[name].argmax())]

        return {
            "mlp_embedding": best("embedding", EMBEDDINGS),
            "mlp_width": best("width", WIDTHS),
            "mlp_activation": best("activation", ACTIVATIONS),
            "mlp_layers": best("layers", DEPTHS),
        }


def sampler_named(name: str, seed: int, grid: int) -> Any:
    if name == "reinforce":
        return ReinforceSampler(seed, grid=grid)
    return name  # furima builds the others


def search(task: BenchTask, sampler: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    trials, chosen = args.trials, None
    if sampler in ("darts", "defaults"):
        chosen = (
            DEFAULTS if sampler == "defaults" else darts_architecture(task, seed, args.darts_epochs)
        )
        fixed = {"family": "mlp", **chosen, **FIXED}
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler_or_name: Any = optuna.samplers.PartialFixedSampler(
            fixed, optuna.samplers.RandomSampler(seed=seed)
        )
        trials = 1
    else:
        sampler_or_name = sampler_named(sampler, seed, args.grid)
    result = AutoML(
        task.kind,
        task.metric,
        budget_s=args.budget,
        max_trials=trials,
        families=["mlp"],
        sampler=sampler_or_name,
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
    run = {"best_so_far": best_so_far.tolist(), "test": test, "seconds": seconds}
    return run if chosen is None else {**run, "architecture": chosen}


def first_reaching(best_so_far: list[float], bar: float, maximize: bool) -> int | None:
    """1-based trial at which the best score so far reached ``bar`` (None: never)."""
    for trial, best in enumerate(best_so_far, start=1):
        if (best >= bar) if maximize else (best <= bar):
            return trial
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_search_arguments(parser, trials=30, seeds="0,1,2")
    parser.add_argument("--grid", type=int, default=8, help="reinforce: points per range")
    parser.add_argument("--darts-epochs", type=int, default=20, help="darts: supernet epochs")
    parser.add_argument(
        "--samplers", default=",".join(SAMPLERS), help=f"comma-separated, of {SAMPLERS}"
    )
    args = parser.parse_args(argv)
    task, seeds = task_and_seeds(args)
    maximize = HIGHER_IS_BETTER[task.metric]
    names = args.samplers.split(",")
    runs = {name: [search(task, name, args, seed) for seed in seeds] for name in names}
    bars = [run["best_so_far"][-1] for run in runs[names[0]]]
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
                "trial_reaching_first_samplers_best": {
                    name: [
                        first_reaching(r["best_so_far"], bar, maximize)
                        for r, bar in zip(rs, bars, strict=True)
                    ]
                    for name, rs in runs.items()
                },
                "darts_architectures": [r["architecture"] for r in runs.get("darts", [])],
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
