"""AutoML benchmark: furima AutoML against FLAML and Optuna TPE over LightGBM, in the same run.

Each task (see ``benchmarks/_automl_tasks.py``) has one fixed train/test split; every system
gets the same ``--budget`` seconds of search on the train part and is scored once on the test
part with the same metric code::

    python benchmarks/automl.py --data ../shared/data --budget 300

furima reads the raw columns (free text included) and does its own featurization and holdout.
FLAML and the Optuna baseline cannot read text, so both get ONE fixed featurization fitted on
train only: TF-IDF (1-2 grams, min_df 2, sublinear, 50k features) of the text columns joined,
one-hot of the categorical columns (min_frequency 5), numeric columns as they are; a sparse
CSR float32 matrix (a dense one when every column is numeric). For RMSLE tasks the baselines
fit log1p(price) and predict expm1, clipped at 0 (``"target": "log1p"``).

Each task prints one JSON line; a system that fails is null with ``<system>_error``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from _automl_tasks import TASKS, BenchTask, TaskSkipped

SYSTEMS = ("furima", "flaml", "optuna_lgbm")
HIGHER_IS_BETTER = {"rmsle": False, "auprc": True, "accuracy": True}
FLAML_METRIC = {"rmsle": "rmse", "auprc": "ap", "accuracy": "accuracy"}
LGBM_METRIC = {"regression": "l2", "binary": "average_precision", "multiclass": "multi_logloss"}
HOLDOUT_SHARE = 0.2
LGBM_DEFAULTS = {
    "num_leaves": 31,
    "learning_rate": 0.1,
    "min_child_samples": 20,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
    "lambda_l1": 1e-8,
    "lambda_l2": 1e-8,
}
MAX_ROUNDS = 5_000
EARLY_STOPPING_ROUNDS = 50


@dataclass
class Outcome:
    """What a system hands back: test predictions (values, P(positive) or labels) and notes."""

    predictions: np.ndarray
    trials: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Features:
    """The baselines' shared featurization of one task, fitted on its train part."""

    train: Any
    test: Any
    description: str
    seconds: float


# --- metrics ----------------------------------------------------------------------------------


def rmsle(truth: np.ndarray, predicted: np.ndarray) -> float:
    predicted = np.clip(np.asarray(predicted, dtype=np.float64), 0, None)
    error = np.log1p(predicted) - np.log1p(np.asarray(truth, dtype=np.float64))
    return float(np.sqrt(np.mean(error**2)))


def score(metric: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    """``predicted``: values for rmsle, P(class 1) for auprc, labels for accuracy."""
    from sklearn.metrics import average_precision_score

    if metric == "rmsle":
        return rmsle(truth, predicted)
    if metric == "auprc":
        return float(average_precision_score(truth, predicted, pos_label=1))
    if metric == "accuracy":
        return float(np.mean(np.asarray(truth) == np.asarray(predicted)))
    raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(HIGHER_IS_BETTER)}")


# --- the baselines' shared featurization -------------------------------------------------------


def featurize(task: BenchTask) -> Features:
    """TF-IDF of the text columns, one-hot of the categorical ones, numeric as is."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import OneHotEncoder

    started = time.perf_counter()
    numeric = [c for c in task.X_train.columns if c not in (*task.text, *task.categorical)]
    train: list[Any] = []
    test: list[Any] = []
    parts = []
    if task.text:
        tfidf = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            sublinear_tf=True,
            max_features=50_000,
            dtype=np.float32,
        )
        train.append(tfidf.fit_transform(_joined_text(task.X_train, task.text)))
        test.append(tfidf.transform(_joined_text(task.X_test, task.text)))
        parts.append(f"tfidf({train[-1].shape[1]})")
    if task.categorical:
        onehot = OneHotEncoder(
            min_frequency=5, handle_unknown="infrequent_if_exist", dtype=np.float32
        )
        train.append(onehot.fit_transform(_categories(task.X_train, task.categorical)))
        test.append(onehot.transform(_categories(task.X_test, task.categorical)))
        parts.append(f"onehot({train[-1].shape[1]})")
    if numeric:
        train.append(task.X_train[numeric].to_numpy(dtype=np.float32, na_value=np.nan))
        test.append(task.X_test[numeric].to_numpy(dtype=np.float32, na_value=np.nan))
        parts.append(f"numeric({len(numeric)})")
    if len(train) == 1 and not sparse.issparse(train[0]):
        return Features(train[0], test[0], "dense " + parts[0], time.perf_counter() - started)
    return Features(
        sparse.hstack(train, format="csr", dtype=np.float32),
        sparse.hstack(test, format="csr", dtype=np.float32),
        "csr " + "+".join(parts),
        time.perf_counter() - started,
    )


def _joined_text(X: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    text = X[list(columns)].astype("string").fillna("")
    return text.agg(" ".join, axis=1).tolist()


def _categories(X: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    return X[list(columns)].astype("string").fillna("").to_numpy(dtype=object)


def _fit_target(task: BenchTask) -> np.ndarray:
    """The baselines' target: log1p(price) for RMSLE tasks, the labels otherwise."""
    return np.log1p(task.y_train) if task.metric == "rmsle" else task.y_train


