"""Studies that survive: storages, resuming after a killed run, processes, MLflow tracking."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from furima.automl import AutoML
from furima.registry import ModelRegistry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def complete(storage: Path, name: str) -> int:
    import optuna

    from furima.automl._study import open_storage

    try:
        study = optuna.load_study(study_name=name, storage=open_storage(storage))
    except KeyError:  # the study is not written yet
        return 0
    return sum(t.state.name == "COMPLETE" for t in study.trials)


_KILLED_RUN = """
import sys
import pandas as pd
from furima.automl import AutoML
spam = pd.read_parquet(sys.argv[1])
AutoML("binary", "auprc", budget_s=600, storage=sys.argv[2], study_name="spam",
       families=["linear"]).fit(spam[["text"]], spam["label"].to_numpy())
"""


def test_a_killed_run_keeps_its_finished_trials_and_resumes(tmp_path: Path) -> None:
    storage = tmp_path / "study.journal"
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(FIXTURES / "sms_spam_600.parquet"), str(storage)]
    )
    try:
        deadline = time.monotonic() + 90
        while not storage.exists() or complete(storage, "spam") < 3:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
    finished = complete(storage, "spam")
    assert finished >= 3
    spam = pd.read_parquet(FIXTURES / "sms_spam_600.parquet")
    result = AutoML(
        "binary",
        "auprc",
        budget_s=10,
        max_trials=finished + 2,
        storage=storage,
        study_name="spam",
        families=["linear"],
    ).fit(spam[["text"]], spam["label"].to_numpy())
    assert complete(storage, "spam") > finished  # resumed: old trials kept, new ones added
    assert result.trials == complete(storage, "spam")


def test_two_processes_share_one_study(spam: pd.DataFrame, tmp_path: Path) -> None:
    result = AutoML(
        "binary",
        "auprc",
        budget_s=12,
        max_trials=6,
        n_jobs=2,
        workdir=tmp_path,
        families=["linear"],
    ).fit(spam[["text"]], spam["label"].to_numpy())
    assert (tmp_path / "study.journal").is_file()
    assert result.trials == complete(tmp_path / "study.journal", result.study.study_name)
    assert result.trials >= 4
    outputs = tmp_path / "outputs" / result.study.study_name
    assert len(list(outputs.glob("*.npy"))) >= result.trials  # both processes' outputs
    assert not (outputs / "models").exists()  # the worker's models, handed over and removed


def test_every_trial_is_recorded_on_mlflow(spam: pd.DataFrame, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    registry = ModelRegistry(tmp_path / "registry")
    result = AutoML(
        "binary",
        "auprc",
        budget_s=10,
        max_trials=3,
        tracking=registry,
        families=["linear"],
        study_name="sms",
    ).fit(spam[["text"]], spam["label"].to_numpy())
    client = MlflowClient(tracking_uri=registry.location.tracking_uri)
    experiment = client.get_experiment_by_name("furima-automl/sms")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    assert len(runs) == len(result.study.trials)
    best = max(runs, key=lambda r: r.data.metrics.get("score", -1))
    assert best.data.metrics["score"] == pytest.approx(result.leaderboard["score"].iloc[0])
    assert best.data.params["family"] == "linear"


@pytest.mark.parametrize("sampler", ["gp", "cmaes", "random"])
def test_other_samplers_search_too(spam: pd.DataFrame, sampler: str) -> None:
    result = AutoML(
        "binary",
        "auprc",
        budget_s=10,
        max_trials=5,
        sampler=sampler,
        families=["linear", "lightgbm"],
    ).fit(spam[["text"]], spam["label"].to_numpy())
    assert result.trials >= 3
    assert result.best_score > 0.8


def test_a_database_storage_works(spam: pd.DataFrame, postgres_database: str) -> None:
    result = AutoML(
        "binary",
        "auprc",
        budget_s=10,
        max_trials=3,
        storage=postgres_database,
        study_name="pg",
        families=["linear"],
    ).fit(spam[["text"]], spam["label"].to_numpy())
    assert result.trials >= 3
