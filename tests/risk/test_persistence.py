"""Saving and loading the risk models: open formats, equal scores, damaged folders refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, ModelFormatError, NotFittedError, SchemaError
from furima.risk._fraud import FraudScorer
from furima.risk._points import LoadedScorecard
from furima.risk._scorecard import Scorecard
from furima.risk._simulator import simulate_transactions


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return simulate_transactions(customers=150, terminals=300, days=40, seed=1)


@pytest.fixture(scope="module")
def scorer(transactions: pd.DataFrame) -> FraudScorer:
    past = transactions.loc[transactions["day"] < 34]
    return FraudScorer(windows_days=(1, 7), learning_rate=0.3, max_rounds=40).fit(past)


def test_fraud_scorer_round_trip_scores_equal(
    tmp_path: Path, transactions: pd.DataFrame, scorer: FraudScorer
) -> None:
    new = transactions.loc[transactions["day"] >= 34].head(300)
    loaded = FraudScorer.load(scorer.save(tmp_path / "fraud"))
    before, after = scorer.score(new), loaded.score(new)
    np.testing.assert_allclose(after["score"], before["score"], rtol=0, atol=1e-12)
    assert after["reasons"].tolist() == before["reasons"].tolist()
    assert loaded.validation_ == scorer.validation_
    assert loaded.feature_names_ == scorer.feature_names_
    assert loaded.cutoff_ == scorer.cutoff_
    assert loaded.cost_threshold(5.0) == scorer.cost_threshold(5.0)
    pd.testing.assert_frame_equal(loaded.history_, scorer.history_)


def test_fraud_scorer_folder_is_open_formats(tmp_path: Path, scorer: FraudScorer) -> None:
    folder = scorer.save(tmp_path / "fraud")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "booster.txt",
        "history.parquet",
        "manifest.json",
        "reference.parquet",
        "validation.npz",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "furima.fraud_scorer"
    assert manifest["settings"]["windows_days"] == [1, 7]
    assert (folder / "booster.txt").read_text().startswith("tree\n")


def test_fraud_scorer_damaged_or_foreign_folder_refused(
    tmp_path: Path, scorer: FraudScorer
) -> None:
    folder = scorer.save(tmp_path / "fraud")
    with (folder / "booster.txt").open("a") as handle:
        handle.write("\n")
    with pytest.raises(ModelFormatError, match=r"booster.txt' does not match its checksum"):
        FraudScorer.load(folder)
    (tmp_path / "other").mkdir()
    with pytest.raises(ModelFormatError, match="is not a furima fraud scorer: it has no"):
        FraudScorer.load(tmp_path / "other")


def test_failed_save_keeps_the_previous_model_and_no_half_folder(
    tmp_path: Path, scorer: FraudScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        FraudScorer().save(tmp_path / "fraud")
    assert list(tmp_path.iterdir()) == []
    folder = scorer.save(tmp_path / "fraud")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(OSError, match="disk full"):
        scorer.save(folder)
    assert len(list(tmp_path.iterdir())) == 2  # the link and its one version folder
    assert FraudScorer.load(folder).feature_names_ == scorer.feature_names_
    monkeypatch.undo()
    with pytest.raises(OSError, match="disk full"):
        monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
        scorer.save(tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()
    assert len(list(tmp_path.iterdir())) == 2


GERMAN = Path(__file__).parents[1] / "fixtures" / "german_credit_400.parquet"


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_parquet(GERMAN)


@pytest.fixture(scope="module")
def card(german: pd.DataFrame) -> Scorecard:
    monotone = {"duration_in_month": "ascending"}
    return Scorecard(target="creditability", bad_value="bad", monotonic=monotone).fit(
        german.iloc[:300]
    )


def _applicants(german: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows, with missing values and an unseen category mixed in."""
    rows = german.iloc[300:].drop(columns="creditability").copy()
    rows["credit_amount"] = rows["credit_amount"].astype(float)
    first = rows.index
    rows.loc[first[0], "credit_amount"] = np.nan
    rows.loc[first[1], "purpose"] = None
    rows.loc[first[2], "purpose"] = "space travel"
    rows.loc[first[3], "duration_in_month"] = -5
    return rows


