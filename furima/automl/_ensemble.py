"""Greedy ensemble selection (Caruana et al., 2004) over the validation predictions of the
best trials: repeatedly add, with replacement, the model whose addition most improves the
averaged prediction's score; the weights are how often each model was added."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from furima.automl._metrics import Metric

__all__ = ["greedy_ensemble"]


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
