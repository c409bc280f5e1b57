"""``AutoML``: search model families, hyperparameters, architectures and feature options on
Optuna within a time budget, then build a greedy ensemble of the best trials and refit it.

This module holds the settings and the run's outline; the row split is in ``_prepare``, the
search loop's callbacks and worker processes in ``_optimize``, and the final choice and refit
in ``_finish``."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.automl._families import FAMILIES
from furima.automl._finish import Finisher
from furima.automl._finish import why as _why  # noqa: F401 (imported from here by tests)
from furima.automl._metrics import Metric, TaskKind, metric_for
from furima.automl._objective import Objective, Prepared
from furima.automl._optimize import parallel, progress_bar, trackers
from furima.automl._optimize import trial_limit as _trial_limit
from furima.automl._prepare import Preparation
from furima.automl._result import AutoMLResult, Member
from furima.automl._study import PRUNERS, SAMPLERS, make_pruner, make_sampler, open_storage

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
        plan = Preparation(
            self.task,
            self.metric,
            self.validation,
            self.time_column,
            self.group_column,
            self.seed,
            self.n_jobs,
        )
        return plan.prepared(X, y, X_valid, y_valid)

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
        callbacks = trackers(study, self.tracking) + _trial_limit(self.max_trials)
        with progress_bar(seconds, self.metric, show=self.progress) as bar:
            callbacks.append(bar)
            if self.n_jobs == 1:
                study.optimize(objective, timeout=seconds, callbacks=callbacks, catch=(Exception,))
                return
            parallel(
                study,
                objective,
                seconds,
                callbacks,
                storage=str(self._storage_spec()),
                n_jobs=self.n_jobs,
                sampler=self.sampler,
                pruner=self.pruner,
                seed=self.seed,
                objectives=len(self.objectives),
                max_trials=self.max_trials,
            )

    # --------------------------------------------------------------------------- finish
    def _finisher(self) -> Finisher:
        return Finisher(
            self.task,
            self.metric,
            self.budget_s,
            self.ensemble_size,
            self.seed,
            self.pruner,
            self.group_column,
            self._outputs_dir(),
        )

    def _finish(
        self,
        study: Any,
        objective: Objective,
        data: Prepared,
        columns: list[str],
        classes: np.ndarray | None,
        started: float,
    ) -> AutoMLResult:
        return self._finisher().result(study, objective, data, columns, classes, started)

    def _member(
        self, trial: Any, weight: float, objective: Objective, data: Prepared, left_s: float
    ) -> Member | None:
        """One chosen trial as a final model (see ``Finisher.member``)."""
        return self._finisher().member(trial, weight, objective, data, left_s)