def _from_fit_target(task: BenchTask, predicted: np.ndarray) -> np.ndarray:
    return np.clip(np.expm1(predicted), 0, None) if task.metric == "rmsle" else predicted


# --- the systems -----------------------------------------------------------------------------


def furima_predictions(task: BenchTask, result: Any) -> np.ndarray:
    """What ``score`` takes from a fitted AutoML result: P(positive) for binary tasks, else
    predicted values or labels."""
    if task.kind == "binary":
        return np.asarray(result.predict_proba(task.X_test))
    return np.asarray(result.predict(task.X_test))


def run_furima(
    task: BenchTask, features: Features, budget: float, seed: int, n_jobs: int
) -> Outcome:
    """furima AutoML on the raw columns; it featurizes and holds out on its own."""
    from furima.automl import AutoML

    automl = AutoML(task=task.kind, metric=task.metric, budget_s=budget, seed=seed, n_jobs=n_jobs)
    result = automl.fit(task.X_train, task.y_train)
    predictions = furima_predictions(task, result)
    # fit_s: the search, ensemble and refit, which the budget bounds; furima_s adds predicting
    notes = {
        "furima_fit_s": result.chosen.get("elapsed_s"),
        "furima_pruned": result.chosen.get("pruned"),
        "furima_repeats": result.chosen.get("repeats"),
        "furima_models": [f"{m.family}#{m.trial}" for m in result.members],
        "furima_refit": [m.refit for m in result.members],
    }
    return Outcome(predictions, trials=int(result.trials), notes=notes)


def run_flaml(
    task: BenchTask, features: Features, budget: float, seed: int, n_jobs: int
) -> Outcome:
    """FLAML's default estimators and search, its own 20% holdout of train."""
    from flaml.automl import AutoML

    automl: Any = AutoML()
    automl.fit(
        features.train,
        _fit_target(task),
        task="regression" if task.kind == "regression" else "classification",
        metric=FLAML_METRIC[task.metric],
        time_budget=budget,
        eval_method="holdout",
        split_ratio=HOLDOUT_SHARE,
        split_type="time" if task.time_ordered else "auto",
        seed=seed,
        n_jobs=n_jobs,
        verbose=0,
        mlflow_logging=False,
    )
    if task.kind == "binary":
        column = list(automl.classes_).index(1)
        predictions = automl.predict_proba(features.test)[:, column]
    else:
        predictions = _from_fit_target(task, np.asarray(automl.predict(features.test)))
    iterations = getattr(automl, "_iter_per_learner", None) or {}
    return Outcome(
        np.asarray(predictions),
        trials=int(sum(iterations.values())) if iterations else None,
        notes={
            "flaml_best_estimator": automl.best_estimator,
            "flaml_metric": FLAML_METRIC[task.metric],
        },
    )


def run_optuna_lgbm(
    task: BenchTask, features: Features, budget: float, seed: int, n_jobs: int
) -> Outcome:
    """Optuna TPE over LightGBM, early stopping on a 20% holdout; the best refitted on train."""
    import lightgbm as lgb
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    y = _fit_target(task)
    fit_rows, valid_rows = _holdout(task, seed)
    fixed = _lgbm_fixed_params(task, seed, n_jobs)
    dataset_params = {"feature_pre_filter": False, "verbosity": -1}
    dtrain = lgb.Dataset(features.train[fit_rows], y[fit_rows], params=dataset_params)
    dvalid = lgb.Dataset(features.train[valid_rows], y[valid_rows], reference=dtrain)
    deadline = time.perf_counter() + budget

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed, **_lgbm_search_space(trial)}
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=MAX_ROUNDS,
            valid_sets=[dvalid],
            callbacks=[
                lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False),
                _StopAt(deadline),
            ],
        )
        trial.set_user_attr("rounds", max(int(booster.best_iteration), 1))
        raw = np.asarray(
            booster.predict(features.train[valid_rows], num_iteration=trial.user_attrs["rounds"])
        )
        return _holdout_score(task, y[valid_rows], raw)

    direction: Literal["maximize", "minimize"] = (
        "maximize" if HIGHER_IS_BETTER[task.metric] else "minimize"
    )
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(LGBM_DEFAULTS)  # LightGBM's own defaults first, then TPE
    study.optimize(objective, timeout=budget)
    best = study.best_trial
    booster = lgb.train(
        {**fixed, **best.params},
        lgb.Dataset(features.train, y, params=dataset_params),
        num_boost_round=best.user_attrs["rounds"],
    )
    raw = np.asarray(booster.predict(features.test))
    return Outcome(
        _lgbm_predictions(task, raw),
        trials=len(study.trials),
        notes={"optuna_lgbm_rounds": best.user_attrs["rounds"]},
    )


