"""Scorecard folders: the outcome (target and bad value) and the calibration travel with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.risk._scorecard import Scorecard

FIXTURE = Path(__file__).parents[1] / "fixtures" / "german_credit_400.parquet"
FEATURES = ["duration_in_month", "credit_amount", "purpose", "status_of_existing_checking_account"]


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_parquet(FIXTURE)


@pytest.fixture(scope="module")
def card(german: pd.DataFrame) -> Scorecard:
    return Scorecard("creditability", bad_value="bad", features=FEATURES).fit(german.iloc[:300])


def test_loaded_card_names_its_outcome_and_scores_alike(
    tmp_path: Path, german: pd.DataFrame, card: Scorecard
) -> None:
    folder = card.save(tmp_path / "card")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["settings"]["bad_value"] == "bad"
    assert manifest["calibration"]["slope"] == pytest.approx(card.calibration_.slope)
    loaded = Scorecard.load(folder)
    assert (loaded.target, loaded.bad_value) == ("creditability", "bad")
    rows = german.iloc[300:].copy()
    rows["purpose"] = rows["purpose"].where(rows.index % 7 != 0, "space travel")
    before, after = card.score(rows), loaded.score(rows)
    np.testing.assert_allclose(after["score"], before["score"], rtol=0, atol=1e-9)
    assert after["reasons"].tolist() == before["reasons"].tolist()
    assert any("not seen in training" in r[0] for r in after["reasons"])


def test_numeric_bad_value_round_trips_as_a_number(tmp_path: Path, german: pd.DataFrame) -> None:
    frame = german[[*FEATURES[:2], "creditability"]].assign(
        creditability=(german["creditability"] == "bad").astype(np.int64)
    )
    card = Scorecard("creditability", bad_value=np.int64(1), features=FEATURES[:2]).fit(frame)
    loaded = Scorecard.load(card.save(tmp_path / "numeric"))
    assert loaded.bad_value == 1 and isinstance(loaded.bad_value, int)


def test_folder_without_bad_value_still_loads(tmp_path: Path, card: Scorecard) -> None:
    folder = card.save(tmp_path / "old")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["settings"]["bad_value"], manifest["calibration"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = Scorecard.load(folder)
    assert loaded.target == "creditability" and loaded.bad_value is None
