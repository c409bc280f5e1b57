"""FraudScorer.remember: scored payments join the kept history, once each, within reach."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError, NotFittedError, SchemaError
from furima.risk import FraudScorer, simulate_transactions

COLUMNS = ["timestamp", "amount", "customer_id", "terminal_id"]
NEW_CARD, NEW_TERMINAL = 10**6, 10**7  # never seen in the simulation


@pytest.fixture(scope="module")
def payments() -> pd.DataFrame:
    return simulate_transactions(customers=300, terminals=600, days=40, seed=0)


@pytest.fixture(scope="module")
def saved(payments: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("memory") / "fraud"
    return FraudScorer(max_rounds=60).fit(payments).save(folder)


@pytest.fixture
def scorer(saved: Path) -> FraudScorer:
    """A fresh copy per test: remembering changes the scorer."""
    return FraudScorer.load(saved)


def later(payments: pd.DataFrame, days: float = 1.0, rows: int = 50) -> pd.DataFrame:
    """The last ``rows`` payments again, ``days`` later."""
    recent = payments.tail(rows)[COLUMNS].reset_index(drop=True)
    return recent.assign(timestamp=recent["timestamp"] + pd.Timedelta(days=days))


def new_card_payment(payments: pd.DataFrame, hours: float, amount: float = 20.0) -> pd.DataFrame:
    moment = payments["timestamp"].max() + pd.Timedelta(days=1, hours=hours)
    return pd.DataFrame(
        {
            "timestamp": [moment],
            "amount": [amount],
            "customer_id": [NEW_CARD],
            "terminal_id": [NEW_TERMINAL],
        }
    )


def feature(scorer: FraudScorer, frame: pd.DataFrame, name: str) -> np.ndarray:
    _, _, inputs = scorer.score_rows(frame, reasons=False)
    return inputs[:, scorer.feature_names_.index(name)]


def test_a_card_paying_again_counts_what_was_remembered(
    scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    counts, terminal_counts, since, sums = [], [], [], []
    for hour in range(3):
        payment = new_card_payment(payments, hours=hour, amount=10.0 * (hour + 1))
        counts.append(feature(scorer, payment, "customer_id_count_1d")[0])
        terminal_counts.append(feature(scorer, payment, "terminal_id_count_1d")[0])
        since.append(feature(scorer, payment, "customer_id_seconds_since_last")[0])
        sums.append(feature(scorer, payment, "customer_id_amount_sum_7d")[0])
        assert scorer.remember(payment) == 1
    assert counts == [0.0, 1.0, 2.0]
    assert terminal_counts == [0.0, 1.0, 2.0]
    assert np.isnan(since[0]) and since[1:] == [3600.0, 3600.0]
    assert sums == [0.0, 10.0, 30.0]


def test_remembered_rows_carry_unknown_labels_unless_given(
    scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    kept = scorer.history_
    assert scorer.remember(new_card_payment(payments, hours=0)) == 1
    labelled = new_card_payment(payments, hours=1).assign(is_fraud=[1])
    assert scorer.remember(labelled) == 1
    history = scorer.history_
    reach = pd.Timedelta(days=30 + 7)  # the longest window and the label delay
    in_reach = kept["timestamp"] >= history["timestamp"].max() - reach
    assert len(history) == int(in_reach.sum()) + 2  # a day later: the oldest day dropped
    assert np.isnan(history["is_fraud"].iloc[-2]) and history["is_fraud"].iloc[-1] == 1.0
    assert history["customer_id"].iloc[-1] == NEW_CARD
    assert history["timestamp"].dtype == payments["timestamp"].dtype


def test_a_retried_payment_is_counted_once(scorer: FraudScorer, payments: pd.DataFrame) -> None:
    first = new_card_payment(payments, hours=0)
    assert scorer.remember(first) == 1
    assert scorer.remember(first) == 0  # the retry
    twice = pd.concat([new_card_payment(payments, hours=1)] * 2, ignore_index=True)
    assert scorer.remember(twice) == 1  # a batch repeating itself
    fitted = later(payments, days=0, rows=5)  # rows the fit already kept
    assert scorer.remember(fitted) == 0
    count = feature(scorer, new_card_payment(payments, hours=2), "customer_id_count_1d")
    assert count[0] == 2.0


def test_remembering_later_payments_leaves_earlier_scores_alone(
    scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    earlier = later(payments, days=1)
    before = scorer.score(earlier)
    assert scorer.remember(later(payments, days=2)) == 50
    after = scorer.score(earlier)
    assert np.array_equal(before["score"].to_numpy(), after["score"].to_numpy())
    assert before["reasons"].tolist() == after["reasons"].tolist()


def test_rescoring_a_remembered_payment_gives_the_same_score(
    scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    batch = later(payments, days=1)
    first = scorer.score(batch, reasons=False)["score"].to_numpy()
    scorer.remember(batch)
    assert np.array_equal(first, scorer.score(batch, reasons=False)["score"].to_numpy())


def test_history_stays_within_the_features_reach(payments: pd.DataFrame) -> None:
    short = FraudScorer(windows_days=(1,), label_delay_days=1, max_rounds=20).fit(payments)
    reach = pd.Timedelta(days=2)
    added = 0
    for day in range(1, 21):  # twenty more days of traffic, more than a compaction's worth
        added += short.remember(later(payments, days=day, rows=600))
    assert added == 20 * 600
    history = short.history_
    newest = history["timestamp"].max()
    assert newest == payments["timestamp"].max() + pd.Timedelta(days=20)
    assert history["timestamp"].min() >= newest - reach
    assert len(history) <= 3 * 600  # the last two days' (and a bit) payments


def test_saving_after_remembering_keeps_what_was_seen(
    scorer: FraudScorer, payments: pd.DataFrame, tmp_path: Path
) -> None:
    for hour in range(2):
        scorer.remember(new_card_payment(payments, hours=hour))
    loaded = FraudScorer.load(scorer.save(tmp_path / "seen"))
    assert len(loaded.history_) == len(scorer.history_)
    payment = new_card_payment(payments, hours=2)
    assert feature(loaded, payment, "customer_id_count_1d")[0] == 2.0
    assert np.array_equal(scorer.score(payment)["score"], loaded.score(payment)["score"])
    assert loaded.remember(new_card_payment(payments, hours=1)) == 0  # still a retry


def test_payments_scored_from_several_threads_are_all_remembered(
    scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    batches = [later(payments, days=1 + i / 24, rows=20) for i in range(8)]
    added: list[int] = []

    def serve(batch: pd.DataFrame) -> None:
        for i in range(len(batch)):
            row = batch.iloc[[i]]
            scorer.score_rows(row, reasons=False)
            added.append(scorer.remember(row))

    threads = [threading.Thread(target=serve, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(added) == 8 * 20
    history = scorer.history_
    assert int((history["timestamp"] > payments["timestamp"].max()).sum()) == 8 * 20


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda f: f.drop(columns="terminal_id"), SchemaError, "['terminal_id']"),
        (lambda f: f.assign(amount=np.nan), DataError, "amounts are missing or infinite"),
        (lambda f: f.assign(customer_id=None), DataError, "rows have no customer_id"),
        (lambda f: f.assign(is_fraud=2), DataError, "labels must be 0 or 1"),
        (lambda f: f.assign(timestamp="soon"), DataError, "cannot be parsed"),
    ],
)
def test_unusable_payments_are_refused_and_nothing_is_kept(
    scorer: FraudScorer, payments: pd.DataFrame, change: object, error: type, words: str
) -> None:
    before = len(scorer.history_)
    with pytest.raises(error, match=re.escape(words)):
        scorer.remember(change(new_card_payment(payments, hours=0)))  # type: ignore[operator]
    assert len(scorer.history_) == before


def test_unfitted_or_keyless_scorers(payments: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError):
        FraudScorer().remember(payments.head(3))
    keyless = FraudScorer(keys=(), max_rounds=10).fit(payments)
    assert keyless.remember(later(payments)) == 0


def test_times_in_seconds_are_remembered_as_seconds(payments: pd.DataFrame, tmp_path: Path) -> None:
    start = payments["timestamp"].min()
    seconds = payments.assign(timestamp=(payments["timestamp"] - start).dt.total_seconds() + 0.25)
    scorer = FraudScorer(max_rounds=20).fit(seconds)
    payment = seconds.tail(1)[COLUMNS].assign(timestamp=lambda f: f["timestamp"] + 60.5)
    assert scorer.remember(payment) == 1
    history = scorer.history_
    assert history["timestamp"].dtype == np.float64
    assert history["timestamp"].iloc[-1] == payment["timestamp"].iloc[0]
    loaded = FraudScorer.load(scorer.save(tmp_path / "seconds"))
    assert loaded.remember(payment) == 0
