"""FraudScorer(model="automl"): the AutoML engine's families on the time-ordered split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.automl import AutoMLResult
from furima.exceptions import DataError, ModelFormatError
from furima.risk import simulate_transactions
from furima.risk._fraud import FraudScorer


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return simulate_transactions(customers=200, terminals=400, days=40, seed=2)


@pytest.fixture(scope="module")
def searched(transactions: pd.DataFrame) -> FraudScorer:
    past = transactions.loc[transactions["day"] < 36]
    settings = {"families": ["lightgbm"], "budget_s": 10, "max_trials": 2}
    return FraudScorer(model="automl", windows_days=(1, 7), **settings).fit(past)


def test_automl_scores_and_measures_the_future(searched: FraudScorer) -> None:
    assert isinstance(searched.automl_, AutoMLResult)
    assert searched.automl_.columns == searched.feature_names_
    assert {m.family for m in searched.automl_.members} == {"lightgbm"}
    assert searched.automl_.trials <= 2
    validation = searched.validation_
    assert validation.best_iteration == 0
    assert validation.rows == len(searched.validation_scores_)
    # Entity features make simulated fraud easy to find: far above the fraud rate.
    assert validation.auprc > 0.3
    assert validation.auc > 0.8
    assert not searched.gives_reasons
    threshold, saving = searched.cost_threshold(review_cost=5.0)
    assert 0 < threshold < 1 and saving > 0


def test_automl_refuses_reasons_before_any_compute(
    searched: FraudScorer, transactions: pd.DataFrame
) -> None:
    new = transactions.loc[transactions["day"] >= 36].drop(columns="is_fraud")
    with pytest.raises(DataError, match=r"model \(automl\) gives no per-feature reasons; score"):
        searched.score(new.drop(columns="amount"))  # refused before the missing column
    scored = searched.score(new.head(50), reasons=False)
    assert list(scored.columns) == ["score"]
    assert scored["score"].between(0, 1).all()


def test_automl_scorer_round_trip(
    tmp_path: Path, searched: FraudScorer, transactions: pd.DataFrame
) -> None:
    new = transactions.loc[transactions["day"] >= 36].head(200)
    folder = searched.save(tmp_path / "fraud")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "automl",
        "history.parquet",
        "manifest.json",
        "reference.parquet",
        "validation.npz",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["settings"]["model"] == "automl"
    assert manifest["settings"]["families"] == ["lightgbm"]
    assert "automl/members/0.joblib" in manifest["files"]  # the subfolder is checksummed
    loaded = FraudScorer.load(folder)
    before = searched.score(new, reasons=False)["score"]
    after = loaded.score(new, reasons=False)["score"]
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-12)
    assert loaded.validation_ == searched.validation_
    assert loaded.cost_threshold(5.0) == searched.cost_threshold(5.0)
    automl_manifest = folder / "automl" / "manifest.json"
    automl_manifest.write_text(automl_manifest.read_text().replace('"weight"', '"weight" '))
    with pytest.raises(ModelFormatError, match=r"automl/manifest.json' does not match its"):
        FraudScorer.load(folder)


def test_bad_automl_settings_are_refused_before_fitting(transactions: pd.DataFrame) -> None:
    frame = transactions.head(10)  # too small to fit: the settings are refused first
    with pytest.raises(DataError, match="bad AutoML settings for model='automl': A budget of 2"):
        FraudScorer(model="automl", budget_s=2).fit(frame)
    with pytest.raises(DataError, match=r"Unknown model families \['forest'\]"):
        FraudScorer(model="automl", families=["forest"]).fit(frame)
    with pytest.raises(DataError, match="model must be 'lightgbm' or 'automl', got 'svm'"):
        FraudScorer(model="svm").fit(frame)


def test_served_automl_scorer_answers_its_smoke_requests_without_reasons(
    searched: FraudScorer,
) -> None:
    from furima.serve._task_fraud import FraudBody, _predict, _smoke, served_window

    answers = _predict(searched, _smoke(searched))
    assert [len(a["scores"]) for a in answers] == [2, 1]
    assert all(s["reasons"] == [] for a in answers for s in a["scores"])
    assert len(served_window(searched)) == 0  # smoke requests are not traffic
    asked = FraudBody.model_validate({"transactions": _smoke(searched)[0].transactions})
    with pytest.raises(DataError, match="score with reasons=False"):
        _predict(searched, [asked])
