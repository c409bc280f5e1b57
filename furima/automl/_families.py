"""Model families the search chooses between, each with its own search space.

- ``linear``: ridge regression or logistic regression on the (sparse) features;
- ``lightgbm``: gradient-boosted trees, early-stopped on the validation rows;
- ``extra_trees``: extremely randomised trees, grown in chunks of 25 (robust on imbalanced numeric
  tables such as card fraud, where boosting can overfit the few positives);
- ``mlp``: a neural network whose architecture is searched (depth, width, activation, dropout,
  the size of the first layer that embeds the sparse features), trained with AdamW.

LightGBM, extra trees and the MLP report their validation score as they learn, so the pruner
can stop a trial whose learning curve is already behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from furima.automl._metrics import Metric, TaskKind

__all__ = ["FAMILIES", "Family", "FitData", "from_raw_scores"]

_TREE_ROUNDS = 3000
_VALUES = ("regression", "ranking")  # tasks whose models output one number per row
_REPORT_EVERY = 25


@dataclass
class FitData:
    """One trial's training and validation inputs."""

    task: TaskKind
    metric: Metric
    X_train: Any
    y_train: np.ndarray
    X_valid: Any
    y_valid: np.ndarray
    n_classes: int
    seed: int
    threads: int
    report: Callable[[float, int], None] | None = None
    """``report(score, step)``: the learning curve, for pruning (raises to stop)."""
    deadline: float = float("inf")
    """``time.monotonic()`` after which training stops and keeps what it has."""
    groups_train: np.ndarray | None = None
    """Ranking: each training row's query group (rows of a group are contiguous)."""
    groups_valid: np.ndarray | None = None


class Family(Protocol):
    name: str

    def suggest(self, trial: Any, task: TaskKind) -> dict[str, Any]: ...

    def fit(self, params: dict[str, Any], data: FitData) -> Any: ...

    def predict(self, model: Any, X: Any, task: TaskKind) -> np.ndarray: ...


class Linear:
    """Ridge (regression) or logistic regression (classification)."""

    name = "linear"

    def suggest(self, trial: Any, task: TaskKind) -> dict[str, Any]:
        if task in _VALUES:
            return {"alpha": trial.suggest_float("linear_alpha", 1e-3, 1e3, log=True)}
        return {
            "C": trial.suggest_float("linear_C", 1e-3, 1e3, log=True),
            "balanced": trial.suggest_categorical("linear_balanced", [False, True]),
        }

    def fit(self, params: dict[str, Any], data: FitData) -> Any:
        from sklearn.linear_model import LogisticRegression, Ridge

        if data.task in _VALUES:
            return Ridge(alpha=params["alpha"], solver="auto").fit(data.X_train, data.y_train)
        model = LogisticRegression(
            C=params["C"],
            class_weight="balanced" if params["balanced"] else None,
            max_iter=300,
            solver="liblinear" if data.task == "binary" else "lbfgs",
        )
        return model.fit(data.X_train, data.y_train)

    def predict(self, model: Any, X: Any, task: TaskKind) -> np.ndarray:
        return _sklearn_output(model, X, task)


class LightGBM:
    """Gradient-boosted trees with early stopping and learning-curve reports."""

    name = "lightgbm"

    def suggest(self, trial: Any, task: TaskKind) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("lgb_num_leaves", 8, 256, log=True),
            "learning_rate": trial.suggest_float("lgb_learning_rate", 0.01, 0.3, log=True),
            "min_child_samples": trial.suggest_int("lgb_min_child_samples", 5, 200, log=True),
            "feature_fraction": trial.suggest_float("lgb_feature_fraction", 0.2, 1.0),
            "bagging_fraction": trial.suggest_float("lgb_bagging_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lgb_lambda_l2", 1e-8, 10.0, log=True),
            # a floor on a leaf's hessian keeps boosting stable when positives are rare
            "min_sum_hessian_in_leaf": trial.suggest_float(
                "lgb_min_sum_hessian", 1e-3, 20.0, log=True
            ),
        }

    def fit(self, params: dict[str, Any], data: FitData) -> Any:
        import lightgbm

        objective = {
            "regression": "regression",
            "binary": "binary",
            "multiclass": "multiclass",
            "ranking": "lambdarank",
        }
        tracked = _LGB_METRICS.get((data.task, data.metric.name), "ndcg")
        config = {
            **{k: v for k, v in params.items() if k != "rounds"},
            "objective": objective[data.task],
            "bagging_freq": 1,
            "verbosity": -1,
            "num_threads": data.threads,
            "seed": data.seed,
            "metric": tracked,
        }
        if data.task == "multiclass":
            config["num_class"] = data.n_classes
        if data.task == "ranking":
            config["eval_at"] = [data.metric.cutoff]
        rounds = int(params.get("rounds", 0)) or _TREE_ROUNDS
        train = lightgbm.Dataset(
            data.X_train, data.y_train, group=_sizes(data.groups_train), free_raw_data=False
        )
        if data.X_valid is None:  # a refit: the rounds found by early stopping
            return lightgbm.train(config, train, num_boost_round=rounds)
        valid = lightgbm.Dataset(
            data.X_valid, data.y_valid, group=_sizes(data.groups_valid), reference=train
        )
        callbacks: list[Any] = [lightgbm.early_stopping(50, verbose=False)]
        callbacks.append(_LearningCurve(data))
        booster = lightgbm.train(
            config, train, num_boost_round=rounds, valid_sets=[valid], callbacks=callbacks
        )
        booster.best_iteration = booster.best_iteration or booster.current_iteration()
        return booster

    def predict(self, model: Any, X: Any, task: TaskKind) -> np.ndarray:
        iteration = getattr(model, "best_iteration", None) or None
        return np.asarray(model.predict(X, num_iteration=iteration), dtype=np.float64)