def test_scorecard_round_trip_scores_equal(
    tmp_path: Path, german: pd.DataFrame, card: Scorecard
) -> None:
    loaded = Scorecard.load(card.save(tmp_path / "card"))
    assert isinstance(loaded, LoadedScorecard)
    applicants = _applicants(german)
    before, after = card.score(applicants), loaded.score(applicants)
    assert list(after.columns) == ["score", "probability_of_default", "reasons"]
    assert after.index.equals(before.index)
    np.testing.assert_allclose(after["score"], before["score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        after["probability_of_default"], before["probability_of_default"], rtol=0, atol=1e-9
    )
    assert after["reasons"].tolist() == before["reasons"].tolist()
    assert after.loc[applicants.index[0], "reasons"][0].startswith("Credit amount: missing")
    twins = applicants.iloc[[4, 4]].reset_index(drop=True)
    twins["purpose"] = pd.Series([None, "space travel"], dtype=object)
    scores = loaded.score(twins)["score"]
    assert scores[0] == scores[1]  # an unseen category takes the Missing bin's points
    pd.testing.assert_series_equal(loaded.information_values(), card.information_values())
    assert loaded.table()["Points"].tolist() == card.table()["Points"].tolist()
    assert loaded.binning_table("purpose")["WoE"].tolist() == (
        card.binning_table("purpose")["WoE"].iloc[:-1].tolist()
    )


def test_scorecard_folder_is_open_formats(tmp_path: Path, card: Scorecard) -> None:
    folder = card.save(tmp_path / "card")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["bins.parquet", "information_values.parquet", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "furima.scorecard"
    features = {feature["name"]: feature for feature in manifest["features"]}
    assert set(features) == set(card.features_)
    split = card._model_.binning_process_.get_binned_variable("duration_in_month").splits
    assert features["duration_in_month"]["splits"] == list(split)
    assert len(features["duration_in_month"]["points"]) == len(split) + 3  # Special, Missing
    assert ["car (new)"] in features["purpose"]["groups"]


def test_scorecard_damaged_or_foreign_folder_refused(
    tmp_path: Path, card: Scorecard, scorer: FraudScorer
) -> None:
    folder = card.save(tmp_path / "card")
    (folder / "bins.parquet").write_bytes(b"not parquet")
    with pytest.raises(ModelFormatError, match=r"bins.parquet' does not match its checksum"):
        Scorecard.load(folder)
    fraud = scorer.save(tmp_path / "fraud")
    with pytest.raises(ModelFormatError, match=r"holds a 'furima\.fraud_scorer' artifact, not a"):
        Scorecard.load(fraud)
    with pytest.raises(NotFittedError, match="not fitted"):
        Scorecard().save(tmp_path / "unfitted")
    assert not (tmp_path / "unfitted").exists()


def test_loaded_scorecard_refuses_missing_columns(tmp_path: Path, card: Scorecard) -> None:
    loaded = Scorecard.load(card.save(tmp_path / "card"))
    applicant = pd.DataFrame({f: [0] for f in card.features_ if f != "purpose"})
    with pytest.raises(SchemaError, match=r"lacks the feature column\(s\) \['purpose'\]"):
        loaded.score(applicant)


def test_manifest_without_needed_entries_refused(
    tmp_path: Path, card: Scorecard, scorer: FraudScorer
) -> None:
    for model, name in ((card, "intercept"), (scorer, "feature_names")):
        folder = model.save(tmp_path / name)
        manifest = json.loads((folder / "manifest.json").read_text())
        del manifest[name]
        (folder / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ModelFormatError, match=f"manifest \\(KeyError\\('{name}'\\)\\)"):
            type(model).load(folder)


def test_fraud_scorer_saved_before_drift_references_still_loads(
    tmp_path: Path, transactions: pd.DataFrame, scorer: FraudScorer
) -> None:
    folder = scorer.save(tmp_path / "fraud")
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in ("label_time", "families", "budget_s", "max_trials"):
        del manifest["settings"][name]
    del manifest["files"]["reference.parquet"]
    (folder / "reference.parquet").unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = FraudScorer.load(folder)
    new = transactions.loc[transactions["day"] >= 34].head(150)
    np.testing.assert_allclose(loaded.score(new)["score"], scorer.score(new)["score"], atol=1e-12)
    with pytest.raises(DataError, match="keeps no drift reference"):
        loaded.drift(new)
