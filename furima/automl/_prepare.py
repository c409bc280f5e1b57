"""The data every trial of a run shares: the target checked and encoded, the feature columns
checked, and the rows split into training and validation (at random, stratified, by time, or
by whole ranking queries). Kept apart from ``AutoML`` so the search only sees ``Prepared``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from furima.automl._features import checked_columns
from furima.automl._metrics import Metric, TaskKind
from furima.automl._objective import Prepared
from furima.exceptions import DataError

__all__ = ["Preparation", "encoded_target"]


@dataclass(frozen=True)
class Preparation:
    """How ``AutoML`` splits and encodes a table (its settings of the same names)."""

    task: TaskKind
    metric: Metric
    validation: float
    time_column: str | None
    group_column: str | None
    seed: int
    n_jobs: int

    def prepared(
        self, X: pd.DataFrame, y: Any, X_valid: pd.DataFrame | None, y_valid: Any
    ) -> tuple[Prepared, list[str], np.ndarray | None]:
        if X_valid is not None:
            X_all = pd.concat([X, X_valid], ignore_index=True)
            y_all = np.concatenate([np.asarray(y), np.asarray(y_valid)])
            valid_rows = np.arange(len(X), len(X_all))
        else:
            X_all, y_all, valid_rows = X.reset_index(drop=True), np.asarray(y), None
        if len(y_all) != len(X_all):
            raise DataError(f"X has {len(X_all)} rows but y has {len(y_all)} values.")
        target, classes = encoded_target(self.task, self.metric, y_all)
        groups = self._groups(X_all)
        side = [c for c in (self.time_column, self.group_column) if c is not None]
        features, kinds, _ = checked_columns(X_all.drop(columns=side))
        if valid_rows is None:
            valid_rows = self._holdout(X_all, target, groups)
        train = np.setdiff1d(np.arange(len(X_all)), valid_rows)
        metric = self.metric
        if groups is not None:  # a query's rows side by side, as LightGBM ranks them
            train = train[np.argsort(groups[train], kind="stable")]
            valid_rows = valid_rows[np.argsort(groups[valid_rows], kind="stable")]
            metric = metric.for_groups(groups[valid_rows])
        data = Prepared(
            task=self.task,
            metric=metric,
            kinds=kinds,
            X_train=features.iloc[train].reset_index(drop=True),
            y_train=target[train],
            X_valid=features.iloc[valid_rows].reset_index(drop=True),
            y_valid=target[valid_rows],
            n_classes=0 if classes is None else len(classes),
            seed=self.seed,
            threads=max(1, (os.cpu_count() or 2) // self.n_jobs),
            groups_train=None if groups is None else groups[train],
            groups_valid=None if groups is None else groups[valid_rows],
        )
        return data, list(features.columns), classes

    def _groups(self, X: pd.DataFrame) -> np.ndarray | None:
        """Ranking: each row's query as an integer code."""
        if self.group_column is None:
            return None
        if self.group_column not in X.columns:
            raise DataError(
                f"group_column {self.group_column!r} is not a column of X; columns: "
                f"{', '.join(map(str, X.columns))}."
            )
        values = X[self.group_column]
        if values.isna().any():
            raise DataError(f"group_column {self.group_column!r} has missing values.")
        return np.asarray(pd.factorize(values)[0], dtype=np.int64)

    def _holdout(self, X: pd.DataFrame, target: np.ndarray, groups: np.ndarray | None) -> Any:
        count = max(1, round(len(X) * self.validation))
        if self.time_column is not None:
            order = np.argsort(X[self.time_column].to_numpy(), kind="stable")
            return np.sort(order[-count:])
        if groups is not None:  # whole queries: about the share of rows asked for
            from sklearn.model_selection import GroupShuffleSplit

            split = GroupShuffleSplit(1, test_size=self.validation, random_state=self.seed)
            _, valid = next(split.split(X, groups=groups))
            return np.sort(valid)
        from sklearn.model_selection import train_test_split

        stratify = target if self.task != "regression" else None
        _, valid = train_test_split(
            np.arange(len(X)), test_size=count, random_state=self.seed, stratify=stratify
        )
        return np.sort(valid)


def encoded_target(
    task: TaskKind, metric: Metric, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Regression targets as floats (log1p for rmsle); classes as 0..k-1 with their labels."""
    if len(y) == 0:
        raise DataError("The target is empty: there are no rows to learn from.")
    if pd.isna(pd.Series(y)).any():
        raise DataError("The target has missing values; drop those rows or fill them first.")
    if task == "ranking":
        relevance = np.asarray(y, dtype=np.float64)
        if (
            (relevance < 0).any()
            or (relevance != np.round(relevance)).any()
            or relevance.max() > 30
        ):
            raise DataError(
                "Ranking targets are relevance grades: whole numbers from 0 (not relevant) to "
                "30, e.g. 1 for a clicked or bought item and 0 for the others."
            )
        if relevance.max() == 0:
            raise DataError("No row is relevant (every grade is 0); there is nothing to rank.")
        return relevance, None
    if task == "regression":
        values = np.asarray(y, dtype=np.float64)
        if metric.log_target:
            if (values < 0).any():
                raise DataError("rmsle needs targets >= 0 (prices); some are negative.")
            values = np.log1p(values)
        return values, None
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise DataError(
            f"The target has a single class ({classes[0]!r}); a classifier needs at least two."
        )
    if task == "binary" and len(classes) > 2:
        raise DataError(
            f"A binary task needs two classes but the target has {len(classes)}; use "
            "task='multiclass'."
        )
    return encoded.astype(np.int64), classes
