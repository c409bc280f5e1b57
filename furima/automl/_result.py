"""What an AutoML run returns: the chosen model (one trial or a weighted ensemble), refit,
with the leaderboard, the study and the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.automl._families import FAMILIES
from furima.automl._features import Featurizer
from furima.automl._metrics import Metric, TaskKind

__all__ = ["AutoMLResult", "Member"]


@dataclass
class Member:
    """One model of the final ensemble."""

    trial: int
    family: str
    weight: float
    params: dict[str, Any]
    featurizer: Featurizer
    model: Any


@dataclass
class AutoMLResult:
    """The outcome of :meth:`furima.automl.AutoML.fit`.

    Attributes:
        members: The chosen model(s) with their ensemble weights.
        leaderboard: Completed trials, best first (rank, trial, family, score, fit_s,
            predict_ms, params).
        chosen: What was chosen and why (the report's summary).
        study: The Optuna study (history, importances, Pareto front).
        classes: Class labels for classification (index = encoded label).
    """

    task: TaskKind
    metric: Metric
    members: list[Member]
    leaderboard: pd.DataFrame
    chosen: dict[str, Any]
    study: Any
    columns: list[str]
    classes: np.ndarray | None = None
    trials: int = 0

    @property
    def best_score(self) -> float:
        """The chosen model's validation score."""
        return float(self.chosen["ensemble_score"])

    def _output(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise KeyError(f"X lacks the column(s) the model learned from: {', '.join(missing)}.")
        rows = X[self.columns].rename(columns=str)
        total: np.ndarray | None = None
        for member in self.members:
            features = member.featurizer.transform(rows)
            out = member.weight * FAMILIES[member.family].predict(member.model, features, self.task)
            total = out if total is None else total + out
        assert total is not None
        return total

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Values (regression, in the target's own units) or class labels."""
        out = self._output(X)
        if self.task == "regression":
            return np.expm1(out).clip(min=0.0) if self.metric.log_target else out
        assert self.classes is not None
        index = (out >= 0.5).astype(int) if self.task == "binary" else out.argmax(axis=1)
        return np.asarray(self.classes[index])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(positive class) for binary tasks, ``(n, classes)`` for multiclass."""
        if self.task == "regression":
            raise TypeError("predict_proba is for classification tasks; use predict.")
        return self._output(X)

    def score(self, X: pd.DataFrame, y: Any) -> float:
        """The run's metric on labelled rows."""
        truth = np.asarray(y)
        if self.task == "regression":
            target = np.log1p(truth.astype(float)) if self.metric.log_target else truth
            return self.metric.score(target.astype(float), self._output(X))
        assert self.classes is not None
        encoded = np.searchsorted(self.classes, truth)
        return self.metric.score(encoded, self._output(X))

    def report(self, path: str | Path) -> Path:
        """Write the HTML report (history, importances, leaderboard, Pareto front, choice)."""
        from furima.automl._report import write_report

        return write_report(self.study, self.leaderboard, self.chosen, path)