def _sizes(groups: np.ndarray | None) -> np.ndarray | None:
    """Row counts of consecutive query groups (LightGBM's ranking input)."""
    if groups is None:
        return None
    starts = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1, len(groups)]
    return np.asarray(np.diff(starts))


# LightGBM's own (fast) validation metric that early stopping watches, per study metric
_LGB_METRICS: dict[tuple[str, str], str] = {
    ("regression", "rmse"): "rmse",
    ("regression", "rmsle"): "rmse",
    ("regression", "mae"): "l1",
    ("regression", "r2"): "l2",
    ("binary", "auprc"): "average_precision",
    ("binary", "auc"): "auc",
    ("binary", "logloss"): "binary_logloss",
    ("binary", "f1"): "binary_logloss",
    ("binary", "accuracy"): "binary_error",
    ("multiclass", "accuracy"): "multi_error",
    ("multiclass", "logloss"): "multi_logloss",
    ("multiclass", "macro_f1"): "multi_logloss",
}


class _LearningCurve:
    """LightGBM callback: every 25 rounds, the study's own metric on the validation rows (so
    pruners can compare it with other families' curves); stops at the deadline.

    Only the new rounds are predicted each time; their raw scores add to the running total.
    """

    order = 30

    def __init__(self, data: FitData) -> None:
        self.data = data
        self.raw: np.ndarray | float = 0.0
        self.rounds = 0

    def __call__(self, env: Any) -> None:
        import lightgbm

        step = env.iteration + 1
        if time.monotonic() > self.data.deadline:  # out of time: keep the rounds so far
            raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list)
        if self.data.report is None or step % _REPORT_EVERY:
            return
        new = step - self.rounds
        self.raw = self.raw + env.model.predict(
            self.data.X_valid,
            start_iteration=self.rounds,
            num_iteration=new,
            raw_score=True,
            num_threads=self.data.threads,  # else every core, beside the other processes
        )
        self.rounds = step
        output = from_raw_scores(np.asarray(self.raw, dtype=np.float64), self.data.task)
        self.data.report(self.data.metric.score(self.data.y_valid, output), step // _REPORT_EVERY)


def from_raw_scores(raw: np.ndarray, task: TaskKind) -> np.ndarray:
    """Raw model scores (LightGBM's, the network's logits) as predictions: values,
    P(positive) or class probabilities."""
    if task == "binary":
        from scipy.special import expit  # no overflow warning for large negative scores

        return np.asarray(expit(raw))
    if task == "multiclass":
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float64)
    return raw


