"""An AutoML winner saved, loaded, registered and served over HTTP from the registry."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from furima.automl import AutoML, AutoMLResult
from furima.exceptions import DataError, ModelFormatError
from furima.registry import ModelRegistry
from furima.serve import ServeSettings, create_app, running_server


@pytest.fixture(scope="module")
def fraud_model(cards: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    features = cards.drop(columns=["Class"])
    result = AutoML(
        "binary",
        "auprc",
        budget_s=10,
        max_trials=6,
        time_column="Time",
        families=["linear", "lightgbm"],
    ).fit(features, cards["Class"].to_numpy())
    return result.save(tmp_path_factory.mktemp("saved") / "fraud")


def test_a_saved_result_predicts_as_before_and_keeps_its_choice(
    spam: pd.DataFrame, tmp_path: Path
) -> None:
    result = AutoML("binary", "auprc", budget_s=10, max_trials=4, families=["linear"]).fit(
        spam[["text"]], spam["label"].to_numpy()
    )
    result.members[0].refit = True  # whatever the 10 s budget allowed: the flag round-trips
    loaded = AutoMLResult.load(result.save(tmp_path / "spam"))
    assert loaded.members[0].refit
    rows = spam[["text"]].head(50)
    assert np.allclose(loaded.predict_proba(rows), result.predict_proba(rows))
    assert list(loaded.predict(rows)) == list(result.predict(rows))
    assert loaded.chosen["why"] == result.chosen["why"]
    assert loaded.best_score == pytest.approx(result.best_score)
    assert loaded.classes is not None and list(loaded.classes) == ["ham", "spam"]
    assert len(loaded.examples) == 3 and set(loaded.examples[0]) == {"text"}
    assert len(loaded.data_fingerprint or "") == 64
    with pytest.raises(DataError, match=r"lack the column.*text"):
        loaded.predict(pd.DataFrame({"body": ["hello"]}))
    with pytest.raises(ValueError, match="no study to report on"):
        loaded.report(tmp_path / "report.html")


def test_a_damaged_or_foreign_save_is_refused_with_the_reason(
    fraud_model: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(fraud_model, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())
    member = copy / "members" / "0.joblib"
    whole = member.read_bytes()
    member.write_bytes(whole[:-10])
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        AutoMLResult.load(copy)
    member.write_bytes(whole)
    manifest["versions"]["scikit-learn"] = "0.24.2"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"scikit-learn 0\.24\.2 \(installed: 1"):
        AutoMLResult.load(copy)


def test_the_registered_winner_is_served_under_its_name(fraud_model: Path, tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    version = registry.log_model(fraud_model, task="card-fraud", alias="champion")
    assert version.format == "furima.automl_model"
    assert version.metrics["valid_auprc"] > 0.5
    with pytest.raises(ValueError, match=r"'price' holds furima\.price_model models"):
        registry.log_model(fraud_model, task="price")
    with pytest.raises(ModelFormatError, match="pass task= explicitly"):
        registry.log_model(fraud_model)

    row = pd.read_parquet(Path(__file__).parents[1] / "fixtures" / "creditcard_2000.parquet")
    fraud = row[row["Class"] == 1].drop(columns=["Class", "Time"]).iloc[0].to_dict()
    settings = ServeSettings(poll_seconds=0.1)
    with (
        running_server(create_app(settings, registry=registry)) as url,
        httpx.Client(base_url=url) as client,
    ):
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.05)
        answer = client.post("/v1/card-fraud:predict", json={"features": fraud, "listing_id": "t1"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["prediction"] in (0, 1)
        assert set(body["probabilities"]) == {"0", "1"}
        assert sum(body["probabilities"].values()) == pytest.approx(1.0)
        assert body["model"] == {"task": "card-fraud", "version": 1, "route": "champion"}

        missing = client.post("/v1/card-fraud:predict", json={"features": {"V1": 0.5}})
        assert missing.status_code == 422
        assert "features lacks V2" in missing.text
        not_a_number = client.post(
            "/v1/card-fraud:predict", json={"features": {**fraud, "Amount": "lots"}}
        )
        assert not_a_number.status_code == 422
        assert "features['Amount'] must be a number or null; got 'lots'" in not_a_number.text
        assert "/v1/card-fraud:predict" in client.get("/openapi.json").json()["paths"]
