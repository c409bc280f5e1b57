"""Greedy ensemble selection (Caruana et al., 2004) over the validation predictions of the
best trials: repeatedly add, with replacement, the model whose addition most improves the
averaged prediction's score; the weights are how often each model was added. The candidates
are the best trials and each family's best few, so that models which err differently are
among them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from furima.automl._metrics import Metric

__all__ = ["PER_FAMILY", "candidate_positions", "greedy_ensemble"]

PER_FAMILY = 2
"""Each family's best trials that are candidates even when outside the best overall: a run's
best few are often near-copies from one family (on photo features, ten linear models)."""


def candidate_positions(
    families: Sequence[str], size: int, per_family: int = PER_FAMILY
) -> list[int]:
    """Positions in a best-first list of trials (given by family) to ensemble from: the
    ``size`` best, and each family's ``per_family`` best."""
    seen: dict[str, int] = {}
    positions = []
    for position, family in enumerate(families):
        seen[family] = seen.get(family, 0) + 1
        if position < size or seen[family] <= per_family:
            positions.append(position)
    return positions


def greedy_ensemble(
    predictions: Sequence[np.ndarray], y: np.ndarray, metric: Metric, *, rounds: int = 20
) -> tuple[np.ndarray, float]:
    """Weights (summing to 1) over ``predictions`` and the ensemble's validation score.

    Starts from the single best model, so the ensemble is never worse than it on these rows.
    """
    if not predictions:
        raise ValueError("greedy_ensemble needs at least one model's predictions.")
    scores = [metric.score(y, p) for p in predictions]
    first = int(np.argmin(scores) if metric.direction == "minimize" else np.argmax(scores))
    counts = np.zeros(len(predictions))
    counts[first] = 1
    total = predictions[first].astype(np.float64).copy()
    best = scores[first]
    for _ in range(rounds - 1):
        trial_scores = [metric.score(y, (total + p) / (counts.sum() + 1)) for p in predictions]
        pick = int(
            np.argmin(trial_scores) if metric.direction == "minimize" else np.argmax(trial_scores)
        )
        if not metric.better(trial_scores[pick], best) and trial_scores[pick] != best:
            break
        counts[pick] += 1
        total += predictions[pick]
        best = trial_scores[pick]
    return counts / counts.sum(), float(best)