class ExtraTrees:
    """Extremely randomised trees; the forest grows in chunks, each reported for pruning."""

    name = "extra_trees"
    chunk = 25
    most_trees = 300

    def suggest(self, trial: Any, task: TaskKind) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_features": trial.suggest_categorical(
                "et_max_features", ["sqrt", "0.3", "0.6", "1.0"]
            ),
            "min_samples_leaf": trial.suggest_int("et_min_samples_leaf", 1, 30, log=True),
        }
        if task not in _VALUES:
            params["balanced"] = trial.suggest_categorical("et_balanced", [False, True])
        return params

    def fit(self, params: dict[str, Any], data: FitData) -> Any:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        options: dict[str, Any] = {
            "n_estimators": 0,
            "max_features": _split_features(params["max_features"], data.X_train),
            "min_samples_leaf": params["min_samples_leaf"],
            "n_jobs": data.threads,
            "random_state": data.seed,
            "warm_start": True,
        }
        if data.task in _VALUES:
            forest: Any = ExtraTreesRegressor(**options)
        else:
            weight = _balanced_weights(data.y_train) if params.get("balanced") else None
            forest = ExtraTreesClassifier(class_weight=weight, **options)
        target = int(params.get("trees", 0)) or self.most_trees
        learning = data.report is not None and data.X_valid is not None
        scored = _ForestScores(data) if learning else None
        chunk_s = 0.0
        while forest.n_estimators < target:
            if forest.n_estimators and time.monotonic() + chunk_s > data.deadline:
                break  # the next chunk would end past the deadline: keep the trees so far
            started = time.monotonic()
            forest.n_estimators = min(forest.n_estimators + self.chunk, target)
            forest.fit(data.X_train, data.y_train)
            if scored is not None and data.report is not None:
                data.report(scored.after(forest), forest.n_estimators // self.chunk)
            chunk_s = time.monotonic() - started
        forest.trees = forest.n_estimators
        return forest

    def predict(self, model: Any, X: Any, task: TaskKind) -> np.ndarray:
        return _sklearn_output(model, X, task)


class _ForestScores:
    """The validation score of a growing forest, each chunk adding only its own trees'
    predictions (re-predicting the whole forest after every chunk costs quadratically)."""

    def __init__(self, data: FitData) -> None:
        import scipy.sparse

        X = data.X_valid
        self.data = data
        self.X = (
            X.tocsr().astype(np.float32)
            if scipy.sparse.issparse(X)
            else np.asarray(X, dtype=np.float32)
        )
        self.total: np.ndarray | float = 0.0
        self.trees = 0

    def after(self, forest: Any) -> float:
        values = self.data.task in _VALUES
        for tree in forest.estimators_[self.trees :]:
            out = tree.predict(self.X) if values else tree.predict_proba(self.X)
            self.total = self.total + out
        self.trees = len(forest.estimators_)
        mean = np.asarray(self.total, dtype=np.float64) / self.trees
        output = mean[:, 1] if self.data.task == "binary" else mean
        return self.data.metric.score(self.data.y_valid, output)


def _sklearn_output(model: Any, X: Any, task: TaskKind) -> np.ndarray:
    """A scikit-learn model's values (regression, ranking), P(positive) or class
    probabilities."""
    if task in _VALUES:
        return np.asarray(model.predict(X), dtype=np.float64)
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    return proba[:, 1] if task == "binary" else proba


def _balanced_weights(y: np.ndarray) -> dict[int, float]:
    """Class weights inversely proportional to class frequency, fixed once (sklearn's
    "balanced" preset warns when a forest grows with ``warm_start``)."""
    classes, counts = np.unique(y, return_counts=True)
    weights = len(y) / (len(classes) * counts)
    return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}


def _split_features(choice: str, X: Any) -> str | int:
    """Columns tried per split; on wide sparse inputs (text) at most a few hundred, else a
    single forest over 100k TF-IDF columns would take minutes."""
    import scipy.sparse

    if choice == "sqrt":
        return "sqrt"
    columns = int(X.shape[1])
    count = max(1, round(float(choice) * columns))
    if scipy.sparse.issparse(X):
        count = min(count, max(int(np.sqrt(columns)), 300))
    return count


class MLP:
    """A feed-forward network on the features, its architecture searched."""

    name = "mlp"

    def suggest(self, trial: Any, task: TaskKind) -> dict[str, Any]:
        return {
            "embedding": trial.suggest_int("mlp_embedding", 32, 256, log=True),
            "layers": trial.suggest_int("mlp_layers", 1, 3),
            "width": trial.suggest_int("mlp_width", 16, 256, log=True),
            "activation": trial.suggest_categorical("mlp_activation", ["relu", "gelu", "silu"]),
            "dropout": trial.suggest_float("mlp_dropout", 0.0, 0.5),
            "lr": trial.suggest_float("mlp_lr", 3e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float("mlp_weight_decay", 1e-6, 1e-2, log=True),
            "batch": trial.suggest_categorical("mlp_batch", [128, 256, 512]),
        }

    def fit(self, params: dict[str, Any], data: FitData) -> Any:
        from furima.automl._network import train_network

        return train_network(params, data)

    def predict(self, model: Any, X: Any, task: TaskKind) -> np.ndarray:
        from furima.automl._network import predict_network

        return predict_network(model, X, task)


FAMILIES: dict[str, Family] = {f.name: f for f in (Linear(), LightGBM(), ExtraTrees(), MLP())}
