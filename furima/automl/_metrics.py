"""Task kinds and the metrics AutoML optimises, with their directions."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["DEFAULT_METRIC", "METRICS", "Metric", "TaskKind", "metric_for"]

TaskKind = Literal["regression", "binary", "multiclass", "ranking"]
Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Metric:
    """A validation metric on encoded targets and model outputs.

    Models output values (regression, in the transformed target space), P(positive) (binary),
    class probabilities ``(n, k)`` (multiclass) or scores (ranking); ``score(y, output)`` takes
    those. A ranking metric scores within query groups: :meth:`for_groups` binds the groups of
    the rows it will be given.
    """

    name: str
    direction: Direction
    kinds: tuple[TaskKind, ...]
    score: Callable[[np.ndarray, np.ndarray], float]
    log_target: bool = False
    cutoff: int | None = None
    """Ranking: how many top results count (NDCG@cutoff)."""

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is better than ``b``."""
        return a < b if self.direction == "minimize" else a > b

    def for_groups(self, groups: np.ndarray) -> Metric:
        """This ranking metric on rows whose query groups are ``groups``."""
        if self.cutoff is None:
            return self
        bound = functools.partial(_ndcg, groups=np.asarray(groups), cutoff=self.cutoff)
        return dataclasses.replace(self, score=bound)


def _rmse(y: np.ndarray, out: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - out) ** 2)))


def _mae(y: np.ndarray, out: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y, float) - out)))


def _r2(y: np.ndarray, out: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y, out))


def _auprc(y: np.ndarray, out: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, out))


def _auc(y: np.ndarray, out: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, out))


def _binary_logloss(y: np.ndarray, out: np.ndarray) -> float:
    p = np.clip(out, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _binary_f1(y: np.ndarray, out: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, out >= 0.5))


def _binary_accuracy(y: np.ndarray, out: np.ndarray) -> float:
    return float(np.mean((out >= 0.5) == (y == 1)))


def _accuracy(y: np.ndarray, out: np.ndarray) -> float:
    return float(np.mean(out.argmax(axis=1) == y))


def _multi_logloss(y: np.ndarray, out: np.ndarray) -> float:
    p = np.clip(out[np.arange(len(y)), y.astype(int)], 1e-7, 1.0)
    return float(-np.mean(np.log(p)))


def _macro_f1(y: np.ndarray, out: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, out.argmax(axis=1), average="macro"))


def _ungrouped(y: np.ndarray, out: np.ndarray) -> float:
    raise ValueError("A ranking metric scores within query groups; bind them with for_groups().")


def _ndcg(y: np.ndarray, out: np.ndarray, *, groups: np.ndarray, cutoff: int) -> float:
    """Mean NDCG@cutoff over the groups that have at least one relevant row (gain 2^rel - 1);
    tied scores rank their relevant rows last, so constant scores earn nothing by row order."""
    if len(groups) != len(y):
        raise ValueError(f"{len(y)} rows to score but {len(groups)} group ids.")
    gains = np.exp2(np.asarray(y, np.float64)) - 1.0
    _, group = np.unique(groups, return_inverse=True)
    discount = np.zeros(len(y))

    def dcg(order: np.ndarray) -> np.ndarray:
        starts = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]
        position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        discount[:] = np.where(position < cutoff, 1.0 / np.log2(position + 2.0), 0.0)
        return np.bincount(group[order], weights=gains[order] * discount, minlength=group.max() + 1)

    ranked = dcg(np.lexsort((gains, -np.asarray(out, np.float64), group)))  # ties: worst case
    ideal = dcg(np.lexsort((-gains, group)))
    useful = ideal > 0
    return float(np.mean(ranked[useful] / ideal[useful])) if useful.any() else 0.0


def _ranking_metric(name: str) -> Metric | None:
    found = re.fullmatch(r"ndcg(?:@(\d+))?", name)
    if not found:
        return None
    cutoff = int(found.group(1) or 10)
    return Metric(f"ndcg@{cutoff}", "maximize", ("ranking",), _ungrouped, cutoff=cutoff)


_ALL = [
    Metric("rmse", "minimize", ("regression",), _rmse),
    Metric("rmsle", "minimize", ("regression",), _rmse, log_target=True),
    Metric("mae", "minimize", ("regression",), _mae),
    Metric("r2", "maximize", ("regression",), _r2),
    Metric("auprc", "maximize", ("binary",), _auprc),
    Metric("auc", "maximize", ("binary",), _auc),
    Metric("logloss", "minimize", ("binary",), _binary_logloss),
    Metric("f1", "maximize", ("binary",), _binary_f1),
    Metric("accuracy", "maximize", ("binary",), _binary_accuracy),
]
_MULTI = [
    Metric("accuracy", "maximize", ("multiclass",), _accuracy),
    Metric("logloss", "minimize", ("multiclass",), _multi_logloss),
    Metric("macro_f1", "maximize", ("multiclass",), _macro_f1),
]
METRICS: dict[tuple[TaskKind, str], Metric] = {
    (kind, m.name): m for m in (*_ALL, *_MULTI) for kind in m.kinds
}
DEFAULT_METRIC: dict[TaskKind, str] = {
    "regression": "rmse",
    "binary": "auprc",
    "multiclass": "accuracy",
    "ranking": "ndcg@10",
}


def metric_for(task: str, name: str | None) -> Metric:
    """The metric ``name`` for ``task``, or a clear error naming the ones that fit."""
    if task not in DEFAULT_METRIC:
        raise ValueError(
            f"Unknown task {task!r}; AutoML handles {', '.join(DEFAULT_METRIC)} tasks."
        )
    key = (task, name or DEFAULT_METRIC[task])
    if task == "ranking":
        metric = _ranking_metric(key[1])
        if metric is not None:
            return metric
    if key not in METRICS:
        fitting = sorted(m for (k, m) in METRICS if k == task) or ["ndcg@K (e.g. ndcg@10)"]
        raise ValueError(
            f"Metric {name!r} does not fit a {task} task; use one of {', '.join(fitting)}."
        )
    return METRICS[key]
