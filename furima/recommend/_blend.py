"""Blending generators into one list, with weights learned on the validation split.

Generators score on different scales (counts, cosines, logits), so each row of scores is
standardised over the catalog before the weighted sum. The weights are found by coordinate
ascent on validation NDCG@10, starting from the best single generator: a generator only gets
weight if adding it lifts the validation metric, so the blend is never worse than its best part
on the data it was chosen on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from furima.catalog._splits import NextItemTargets
from furima.recommend._evaluation import target_ranks

__all__ = ["Blend", "learn_blend", "standardised"]

_STEPS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5)
_CUTOFF = 10


class Blend:
    """Weights per generator name; a weight of 0 means the generator is not used."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = {name: float(w) for name, w in weights.items()}

    @property
    def used(self) -> list[str]:
        return [name for name, weight in self.weights.items() if weight > 0]

    def weighted(self, scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each used generator's standardised scores times its weight (what it adds)."""
        return {
            name: self.weights[name] * standardised(scores[name])
            for name in self.used
            if name in scores
        }

    def combine(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """The weighted sum of the standardised scores of the used generators."""
        parts = self.weighted(scores)
        if not parts:
            raise ValueError("a blend needs at least one generator with weight > 0")
        total: np.ndarray = sum(parts.values())  # type: ignore[assignment]
        return total


def standardised(scores: np.ndarray) -> np.ndarray:
    """Each row shifted and scaled to mean 0 and standard deviation 1 (constant rows: 0)."""
    scores = scores.astype(np.float32, copy=False)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    result: np.ndarray = (scores - mean) / np.where(std > 0, std, 1.0)
    return result


def learn_blend(
    score_fns: Mapping[str, Callable[[Sequence[np.ndarray]], np.ndarray]],
    valid: NextItemTargets,
    *,
    max_queries: int = 3000,
    seed: int = 0,
) -> tuple[Blend, dict[str, float]]:
    """Blend weights by coordinate ascent on validation NDCG@10.

    Returns the blend and the validation NDCG@10 of each generator alone and of the blend
    (key ``"blend"``).
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(len(valid))
    if len(rows) > max_queries:
        rows = np.sort(rng.choice(rows, size=max_queries, replace=False))
    histories = [valid.histories[i] for i in rows]
    targets = valid.targets[rows]
    parts = {name: standardised(fn(histories)) for name, fn in score_fns.items()}

    def ndcg(total: np.ndarray) -> float:
        ranks = target_ranks(total, histories, targets)
        return float(np.where(ranks < _CUTOFF, 1.0 / np.log2(ranks + 2.0), 0.0).mean())

    alone = {name: ndcg(part) for name, part in parts.items()}
    best_name = max(alone, key=lambda name: alone[name])
    weights = dict.fromkeys(parts, 0.0) | {best_name: 1.0}
    best = alone[best_name]
    for _ in range(2):
        improved = False
        for name in parts:
            for step in _STEPS:
                trial = weights | {name: step}
                value = ndcg(sum(w * parts[n] for n, w in trial.items() if w > 0))  # type: ignore[arg-type]
                if value > best + 1e-6:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    return Blend(weights), alone | {"blend": best}
