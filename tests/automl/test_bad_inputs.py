"""Bad input to AutoML: clear errors before any compute is spent."""

from __future__ import annotations

import time

import numpy as np
import optuna
import pandas as pd
import pytest

from furima.automl import AutoML
from furima.exceptions import DataError, RegistryError

X = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) % 7})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "binary", "budget_s": 3}, "A budget of 3 s is too small"),
        ({"task": "regression", "metric": "auprc"}, "does not fit a regression task; use one of"),
        ({"task": "forecast"}, "Unknown task 'forecast'"),
        ({"task": "ranking"}, "A ranking task needs group_column="),
        ({"task": "binary", "group_column": "q"}, "only a ranking task takes one"),
        ({"task": "ranking", "group_column": "q", "metric": "auc"}, "ndcg@K (e.g. ndcg@10)"),
        ({"task": "binary", "families": ["svm"]}, "Unknown model families ['svm']"),
        ({"task": "binary", "sampler": "bayes"}, "sampler must be one of"),
        ({"task": "binary", "sampler": 42}, "sampler must be a name or an Optuna sampler, got int"),
        (
            {"task": "binary", "sampler": optuna.samplers.RandomSampler(), "n_jobs": 2},
            "A sampler object serves one process",
        ),
        ({"task": "binary", "objectives": ("score", "size")}, "objectives must be"),
    ],
)
def test_settings_that_cannot_work(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        AutoML(**kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("features", "target", "task", "message"),
    [
        (X, np.zeros(100), "binary", "The target has a single class (np.float64(0.0))"),
        (X, np.arange(100) % 3, "binary", "A binary task needs two classes but the target has 3"),
        (X, np.r_[np.nan, np.ones(99)], "regression", "The target has missing values"),
        (X, np.arange(99), "regression", "X has 100 rows but y has 99 values"),
        (
            pd.DataFrame({"c": [1.0] * 100, "d": [None] * 100}),
            np.arange(100) % 2,
            "binary",
            "Every feature column is constant or all missing (c, d)",
        ),
    ],
)
def test_data_that_cannot_be_learned(
    features: pd.DataFrame, target: np.ndarray, task: str, message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(DataError) as caught:
        AutoML(task, budget_s=60).fit(features, target)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert time.monotonic() - started < 5  # refused before any search


@pytest.mark.parametrize(
    ("grades", "group_column", "message"),
    [
        (np.arange(100) % 3 - 1, "b", "Ranking targets are relevance grades: whole numbers"),
        (np.zeros(100), "b", "No row is relevant"),
        (np.arange(100) % 2, "query", "group_column 'query' is not a column of X"),
    ],
)
def test_rankings_that_cannot_be_learned(
    grades: np.ndarray, group_column: str, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        AutoML("ranking", budget_s=60, group_column=group_column).fit(X, grades)


def test_rmsle_needs_non_negative_targets() -> None:
    with pytest.raises(DataError, match="rmsle needs targets >= 0"):
        AutoML("regression", "rmsle", budget_s=60).fit(X, np.arange(100) - 5.0)


def test_an_unreachable_storage_is_named_before_any_compute() -> None:
    started = time.monotonic()
    with pytest.raises(RegistryError, match="cannot be reached"):
        AutoML("binary", budget_s=60, storage="postgresql+psycopg2://u@127.0.0.1:9/x").fit(
            X, np.arange(100) % 2
        )
    assert time.monotonic() - started < 10


def test_the_registry_database_is_not_a_study_storage(tmp_path: object) -> None:
    from pathlib import Path

    from furima.registry import ModelRegistry

    folder = Path(str(tmp_path)) / "registry"
    ModelRegistry(folder).tasks()  # creates MLflow's tables
    with pytest.raises(ValueError, match="is a model registry's \\(MLflow\\) database"):
        AutoML("binary", budget_s=60, storage=f"sqlite:///{folder / 'mlflow.db'}").fit(
            X, np.arange(100) % 2
        )
