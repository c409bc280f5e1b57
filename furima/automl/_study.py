"""Optuna studies: storages (resumable), samplers and pruners, chosen by name."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from furima.exceptions import RegistryError

__all__ = ["PRUNERS", "SAMPLERS", "make_pruner", "make_sampler", "open_storage"]

SAMPLERS = ("auto", "tpe", "gp", "cmaes", "nsga2", "random")
PRUNERS = ("hyperband", "asha", "median", "none")
_DATABASES = ("sqlite", "postgresql", "mysql")


def make_sampler(name: str, *, seed: int, objectives: int) -> Any:
    """TPE by default (NSGA-II with two objectives); GP, CMA-ES, NSGA-II or random by name."""
    import optuna

    if name == "auto":
        name = "nsga2" if objectives > 1 else "tpe"
    if name == "tpe":
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, n_startup_trials=8
        )
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=8)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=8, warn_independent_sampling=False
        )
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"Unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}.")


def make_pruner(name: str) -> Any:
    """Hyperband by default; successive halving (ASHA), median, or none. Each compares a trial's
    learning curve only with its own model family's, and also stops a trial that could not catch
    up with the best finished trial of any family (see ``_pruning``)."""
    import optuna

    from furima.automl._pruning import AnyOf, CannotCatchUp, FamilyHyperband, FamilyPruner

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "hyperband":
        within: Any = FamilyHyperband(min_resource=2, reduction_factor=3, brackets=3)
    elif name == "asha":
        within = FamilyPruner(lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=2))
    elif name == "median":
        within = FamilyPruner(
            lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
        )
    else:
        raise ValueError(f"Unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}.")
    return AnyOf(within, CannotCatchUp())


def open_storage(storage: str | Path | None) -> Any:
    """An Optuna storage: ``None`` in memory; a ``.journal`` file (safe against a killed
    process, shared by processes on one machine); or a database URL, checked before use."""
    import optuna

    if storage is None:
        return None
    text = str(storage)
    scheme = text.split(":", 1)[0].split("+", 1)[0] if "://" in text else ""
    if scheme in _DATABASES:
        _check_database(text)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(text, heartbeat_interval=10, grace_period=30)
    if scheme:
        raise ValueError(
            f"Study storage must be a .journal file or a database URL ({', '.join(_DATABASES)}),"
            f" not {text!r}."
        )
    from optuna.storages.journal import JournalFileBackend

    path = Path(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _check_database(url: str) -> None:
    """Reachable, and not the model registry's own database (MLflow and Optuna both keep an
    ``alembic_version`` table, so sharing one breaks both)."""
    import sqlalchemy

    from furima.registry._registry import check_reachable

    shown = url.split("@")[-1] if "@" in url else url
    try:
        check_reachable(url)
    except Exception as error:
        raise RegistryError(
            f"The study storage at {shown} cannot be reached ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}). Start the database or pass another storage."
        ) from None
    engine = sqlalchemy.create_engine(url)
    try:
        tables = set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if "registered_models" in tables:
        raise ValueError(
            f"The study storage {shown} is a model registry's (MLflow) database; give the "
            "study a database of its own."
        )
