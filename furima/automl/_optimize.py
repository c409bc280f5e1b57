"""The search loop's parts: the callbacks run after each trial (MLflow tracking, the trial
limit, the progress bar) and the optimisation of one study by ``n_jobs`` processes sharing a
storage. Apart from ``AutoML`` so that worker processes import only what they run."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from furima.automl._metrics import Metric
from furima.automl._objective import Objective
from furima.automl._study import make_pruner, make_sampler, open_storage
from furima.automl._trials import best_value

__all__ = ["parallel", "progress_bar", "trackers", "trial_limit"]


def trackers(study: Any, tracking: Any) -> list[Any]:
    """An MLflow callback recording every trial, when ``tracking`` is given."""
    if tracking is None:
        return []
    from furima.automl._tracking import TrialTracker

    uri = getattr(getattr(tracking, "location", None), "tracking_uri", None)
    return [TrialTracker(str(uri or tracking), study.study_name)]


@contextlib.contextmanager
def progress_bar(seconds: float, metric: Metric, *, show: bool) -> Iterator[Any]:
    """A callback updating a progress bar with the best score so far (a no-op unless
    ``show``)."""
    if not show:
        yield lambda study, trial: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    started = time.monotonic()
    columns = [TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()]
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("searching", total=seconds)

        def update(study: Any, trial: Any) -> None:
            done = [t for t in study.trials if t.state.name == "COMPLETE"]
            best = best_value(study, metric) if done else None
            shown = f"best {metric.name} {best:.5g}" if best is not None else "no model yet"
            progress.update(
                task,
                completed=min(time.monotonic() - started, seconds),
                description=f"{len(study.trials)} trials, {shown}",
            )

        yield update


def trial_limit(max_trials: int | None) -> list[Any]:
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


def parallel(
    study: Any,
    objective: Objective,
    seconds: float,
    callbacks: list[Any],
    *,
    storage: str,
    n_jobs: int,
    sampler: str,
    pruner: str,
    seed: int,
    objectives: int,
    max_trials: int | None,
) -> None:
    """``n_jobs`` processes optimise the same study (shared storage); this one included."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n_jobs - 1, mp_context=context) as pool:
        futures = [
            pool.submit(
                _worker,
                storage,
                study.study_name,
                objective,
                seconds,
                sampler,
                pruner,
                seed + 1 + i,
                objectives,
                max_trials,
            )
            for i in range(n_jobs - 1)
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
            callbacks=trial_limit(max_trials),
            catch=(Exception,),
        )
