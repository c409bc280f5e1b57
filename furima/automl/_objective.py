"""One trial: pick a family, its hyperparameters and the feature options, fit, score."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima._artifacts import write_file_atomically
from furima.automl._ensemble import candidate_positions
from furima.automl._families import FAMILIES, FitData
from furima.automl._features import ColumnKinds, FeatureOptions, Featurizer
from furima.automl._metrics import Metric, TaskKind

__all__ = ["Objective", "Prepared", "TrialModel", "saved_model"]

_LATENCY_ROWS = 256


@dataclass
class Prepared:
    """The split, encoded data every trial of a run shares."""

    task: TaskKind
    metric: Metric
    kinds: ColumnKinds
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_valid: pd.DataFrame
    y_valid: np.ndarray
    n_classes: int
    seed: int
    threads: int
    groups_train: np.ndarray | None = None
    """Ranking: query group of each training row (contiguous), and of each validation row."""
    groups_valid: np.ndarray | None = None


@dataclass
class TrialModel:
    """A fitted trial: features and model, with its validation output."""

    family: str
    params: dict[str, Any]
    options: FeatureOptions
    featurizer: Featurizer
    model: Any
    valid_output: np.ndarray
    score: float


@dataclass
class Objective:
    """Callable by Optuna; keeps the best trials' models and writes every trial's validation
    output to ``outputs`` (when given) for ensembling across processes. With ``save_models``
    (set in worker processes) the kept models are also written to ``outputs``, so the main
    process can use a worker's trial without training it again."""

    data: Prepared
    families: tuple[str, ...]
    multi_objective: bool
    outputs: Path | None = None
    keep: int = 10
    deadline: float = float("inf")
    save_models: bool = False
    models: dict[int, TrialModel] = field(default_factory=dict)
    feature_seconds: dict[FeatureOptions, float] = field(default_factory=dict)
    _features: dict[FeatureOptions, tuple[Featurizer, Any, Any]] = field(default_factory=dict)

    def __call__(self, trial: Any) -> float | tuple[float, float]:
        name = trial.suggest_categorical("family", list(self.families))
        family = FAMILIES[name]
        params = family.suggest(trial, self.data.task)
        options = FeatureOptions.suggest(trial, self.data.kinds)
        _skip_repeat(trial)
        self._check_time_for(options)
        featurizer, X_train, X_valid = self._featurized(options)
        report = None if self.multi_objective else _reporter(trial)
        fit = FitData(
            self.data.task,
            self.data.metric,
            X_train,
            self.data.y_train,
            X_valid,
            self.data.y_valid,
            self.data.n_classes,
            self.data.seed,
            self.data.threads,
            report,
            self.deadline,
            self.data.groups_train,
            self.data.groups_valid,
        )
        started = time.perf_counter()
        model = family.fit(params, fit)
        fit_s = time.perf_counter() - started
        output = family.predict(model, X_valid, self.data.task)
        score = self.data.metric.score(self.data.y_valid, output)
        latency = self._latency_ms(family, model, featurizer)
        params.update(_learned(model))
        trial.set_user_attr("family", name)
        trial.set_user_attr("fit_s", round(fit_s, 3))
        trial.set_user_attr("predict_ms", round(latency, 4))
        trial.set_user_attr("model_params", params)
        self._keep(
            trial.number, TrialModel(name, params, options, featurizer, model, output, score)
        )
        if self.outputs is not None:
            self.outputs.mkdir(parents=True, exist_ok=True)
            np.save(self.outputs / f"{trial.number}.npy", output)
        return (score, latency) if self.multi_objective else score

    def _check_time_for(self, options: FeatureOptions) -> None:
        """Stop a trial that could not even featurise before the deadline (featurising is not
        interruptible; the slowest one so far is the estimate)."""
        import optuna

        if options in self._features or not self.feature_seconds:
            return
        if time.monotonic() + max(self.feature_seconds.values()) > self.deadline:
            raise optuna.TrialPruned("no time left to featurise with these options")

    def _featurized(self, options: FeatureOptions) -> tuple[Featurizer, Any, Any]:
        if options not in self._features:
            started = time.perf_counter()
            featurizer = Featurizer(self.data.kinds, options)
            X_train = featurizer.fit_transform(self.data.X_train)
            X_valid = featurizer.transform(self.data.X_valid)
            if len(self._features) >= 4:  # bounded memory: forget the oldest featurisation
                self._features.pop(next(iter(self._features)))
            self._features[options] = (featurizer, X_train, X_valid)
            self.feature_seconds[options] = time.perf_counter() - started
        return self._features[options]

    def _latency_ms(self, family: Any, model: Any, featurizer: Featurizer) -> float:
        """Milliseconds per row to featurise and predict a batch of validation rows."""
        rows = self.data.X_valid.head(_LATENCY_ROWS)
        started = time.perf_counter()
        family.predict(model, featurizer.transform(rows), self.data.task)
        return (time.perf_counter() - started) * 1000 / max(len(rows), 1)

    def _keep(self, number: int, fitted: TrialModel) -> None:
        """Keep the models the ensemble may choose: the best overall and each family's best."""
        self.models[number] = fitted
        ranked = sorted(
            self.models,
            key=lambda n: self.models[n].score,
            reverse=self.data.metric.direction == "maximize",
        )
        families = [self.models[n].family for n in ranked]
        kept = {ranked[i] for i in candidate_positions(families, self.keep)}
        dropped = [n for n in ranked if n not in kept]
        for other in dropped:
            del self.models[other]
        if self.save_models and self.outputs is not None:
            if number in kept:
                _save_model(self.outputs, number, fitted)
            for other in dropped:
                _model_file(self.outputs, other).unlink(missing_ok=True)


def _model_file(outputs: Path, number: int) -> Path:
    return outputs / "models" / f"{number}.pkl"


def _save_model(outputs: Path, number: int, fitted: TrialModel) -> None:
    """Written whole or not at all: a killed worker leaves no half-written model."""
    import pickle

    write_file_atomically(
        _model_file(outputs, number),
        lambda file: pickle.dump(fitted, file, protocol=pickle.HIGHEST_PROTOCOL),
    )


def saved_model(outputs: Path | None, number: int) -> TrialModel | None:
    """The model a worker process kept for trial ``number``, if it is still on disk."""
    import pickle

    if outputs is None or not _model_file(outputs, number).is_file():
        return None
    with _model_file(outputs, number).open("rb") as file:
        fitted = pickle.load(file)  # written by this run's own workers (_save_model)
    return fitted if isinstance(fitted, TrialModel) else None


def _skip_repeat(trial: Any) -> None:
    """Stop a trial whose parameters a finished trial already has: every family fits with the
    run's seed, so it would train the same model again. Samplers often repeat the best point
    of a small space, and a repeat costs as much as the trial it repeats."""
    import optuna
    from optuna.trial import TrialState

    for other in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if other.params == trial.params:
            trial.set_user_attr("repeat_of", other.number)
            raise optuna.TrialPruned(f"the same parameters as trial {other.number}")


def _reporter(trial: Any) -> Any:
    import optuna

    def report(score: float, step: int) -> None:
        trial.report(score, step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} with {score:.5g}")

    return report


def _learned(model: Any) -> dict[str, Any]:
    """What early stopping found, so a refit can repeat it."""
    if hasattr(model, "best_iteration"):
        return {"rounds": int(model.best_iteration)}
    if hasattr(model, "trees"):
        return {"trees": int(model.trees)}
    if hasattr(model, "epochs"):
        return {"epochs": int(model.epochs)}
    return {}
