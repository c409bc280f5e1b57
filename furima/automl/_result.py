"""What an AutoML run returns: the chosen model (one trial or a weighted ensemble), refit,
with the leaderboard, the study and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.automl._families import FAMILIES
from furima.automl._features import Featurizer
from furima.automl._metrics import Metric, TaskKind
from furima.exceptions import DataError

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
    refit: bool = False  # trained again on training + validation rows (else training rows)


@dataclass
class AutoMLResult:
    """The outcome of :meth:`furima.automl.AutoML.fit`.

    Attributes:
        members: The chosen model(s) with their ensemble weights.
        leaderboard: Completed trials, best first (rank, trial, family, score, fit_s,
            predict_ms, params).
        chosen: What was chosen and why (the report's summary).
        study: The Optuna study (history, importances, Pareto front); ``None`` once loaded.
        classes: Class labels for classification (index = encoded label).
        examples: A few raw validation rows, JSON-ready: a server's smoke requests.
        data_fingerprint: SHA-256 of the training rows and target.
        group_column: Ranking: the column naming each row's query.
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
    examples: list[dict[str, Any]] = field(default_factory=list)
    data_fingerprint: str | None = None
    group_column: str | None = None

    @property
    def numeric_columns(self) -> tuple[str, ...]:
        """The input columns read as numbers (the others are categories or text)."""
        return self.members[0].featurizer.kinds.numeric

    @property
    def best_score(self) -> float:
        """The chosen model's validation score."""
        return float(self.chosen["ensemble_score"])

    def _output(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise DataError(
                f"The rows lack the column(s) the model learned from: {', '.join(missing)}. "
                f"Give every one of: {', '.join(self.columns)}."
            )
        rows = X[self.columns].rename(columns=str)
        total: np.ndarray | None = None
        for member in self.members:
            features = member.featurizer.transform(rows)
            out = member.weight * FAMILIES[member.family].predict(member.model, features, self.task)
            total = out if total is None else total + out
        assert total is not None
        return total

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Values (regression, in the target's own units), class labels, or ranking scores
        (higher ranks first within a query)."""
        out = self._output(X)
        if self.task == "ranking":
            return out
        if self.task == "regression":
            return np.expm1(out).clip(min=0.0) if self.metric.log_target else out
        assert self.classes is not None
        index = (out >= 0.5).astype(int) if self.task == "binary" else out.argmax(axis=1)
        return np.asarray(self.classes[index])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(positive class) for binary tasks, ``(n, classes)`` for multiclass."""
        if self.task in ("regression", "ranking"):
            raise TypeError("predict_proba is for classification tasks; use predict.")
        return self._output(X)

    def score(self, X: pd.DataFrame, y: Any) -> float:
        """The run's metric on labelled rows."""
        truth = np.asarray(y)
        if self.task == "ranking":
            if self.group_column not in X.columns:
                raise DataError(f"Scoring a ranking needs the query column {self.group_column!r}.")
            groups = pd.factorize(X[self.group_column])[0]
            return self.metric.for_groups(groups).score(truth.astype(float), self._output(X))
        if self.task == "regression":
            target = np.log1p(truth.astype(float)) if self.metric.log_target else truth
            return self.metric.score(target.astype(float), self._output(X))
        assert self.classes is not None
        encoded = np.searchsorted(self.classes, truth)
        return self.metric.score(encoded, self._output(X))

    def save(self, path: str | Path) -> Path:
        """Save the chosen model(s) atomically, to load, register (``ModelRegistry.log_model``)
        and serve."""
        from furima.automl._persistence import save_result

        return save_result(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> AutoMLResult:
        """A result saved by :meth:`save`."""
        from furima.automl._persistence import load_result

        return load_result(Path(path))

    def report(self, path: str | Path) -> Path:
        """Write the HTML report (history, importances, leaderboard, Pareto front, choice)."""
        from furima.automl._report import write_report

        if self.study is None:
            raise ValueError(
                "A loaded result has no study to report on; write the report right after fit."
            )
        return write_report(self.study, self.leaderboard, self.chosen, path)
