"""``AutoML``: search model families, hyperparameters, architectures and feature options on
Optuna within a time budget, then build a greedy ensemble of the best trials and refit it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.automl._ensemble import PER_FAMILY, candidate_positions, greedy_ensemble
from furima.automl._families import FAMILIES, FitData
from furima.automl._features import Featurizer, checked_columns
from furima.automl._metrics import Metric, TaskKind, metric_for
from furima.automl._objective import Objective, Prepared, saved_model
from furima.automl._result import AutoMLResult, Member
from furima.automl._study import PRUNERS, SAMPLERS, make_pruner, make_sampler, open_storage
from furima.exceptions import DataError

if TYPE_CHECKING:
    import optuna

__all__ = ["AutoML"]

MIN_BUDGET_S = 10.0
_SEARCH_SHARE = 0.8  # of the budget; the rest is for the ensemble and the final refit
_DEFAULT_FEATURES = {"text_features": 30_000, "word_ngrams": 2, "char_ngrams": False}
# Starting points tried before the sampler explores: each family's usual defaults.
_SEEDED_TRIALS: dict[str, dict[str, Any]] = {
    "linear": {},
    "lightgbm": {
        "lgb_num_leaves": 31,
        "lgb_learning_rate": 0.05,
        "lgb_min_child_samples": 20,
        "lgb_feature_fraction": 0.8,
        "lgb_bagging_fraction": 0.9,
        "lgb_lambda_l2": 1e-3,
        "lgb_min_sum_hessian": 1.0,
    },
    "extra_trees": {"et_max_features": "sqrt", "et_min_samples_leaf": 1, "et_balanced": False},
}


class AutoML:
    """Automatic model creation for regression, classification and ranking tables.

    Args:
        task: ``"regression"``, ``"binary"``, ``"multiclass"`` or ``"ranking"``.
        metric: e.g. ``"rmsle"``, ``"rmse"``, ``"auprc"``, ``"auc"``, ``"f1"``, ``"accuracy"``,
            ``"ndcg@10"`` (default per task: rmse, auprc, accuracy, ndcg@10).
        budget_s: Wall-clock seconds for the whole run (search, ensemble, refit).
        max_trials: Stop the search after this many trials (in all processes), even with
            budget left. A trial skipped because a finished trial has its settings does not
            count.
        families: Model families to search (default: all of ``linear``, ``lightgbm``,
            ``extra_trees``, ``mlp``).
        sampler: ``auto`` (TPE; NSGA-II with two objectives), ``tpe``, ``gp``, ``cmaes``,
            ``nsga2`` or ``random``.
        pruner: ``hyperband`` (default), ``asha``, ``median`` or ``none``.
        objectives: ``("score",)``, or ``("score", "latency")`` to trade quality against
            prediction time per row (a Pareto front; pruning is off then).
        storage: ``None`` (in memory), a ``.journal`` file or a database URL; with a storage a
            killed run resumes where it stopped when fitted again with the same ``study_name``.
        study_name: Name of the study in ``storage``.
        workdir: Where validation outputs of trials are kept (needed to ensemble trials of
            other processes or of an earlier, interrupted run).
        n_jobs: Processes searching in parallel (one machine; more machines share a database
            storage and run the same fit).
        tracking: Record every trial on MLflow: a :class:`~furima.registry.ModelRegistry`, or
            a tracking URI.
        validation: Share of rows held out for validation when no validation set is given.
        time_column: Split by time instead: the latest rows are held out.
        group_column: Ranking: the column naming each row's query (search, user session);
            a query's rows are ranked together and held out together.
        seed: Random seed.
        ensemble_size: The ensemble is chosen from this many best trials and each family's
            best two (models that err differently blend best).
        warm_start: Try each family's usual defaults first, before the sampler explores.
        progress: Show a progress bar with the best score so far.
    """

    def __init__(
        self,
        task: TaskKind,
        metric: str | None = None,
        *,
        budget_s: float = 300.0,
        max_trials: int | None = None,
        families: Sequence[str] | None = None,
        sampler: str | optuna.samplers.BaseSampler = "auto",
        pruner: str = "hyperband",
        objectives: Sequence[str] = ("score",),
        storage: str | Path | None = None,
        study_name: str | None = None,
        workdir: str | Path | None = None,
        n_jobs: int = 1,
        tracking: Any = None,
        validation: float = 0.2,
        time_column: str | None = None,
        group_column: str | None = None,
        seed: int = 0,
        ensemble_size: int = 10,
        warm_start: bool = True,
        progress: bool = False,
    ) -> None:
        self.metric: Metric = metric_for(task, metric)
        self.task: TaskKind = task
        self.budget_s = float(budget_s)
        self.max_trials = max_trials
        self.families = tuple(families or FAMILIES)
        self.sampler = sampler
        self.pruner = pruner
        self.objectives = tuple(objectives)
        self.storage = storage
        self.study_name = study_name or f"furima-{task}-{self.metric.name}"
        self.workdir = Path(workdir) if workdir else None
        self.n_jobs = n_jobs
        self.tracking = tracking
        self.validation = validation
        self.time_column = time_column
        self.group_column = group_column
        self.seed = seed
        self.ensemble_size = ensemble_size
        self.warm_start = warm_start
        self.progress = progress
        self._check()

    def _check(self) -> None:
        if self.budget_s < MIN_BUDGET_S:
            raise ValueError(
                f"A budget of {self.budget_s:g} s is too small to fit and check even one model; "
                f"give at least {MIN_BUDGET_S:g} s."
            )
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown or not self.families:
            raise ValueError(
                f"Unknown model families {unknown}; choose from {', '.join(FAMILIES)}."
            )
        named = isinstance(self.sampler, str)
        if (named and self.sampler not in SAMPLERS) or self.pruner not in PRUNERS:
            raise ValueError(
                f"sampler must be one of {', '.join(SAMPLERS)} and pruner one of "
                f"{', '.join(PRUNERS)}; got {self.sampler!r} and {self.pruner!r}."
            )
        if not named and not hasattr(self.sampler, "sample_independent"):
            raise ValueError(
                f"sampler must be a name or an Optuna sampler, got {type(self.sampler).__name__}."
            )
        if not named and self.n_jobs > 1:
            raise ValueError(
                "A sampler object serves one process; with n_jobs > 1 name it (e.g. 'tpe') "
                "so that each process builds its own."
            )
        if self.objectives not in (("score",), ("score", "latency")):
            raise ValueError("objectives must be ('score',) or ('score', 'latency').")
        if (self.task == "ranking") != (self.group_column is not None):
            raise ValueError(
                "A ranking task needs group_column= (the query of each row), and only a "
                "ranking task takes one."
            )
        if self.max_trials is not None and self.max_trials < 1:
            raise ValueError(f"max_trials must be at least 1, not {self.max_trials}.")
        if self.n_jobs < 1 or not 0.05 <= self.validation <= 0.5:
            raise ValueError("n_jobs must be >= 1 and validation between 0.05 and 0.5.")

    # ------------------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        X_valid: pd.DataFrame | None = None,
        y_valid: Any = None,
    ) -> AutoMLResult:
        """Search within the budget and return the chosen, refit model."""
        started = time.monotonic()
        storage = open_storage(self._storage_spec())  # an unreachable database fails here
        data, columns, classes = self._prepared(X, y, X_valid, y_valid)
        study = self._study(storage)
        if self.warm_start and not study.trials:
            self._seed_trials(study, data)
        outputs = self._outputs_dir()
        objective = Objective(
            data, self.families, len(self.objectives) > 1, outputs, keep=self.ensemble_size
        )
        search_s = max(self.budget_s * _SEARCH_SHARE - (time.monotonic() - started), 1.0)
        objective.deadline = time.monotonic() + search_s
        self._search(study, objective, search_s)
        try:
            return self._finish(study, objective, data, columns, classes, started)
        finally:
            if outputs is not None:  # the workers' models are in the result now, or unused
                shutil.rmtree(outputs / "models", ignore_errors=True)

    def _seed_trials(self, study: Any, data: Prepared) -> None:
        """Cheap, strong starting points; extra trees only on all-numeric tables, where
        they are fast (on wide text features boosting and linear models do better)."""
        for family, params in _SEEDED_TRIALS.items():
            if family not in self.families:
                continue
            if family == "extra_trees" and data.kinds.has_sparse:
                continue
            study.enqueue_trial({"family": family, **params, **_DEFAULT_FEATURES})

    def _storage_spec(self) -> str | Path | None:
        if self.storage is None and self.n_jobs > 1:
            folder = self.workdir or Path(tempfile.mkdtemp(prefix="furima-automl-"))
            self.workdir = folder
            return folder / "study.journal"
        return self.storage

    def _outputs_dir(self) -> Path | None:
        if self.workdir is None:
            return None
        return self.workdir / "outputs" / self.study_name

    def _prepared(
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
        target, classes = _encoded_target(self.task, self.metric, y_all)
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

    def _study(self, storage: Any) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        directions = [self.metric.direction] + (["minimize"] if len(self.objectives) > 1 else [])
        return optuna.create_study(
            study_name=self.study_name,
            storage=storage,
            sampler=(
                make_sampler(self.sampler, seed=self.seed, objectives=len(directions))
                if isinstance(self.sampler, str)
                else self.sampler
            ),
            pruner=make_pruner(self.pruner),
            directions=directions,
            load_if_exists=True,
        )

    # --------------------------------------------------------------------------- search
    def _search(self, study: Any, objective: Objective, seconds: float) -> None:
        callbacks = self._trackers(study) + _trial_limit(self.max_trials)
        with self._progress_bar(seconds) as bar:
            callbacks.append(bar)
            if self.n_jobs == 1:
                study.optimize(objective, timeout=seconds, callbacks=callbacks, catch=(Exception,))
                return
            _parallel(study, objective, seconds, self, callbacks)

    def _trackers(self, study: Any) -> list[Any]:
        if self.tracking is None:
            return []
        from furima.automl._tracking import TrialTracker

        uri = getattr(getattr(self.tracking, "location", None), "tracking_uri", None)
        return [TrialTracker(str(uri or self.tracking), study.study_name)]

    @contextlib.contextmanager
    def _progress_bar(self, seconds: float) -> Iterator[Any]:
        if not self.progress:
            yield lambda study, trial: None
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        started = time.monotonic()
        columns = [TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()]
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("searching", total=seconds)

            def update(study: Any, trial: Any) -> None:
                done = [t for t in study.trials if t.state.name == "COMPLETE"]
                best = _best_value(study, self.metric) if done else None
                shown = (
                    f"best {self.metric.name} {best:.5g}" if best is not None else "no model yet"
                )
                progress.update(
                    task,
                    completed=min(time.monotonic() - started, seconds),
                    description=f"{len(study.trials)} trials, {shown}",
                )

            yield update

    # --------------------------------------------------------------------------- finish
    def _finish(
        self,
        study: Any,
        objective: Objective,
        data: Prepared,
        columns: list[str],
        classes: np.ndarray | None,
        started: float,
    ) -> AutoMLResult:
        complete = _ranked(study, self.metric)
        if not complete:
            failed = [t for t in study.trials if t.state.name == "FAIL"]
            reason = f" ({len(failed)} failed)" if failed else ""
            raise DataError(
                f"No model finished within the budget of {self.budget_s:g} s{reason}; give a "
                "larger budget or fewer rows."
            )
        chosen_trials, ensemble_score = self._ensemble(complete, objective, data)
        members = self._members(chosen_trials, complete, objective, data, started)
        if {m.trial for m in members} != {t.number for t, _ in chosen_trials}:  # see _members
            ensemble_score = self._rescored(members, objective, data, ensemble_score)
        why = _why(
            self.metric.name,
            self.ensemble_size,
            chosen_trials,
            complete[0],
            members,
            ensemble_score,
            len(data.y_valid),
        )
        best_single = _score(complete[0])
        chosen = self._chosen(study, members, ensemble_score, best_single, why, started, data)
        return AutoMLResult(
            task=self.task,
            metric=self.metric,
            members=members,
            leaderboard=_leaderboard(complete),
            chosen=chosen,
            study=study,
            columns=columns,
            classes=classes,
            trials=len(complete),
            examples=_examples(data.X_valid),
            data_fingerprint=_fingerprint(data),
            group_column=self.group_column,
        )

    def _ensemble(
        self, complete: list[Any], objective: Objective, data: Prepared
    ) -> tuple[list[tuple[Any, float]], float]:
        """Greedy selection over the best trials and each family's best, among those whose
        validation outputs are at hand (this run's, or kept in ``workdir``); the best trial
        alone when it beats them all."""
        usable = [(t, self._output(objective, t.number)) for t in complete]
        at_hand = [(t, o) for t, o in usable if o is not None]
        families = [t.user_attrs["family"] for t, _ in at_hand]
        found = [at_hand[i] for i in candidate_positions(families, self.ensemble_size)]
        if not found:
            return [(complete[0], 1.0)], _score(complete[0])
        weights, score = greedy_ensemble([o for _, o in found], data.y_valid, data.metric)
        if self.metric.better(_score(complete[0]), score):
            return [(complete[0], 1.0)], _score(complete[0])
        return [(t, float(w)) for (t, _), w in zip(found, weights, strict=True) if w > 0], score

    def _output(self, objective: Objective, number: int) -> np.ndarray | None:
        if number in objective.models:
            return objective.models[number].valid_output
        folder = self._outputs_dir()
        if folder is not None and (folder / f"{number}.npy").is_file():
            return np.asarray(np.load(folder / f"{number}.npy"))
        return None

    def _members(
        self,
        chosen: list[tuple[Any, float]],
        complete: list[Any],
        objective: Objective,
        data: Prepared,
        started: float,
    ) -> list[Member]:
        """The chosen trials as final models, within what is left of the budget; a trial of
        another process that cannot be refit in time is left out (weights renormalised)."""
        members = []
        for trial, weight in chosen:
            left = self.budget_s - (time.monotonic() - started)
            member = self._member(trial, weight, objective, data, left)
            if member is not None:
                members.append(member)
        if not members:  # nothing fits the time left: this process's best, or refit the best
            trial = next((t for t in complete if t.number in objective.models), complete[0])
            left = 0.0 if trial.number in objective.models else float("inf")
            member = self._member(trial, 1.0, objective, data, left)
            assert member is not None
            members = [member]
        total = sum(m.weight for m in members)
        for member in members:
            member.weight /= total
        return members

    def _rescored(
        self, members: list[Member], objective: Objective, data: Prepared, fallback: float
    ) -> float:
        blended: np.ndarray | None = None
        for member in members:
            output = self._output(objective, member.trial)
            if output is None:
                return fallback
            part = member.weight * output
            blended = part if blended is None else blended + part
        return fallback if blended is None else data.metric.score(data.y_valid, blended)

    def _member(
        self, trial: Any, weight: float, objective: Objective, data: Prepared, left_s: float
    ) -> Member | None:
        """Refit on training and validation rows when time allows, else keep the trial's
        model (trained on the training rows); ``None`` when neither is possible."""
        params = dict(trial.user_attrs.get("model_params") or {})
        family = trial.user_attrs["family"]
        fit_s = float(trial.user_attrs.get("fit_s", 0.0))
        kept = objective.models.get(trial.number) or saved_model(self._outputs_dir(), trial.number)
        seen = max(objective.feature_seconds.values(), default=0.0)
        features_s = objective.feature_seconds.get(kept.options, seen) if kept else seen
        if (fit_s + features_s) * 1.3 + 1 > left_s:
            if kept is None:
                return None
            return Member(trial.number, family, float(weight), params, kept.featurizer, kept.model)
        options = kept.options if kept is not None else _options(trial)
        X_all = pd.concat([data.X_train, data.X_valid], ignore_index=True)
        y_all = np.concatenate([data.y_train, data.y_valid])
        groups = None
        if data.groups_train is not None and data.groups_valid is not None:
            groups = np.concatenate([data.groups_train, data.groups_valid])
            order = np.argsort(groups, kind="stable")  # each query's rows together again
            X_all, y_all, groups = (
                X_all.iloc[order].reset_index(drop=True),
                y_all[order],
                groups[order],
            )
        featurizer = Featurizer(data.kinds, options)
        features = featurizer.fit_transform(X_all)
        scale = len(X_all) / max(len(data.X_train), 1)
        if "rounds" in params:
            params["rounds"] = max(1, round(params["rounds"] * scale))
        refit = FitData(
            self.task,
            self.metric,
            features,
            y_all,
            None,
            data.y_valid,
            data.n_classes,
            self.seed,
            data.threads,
            groups_train=groups,
        )
        model = FAMILIES[family].fit(params, refit)
        return Member(trial.number, family, float(weight), params, featurizer, model, refit=True)

    def _chosen(
        self,
        study: Any,
        members: list[Member],
        ensemble_score: float,
        best_single: float,
        why: str,
        started: float,
        data: Prepared,
    ) -> dict[str, Any]:
        states = [t.state.name for t in study.trials]
        name = self.metric.name
        return {
            "task": self.task,
            "metric": name,
            "direction": self.metric.direction,
            "members": [
                {
                    "trial": m.trial,
                    "family": m.family,
                    "weight": round(m.weight, 4),
                    "refit": m.refit,
                }
                for m in members
            ],
            "ensemble_score": ensemble_score,
            "best_single_score": best_single,
            "why": why,
            "budget_s": self.budget_s,
            "elapsed_s": round(time.monotonic() - started, 1),
            "trials": len(states),
            "pruned": states.count("PRUNED"),
            "repeats": sum("repeat_of" in t.user_attrs for t in study.trials),
            "failed": states.count("FAIL"),
            "sampler": type(study.sampler).__name__,
            "pruner": self.pruner,
            "rows": len(data.y_train) + len(data.y_valid),
        }


def _why(
    metric: str,
    ensemble_size: int,
    chosen: list[tuple[Any, float]],
    best: Any,
    members: list[Member],
    score: float,
    rows: int,
) -> str:
    """Why the final model (validation ``score`` on ``rows`` rows) is what it is, naming chosen
    trials that had to be left out."""
    best_value = _score(best)
    best_score = f"{metric} {best_value:.5g}"
    if len(members) > 1:
        why = (
            f"Greedy ensemble selection over the {ensemble_size} best trials and each "
            f"family's best {PER_FAMILY} improved {metric} "
            f"from {best_value:.5g} (best single trial) to {score:.5g} on the {rows:,} "
            f"validation rows, with {len(members)} models."
        )
    elif members[0].trial == best.number:
        why = (
            f"The best trial ({members[0].family}, {best_score} on the {rows:,} validation "
            "rows) alone: no ensemble of the best trials scored better."
        )
    else:
        why = (
            f"Trial {members[0].trial} ({members[0].family}, {metric} {score:.5g} on the "
            f"{rows:,} validation rows) alone, in place of the best trial {best.number} "
            f"({best.user_attrs.get('family')}, {best_score})."
        )
    kept = {m.trial for m in members}
    left_out = [t for t, _ in chosen if t.number not in kept]
    if left_out:
        named = ", ".join(f"{t.number} ({t.user_attrs.get('family')})" for t in left_out)
        why += (
            f" Chosen but left out: trial {named}, trained in another process and too slow to "
            "refit in the time left."
        )
    return why


def _encoded_target(
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


def _examples(X: pd.DataFrame, count: int = 3) -> list[dict[str, Any]]:
    """A few raw rows as JSON values (missing as null): smoke requests for servers."""
    import json

    rows: list[dict[str, Any]] = json.loads(X.head(count).to_json(orient="records"))
    return rows


def _fingerprint(data: Prepared) -> str:
    from furima.catalog import fingerprint

    X = pd.concat([data.X_train, data.X_valid], ignore_index=True)
    target = pd.Series(np.concatenate([data.y_train, data.y_valid]), name="__target__")
    return fingerprint(pd.concat([X, target], axis=1))


def _score(trial: Any) -> float:
    return float(trial.values[0])


def _ranked(study: Any, metric: Metric) -> list[Any]:
    complete = [t for t in study.trials if t.state.name == "COMPLETE" and t.values]
    return sorted(complete, key=_score, reverse=metric.direction == "maximize")


def _best_value(study: Any, metric: Metric) -> float | None:
    ranked = _ranked(study, metric)
    return _score(ranked[0]) if ranked else None


def _leaderboard(trials: list[Any]) -> pd.DataFrame:
    rows = [
        {
            "rank": rank,
            "trial": t.number,
            "family": t.user_attrs.get("family", t.params.get("family")),
            "score": _score(t),
            "fit_s": t.user_attrs.get("fit_s"),
            "predict_ms": t.user_attrs.get("predict_ms"),
            "params": dict(t.params),
        }
        for rank, t in enumerate(trials, start=1)
    ]
    return pd.DataFrame(rows)


def _options(trial: Any) -> Any:
    from furima.automl._features import FeatureOptions

    names = ("text_features", "word_ngrams", "char_ngrams", "min_category_count")
    return FeatureOptions(**{n: trial.params[n] for n in names if n in trial.params})


def _trial_limit(max_trials: int | None) -> list[Any]:
    """A callback stopping every process's search once the study has ``max_trials``."""
    return [] if max_trials is None else [_TrialLimit(max_trials)]


class _TrialLimit:
    """Stops the search once ``limit`` trials have been tried; a skipped repeat of a finished
    trial's settings trained nothing, so it does not count, unless there are ``limit`` of
    them: then the sampler keeps coming back to known settings and the space is spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, study: Any, trial: Any) -> None:
        trials = [t for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING"]
        repeats = sum("repeat_of" in t.user_attrs for t in trials)
        if len(trials) - repeats >= self.limit or repeats >= self.limit:
            study.stop()


def _parallel(
    study: Any, objective: Objective, seconds: float, automl: AutoML, callbacks: list[Any]
) -> None:
    """``n_jobs`` processes optimise the same study (shared storage); this one included."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    spec = str(automl._storage_spec())
    with ProcessPoolExecutor(automl.n_jobs - 1, mp_context=context) as pool:
        futures = [
            pool.submit(
                _worker,
                spec,
                study.study_name,
                objective,
                seconds,
                automl.sampler,
                automl.pruner,
                automl.seed + 1 + i,
                len(automl.objectives),
                automl.max_trials,
            )
            for i in range(automl.n_jobs - 1)
        ]
        study.optimize(objective, timeout=seconds, callbacks=callbacks, catch=(Exception,))
        for future in futures:
            future.result()


def _worker(
    storage: str,
    study_name: str,
    objective: Objective,
    seconds: float,
    sampler: str,
    pruner: str,
    seed: int,
    objectives: int,
    max_trials: int | None,
) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage),
        sampler=make_sampler(sampler, seed=seed, objectives=objectives),
        pruner=make_pruner(pruner),
    )
    objective.save_models = True  # this process's models die with it: hand them over on disk
    left = objective.deadline - time.monotonic()  # the same clock in every process
    if left > 0:
        study.optimize(
            objective,
            timeout=min(seconds, left),
            callbacks=_trial_limit(max_trials),
            catch=(Exception,),
        )
