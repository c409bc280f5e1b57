"""The model families behind :class:`~furima.risk.FraudScorer`: LightGBM with reasons, or a
search of the AutoML engine's families.

``"lightgbm"`` trains one booster on the training side, early-stopped on the validation side,
and explains each score by TreeSHAP (``pred_contrib``). ``"automl"`` hands the training side
to :class:`~furima.automl.AutoML` (metric AUPRC), which holds out the latest of those rows by
time for its own search and refits the chosen model on all of them: the scorer's validation
side (the future, after the cutoff) stays unseen, so its metrics, the cost threshold and the
drift reference measure the final model honestly. AutoML models give no per-feature reasons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MODELS",
    "FraudValidation",
    "automl_engine",
    "fit_automl",
    "lightgbm_params",
    "lightgbm_probabilities",
    "lightgbm_reasons",
    "positive_weight",
    "train_lightgbm",
    "validation_metrics",
]

MODELS = ("lightgbm", "automl")
TOP_K = 100
"""Validation ``precision_at_k`` looks at this many highest-scored rows."""
REASONS_PER_ROW = 3
SMALL_BATCH = 256
"""Fewer rows than this are predicted on one thread."""
_TIME_NS = "_fraud_time_ns"  # the time column AutoML holds out by (never a feature)


@dataclass(frozen=True)
class FraudValidation:
    """Metrics on the time-ordered validation part (LightGBM also early-stops on it, so its
    metrics lean slightly optimistic; ``best_iteration`` is 0 for ``model="automl"``)."""

    auprc: float
    auc: float
    precision_at_k: float
    k: int
    rows: int
    frauds: int
    best_iteration: int


# --------------------------------------------------------------------------------- lightgbm
def lightgbm_params(learning_rate: float, weight: float, seed: int) -> dict[str, Any]:
    return {
        "objective": "binary",
        "learning_rate": learning_rate,
        "num_leaves": 31,
        "max_depth": 6,  # shallow trees keep TreeSHAP reasons fast (cost ~ depth squared)
        "min_child_samples": 50,
        "scale_pos_weight": weight,
        "metric": "average_precision",
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def train_lightgbm(
    params: dict[str, Any],
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
    max_rounds: int,
) -> Any:
    """LightGBM with each leaf's step capped: rare frauds give tiny hessians and huge leaf
    values, and uncapped boosting can stop after its first tree (seen on the ULB cards).
    When the cap leaves the model without a single split (one weak feature under a large
    class weight), it is trained again without the cap."""
    import lightgbm

    train_set = lightgbm.Dataset(train[0], label=train[1], free_raw_data=False)
    valid_set = lightgbm.Dataset(valid[0], label=valid[1], reference=train_set)
    booster = None
    for step_cap in (5.0, 0.0):  # 0: no cap
        booster = lightgbm.train(
            {**params, "max_delta_step": step_cap},
            train_set,
            num_boost_round=max_rounds,
            valid_sets=[valid_set],
            callbacks=[lightgbm.early_stopping(30, verbose=False)],
        )
        if _splits(booster):
            break
    return booster


def lightgbm_probabilities(booster: Any, matrix: np.ndarray, weight: float) -> np.ndarray:
    """Scores with the positive weight undone: training with positives weighted by ``w``
    multiplies the odds by ``w``, so ``p / (p + w (1 - p))`` restores them."""
    raw = booster.predict(
        matrix, num_iteration=booster.best_iteration, num_threads=_threads(matrix)
    )
    return np.asarray(raw / (raw + weight * (1.0 - raw)), dtype=np.float64)


def lightgbm_reasons(booster: Any, matrix: np.ndarray, names: Sequence[str]) -> list[list[str]]:
    """Each row's three largest TreeSHAP contributions as ``"name = value (+log-odds)"``."""
    contributions = booster.predict(
        matrix,
        num_iteration=booster.best_iteration,
        pred_contrib=True,
        num_threads=_threads(matrix),
    )[:, :-1]  # the last column is the bias
    top = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :REASONS_PER_ROW]
    return [
        [_reason(names[j], matrix[i, j], contributions[i, j]) for j in row]
        for i, row in enumerate(top)
    ]


def _threads(matrix: np.ndarray) -> int:
    """One thread for a few rows (a served payment: waking a thread pool costs more than the
    trees, and much more on a busy machine), all cores (0) for batches."""
    return 1 if len(matrix) < SMALL_BATCH else 0


def positive_weight(labels: np.ndarray) -> float:
    """``sqrt(negatives / positives)``: lifts the rare class without drowning the rest."""
    positives = float(np.count_nonzero(labels == 1))
    return math.sqrt((len(labels) - positives) / positives)


def _reason(name: str, value: float, contribution: float) -> str:
    shown = "missing" if math.isnan(value) else f"{value:.2f}"
    return f"{name} = {shown} ({contribution:+.2f})"


def _splits(booster: Any) -> bool:
    """Whether any tree up to the best iteration splits at all."""
    best = booster.best_iteration or booster.num_trees()
    trees = booster.dump_model(num_iteration=best)["tree_info"]
    return any(tree["num_leaves"] > 1 for tree in trees)


# ----------------------------------------------------------------------------------- automl
def automl_engine(
    families: Sequence[str] | None, budget_s: float, max_trials: int | None, seed: int
) -> Any:
    """The AutoML search a fraud scorer runs, its settings checked before any compute."""
    from furima.automl import AutoML

    try:
        return AutoML(
            task="binary",
            metric="auprc",
            budget_s=budget_s,
            max_trials=max_trials,
            families=None if families is None else list(families),
            time_column=_TIME_NS,
            seed=seed,
        )
    except ValueError as error:
        raise DataError(f"bad AutoML settings for model='automl': {error}") from error


def fit_automl(engine: Any, matrix: pd.DataFrame, labels: np.ndarray, moments: np.ndarray) -> Any:
    """Search on the training side (its latest rows held out by time), refit, return the
    :class:`~furima.automl.AutoMLResult`."""
    table = matrix.reset_index(drop=True).assign(**{_TIME_NS: moments})
    return engine.fit(table, labels.astype(np.int64))


# ------------------------------------------------------------------------------- validation
def validation_metrics(labels: np.ndarray, scores: np.ndarray, best: int) -> FraudValidation:
    from sklearn.metrics import average_precision_score, roc_auc_score

    k = min(TOP_K, len(scores))
    top = np.argsort(-scores, kind="stable")[:k]
    return FraudValidation(
        auprc=float(average_precision_score(labels, scores)),
        auc=float(roc_auc_score(labels, scores)),
        precision_at_k=float(labels[top].mean()),
        k=k,
        rows=len(labels),
        frauds=int(labels.sum()),
        best_iteration=int(best),
    )