def _holdout(task: BenchTask, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The last 20% of train for time-ordered tasks, else a (stratified) random 20%."""
    from sklearn.model_selection import train_test_split

    n = len(task.y_train)
    if task.time_ordered:
        cut = round(n * (1 - HOLDOUT_SHARE))
        return np.arange(cut), np.arange(cut, n)
    stratify = None if task.kind == "regression" else task.y_train
    fit, valid = train_test_split(
        np.arange(n), test_size=HOLDOUT_SHARE, random_state=seed, stratify=stratify
    )
    return np.asarray(fit), np.asarray(valid)


def _lgbm_fixed_params(task: BenchTask, seed: int, n_jobs: int) -> dict[str, Any]:
    objective = {"regression": "regression", "binary": "binary", "multiclass": "multiclass"}
    params: dict[str, Any] = {
        "objective": objective[task.kind],
        "metric": LGBM_METRIC[task.kind],
        "verbosity": -1,
        "seed": seed,
        "num_threads": n_jobs,
        "feature_pre_filter": False,
    }
    if task.kind == "multiclass":
        params["num_class"] = int(np.max(task.y_train)) + 1
    return params


def _lgbm_search_space(trial: Any) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 7, 255, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.2, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "bagging_freq": trial.suggest_int("bagging_freq", 0, 7),
        "lambda_l1": trial.suggest_float("lambda_l1", 1e-8, 10.0, log=True),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
    }


class _StopAt:
    """A LightGBM callback that ends training once the search's wall-clock budget is spent."""

    order = 40  # after early stopping (30), so its best round is kept when both fire

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, env: Any) -> None:
        import lightgbm as lgb

        if time.perf_counter() > self.deadline:
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)


def _lgbm_predictions(task: BenchTask, raw: np.ndarray) -> np.ndarray:
    if task.kind == "multiclass":
        return np.asarray(np.argmax(raw, axis=1))
    return _from_fit_target(task, raw)


def _holdout_score(task: BenchTask, truth: np.ndarray, raw: np.ndarray) -> float:
    if task.metric == "rmsle":  # truth and raw are both log1p(price) here
        return float(np.sqrt(np.mean((raw - truth) ** 2)))
    return score(task.metric, truth, _lgbm_predictions(task, raw))


System = Callable[[BenchTask, Features, float, int, int], Outcome]
RUNNERS: dict[str, System] = {
    "furima": run_furima,
    "flaml": run_flaml,
    "optuna_lgbm": run_optuna_lgbm,
}


# --- one task, one line -----------------------------------------------------------------------


def task_case(
    task: BenchTask, systems: list[str], budget: float, seed: int, n_jobs: int
) -> dict[str, Any]:
    features = featurize(task)
    line: dict[str, Any] = {
        "benchmark": "automl",
        "task": task.name,
        "metric": task.metric,
        "higher_is_better": HIGHER_IS_BETTER[task.metric],
        **{name: None for name in SYSTEMS},
        "budget_s": budget,
        "trials": None,
        "systems": systems,
    }
    for name in systems:
        _log(f"{task.name}: {name} ({budget:g} s budget)")
        started = time.perf_counter()
        try:
            outcome = RUNNERS[name](task, features, budget, seed, n_jobs)
        except Exception as error:  # a broken system is a result, not the end of the run
            traceback.print_exc(file=sys.stderr)
            line[f"{name}_error"] = f"{type(error).__name__}: {error}"
            continue
        line[f"{name}_s"] = round(time.perf_counter() - started, 1)
        line[name] = round(score(task.metric, task.y_test, outcome.predictions), 4)
        line["trials" if name == "furima" else f"{name}_trials"] = outcome.trials
        line.update(outcome.notes)
    line.update(
        {
            "target": "log1p" if task.metric == "rmsle" else None,
            "baseline_features": features.description,
            "featurize_s": round(features.seconds, 1),
            "furima_features": task.features,
            "split": task.split,
            "rows": task.rows,
            "train_rows": len(task.y_train),
            "test_rows": len(task.y_test),
            "data_sha256": task.data_sha256,
            "seed": seed,
            "n_jobs": n_jobs,
        }
    )
    return line


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _names(value: str, known: tuple[str, ...] | list[str]) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; expected some of {list(known)}")
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--budget", type=float, default=300.0, help="Search seconds per system.")
    parser.add_argument(
        "--tasks", type=lambda v: _names(v, list(TASKS)), default=list(TASKS), help="a,b,..."
    )
    parser.add_argument(
        "--systems", type=lambda v: _names(v, SYSTEMS), default=list(SYSTEMS), help="a,b,..."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2, help="Threads for every system.")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache/furima/benchmarks",
        help="Where benchmarks/search.py cached the photo features.",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"data folder {str(args.data)!r} not found; pass --data DIR")
    for name in args.tasks:
        try:
            task = TASKS[name](args.data, args.seed, args.cache)
        except TaskSkipped as skipped:
            print(json.dumps({"benchmark": "automl", "task": name, "skipped": str(skipped)}))
            continue
        line = task_case(task, args.systems, args.budget, args.seed, args.n_jobs)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
