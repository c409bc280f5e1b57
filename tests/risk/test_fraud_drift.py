"""FraudScorer.drift and the drift helpers: PSI of inputs and scores against the reference."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError
from furima.risk import simulate_transactions
from furima.risk._fraud import FraudScorer
from furima.risk._fraud_drift import SCORE, RecentWindow, drift_table, reference_sample


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return simulate_transactions(customers=200, terminals=400, days=40, seed=3)


@pytest.fixture(scope="module")
def scorer(transactions: pd.DataFrame) -> FraudScorer:
    past = transactions.loc[transactions["day"] < 36]
    return FraudScorer(windows_days=(1, 7), learning_rate=0.3, max_rounds=40).fit(past)


def test_reference_is_the_validation_side_inputs_and_scores(scorer: FraudScorer) -> None:
    reference = scorer.reference_
    assert list(reference.columns) == [*scorer.feature_names_, SCORE]
    assert len(reference) == min(5000, scorer.validation_.rows)
    assert np.isin(reference[SCORE], scorer.validation_scores_).all()


def test_reference_sample_is_bounded_and_seeded() -> None:
    inputs = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) * 2})
    scores = np.linspace(0, 1, 100)
    first = reference_sample(inputs, scores, seed=0, rows=10)
    assert len(first) == 10
    assert first["a"].is_monotonic_increasing  # kept in order
    np.testing.assert_array_equal(first[SCORE], scores[first["a"].astype(int)])
    pd.testing.assert_frame_equal(first, reference_sample(inputs, scores, seed=0, rows=10))
    assert len(reference_sample(inputs, scores, seed=0, rows=500)) == 100


def test_drift_is_stable_on_like_data_and_shifted_on_doubled_amounts(
    scorer: FraudScorer, transactions: pd.DataFrame
) -> None:
    recent = transactions.loc[transactions["day"] >= 36].drop(columns="is_fraud")
    table = scorer.drift(recent)
    assert list(table.columns) == [
        "feature",
        "kind",
        "psi",
        "band",
        "missing_reference",
        "missing_recent",
    ]
    assert table["feature"].tolist() == [*scorer.feature_names_, "score"]
    assert table["kind"].tolist() == ["input"] * len(scorer.feature_names_) + ["score"]
    amount = table.set_index("feature").loc["amount"]
    assert amount["psi"] < 0.05 and amount["band"] == "stable"
    inflated = scorer.drift(recent.assign(amount=recent["amount"] * 3))
    shifted = inflated.set_index("feature").loc["amount"]
    assert shifted["psi"] > 0.25 and shifted["band"] == "shifted"
    assert inflated.set_index("feature").loc["score", "psi"] > table.iloc[-1]["psi"]


def test_a_feature_that_stops_arriving_shows_as_drift() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.random(500), SCORE: rng.random(500)})
    recent = pd.DataFrame({"x": np.full(200, np.nan), SCORE: rng.random(200)})
    table = drift_table(reference, recent, ["x"]).set_index("feature")
    assert table.loc["x", "band"] == "shifted"
    assert table.loc["x", "missing_recent"] == 1.0
    assert table.loc["score", "band"] == "stable"


def test_drift_refuses_too_few_rows_and_no_reference(
    scorer: FraudScorer, transactions: pd.DataFrame, tmp_path: Path
) -> None:
    recent = transactions.loc[transactions["day"] >= 36].head(99)
    with pytest.raises(DataError, match="drift needs at least 100 recent transactions"):
        scorer.drift(recent)
    reference = scorer.reference_.iloc[:0]
    with pytest.raises(DataError, match=r"keeps no drift reference .* fit it again"):
        drift_table(reference, scorer.reference_, scorer.feature_names_)


def test_reference_survives_save_and_load(scorer: FraudScorer, tmp_path: Path) -> None:
    loaded = FraudScorer.load(scorer.save(tmp_path / "fraud"))
    pd.testing.assert_frame_equal(loaded.reference_, scorer.reference_)


def test_recent_window_keeps_the_latest_rows_in_order() -> None:
    window = RecentWindow(["a"], capacity=5)
    assert len(window) == 0
    window.add(np.arange(3.0).reshape(-1, 1), np.arange(3.0))
    window.add(np.arange(3.0, 7.0).reshape(-1, 1), np.arange(3.0, 7.0))
    assert len(window) == 5
    table = window.table()
    assert table["a"].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert table[SCORE].tolist() == table["a"].tolist()
    window.add(np.arange(10.0, 20.0).reshape(-1, 1), np.arange(10.0, 20.0))
    assert window.table()["a"].tolist() == [15.0, 16.0, 17.0, 18.0, 19.0]


def test_recent_window_is_thread_safe() -> None:
    window = RecentWindow(["a", "b"], capacity=1000)

    def add() -> None:
        for i in range(200):
            window.add(np.full((1, 2), float(i)), np.array([float(i)]))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    table = window.table()
    assert len(table) == 800
    assert sorted(table["a"].tolist()) == sorted([float(i) for i in range(200)] * 4)
    assert (table["a"] == table["b"]).all()
