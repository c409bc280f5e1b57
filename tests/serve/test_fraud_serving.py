"""The ``fraud`` task: ``POST /v1/fraud:score`` from a registered FraudScorer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from furima.registry import ModelRegistry
from furima.risk import FraudScorer, simulate_transactions
from furima.serve import ServeSettings, create_app, running_server
from furima.serve._task_fraud import FRAUD_TASK
from furima.serve._tasks import register_task

from .test_recommend_serving import wait_for

PATH = "/v1/fraud:score"
DRIFT = "/v1/fraud:drift"


@pytest.fixture(scope="module")
def payments() -> pd.DataFrame:
    return simulate_transactions(customers=300, terminals=600, days=40, seed=0)


@pytest.fixture(scope="module")
def scorer(payments: pd.DataFrame) -> FraudScorer:
    return FraudScorer(max_rounds=60).fit(payments)


@pytest.fixture(scope="module")
def server(
    scorer: FraudScorer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ModelRegistry, Path]]:
    register_task(FRAUD_TASK)
    root = tmp_path_factory.mktemp("fraud-serving")
    registry = ModelRegistry(root / "registry")
    registry.log_model(scorer.save(root / "fraud"), task="fraud", alias="champion")
    settings = ServeSettings(tasks=("fraud",), poll_seconds=0.1, max_batch_wait_ms=1)
    with running_server(create_app(settings, registry=registry)) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        yield url, registry, root


@pytest.fixture(scope="module")
def served(server: tuple[str, ModelRegistry, Path]) -> str:
    return server[0]


def payment(row: pd.Series) -> dict[str, Any]:
    """One simulated payment as a client would send it, a day after the fitted history."""
    return {
        "transaction_id": str(row["transaction_id"]),
        "timestamp": (row["timestamp"] + pd.Timedelta(days=1)).isoformat(),
        "amount": float(row["amount"]),
        "customer_id": int(row["customer_id"]),
        "terminal_id": str(row["terminal_id"]),  # ids as strings are the same card
    }


def as_table(rows: list[dict[str, Any]], payments: pd.DataFrame) -> pd.DataFrame:
    """The payments sent as the library's ``score`` takes them."""
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["terminal_id"] = frame["terminal_id"].astype(payments["terminal_id"].dtype)
    return frame


def test_scores_two_payments_as_the_library_does(
    served: str, scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    rows = [payment(payments.iloc[-1]), payment(payments.iloc[-2])]
    answer = httpx.post(f"{served}{PATH}", json={"transactions": rows}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["transaction_id"] for s in body["scores"]] == [r["transaction_id"] for r in rows]
    expected = scorer.score(as_table(rows, payments))
    got = [s["score"] for s in body["scores"]]
    assert np.allclose(got, expected["score"].to_numpy())
    assert all(0.0 <= s <= 1.0 for s in got)
    assert [s["reasons"] for s in body["scores"]] == expected["reasons"].tolist()
    assert all(len(s["reasons"]) == 3 for s in body["scores"])
    assert body["model"] == {"task": "fraud", "version": 1, "route": "champion"}


def test_reasons_can_be_left_out_and_strangers_are_scored(
    served: str, scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    stranger = {**payment(payments.iloc[-1]), "customer_id": 10**6, "terminal_id": "10000000"}
    rows = [payment(payments.iloc[-1]), stranger]
    body = {"transactions": rows, "reasons": False}
    scores = httpx.post(f"{served}{PATH}", json=body, timeout=30).json()["scores"]
    assert [s["reasons"] for s in scores] == [[], []]
    expected = scorer.score(as_table(rows, payments), reasons=False)["score"].to_numpy()
    assert np.allclose([s["score"] for s in scores], expected)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.pop("timestamp"), "transactions[0] lacks 'timestamp'"),
        (lambda r: r.update(timestamp="yesterday-ish"), "transactions[0].timestamp must be"),
        (lambda r: r.update(amount="lots"), "transactions[0].amount must be a number"),
        (lambda r: r.update(customer_id=None), "lacks 'customer_id'"),
    ],
)
def test_unusable_transactions_get_a_422_naming_the_field(
    served: str, payments: pd.DataFrame, change: Any, words: str
) -> None:
    row = payment(payments.iloc[-1])
    change(row)
    answer = httpx.post(f"{served}{PATH}", json={"transactions": [row]}, timeout=30)
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"transactions": []}, "at least 1 item"),
        ({"transactions": [{}] * 1001}, "at most 1000 items"),
        ({"transactions": [{"amount": 1}], "colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_bodies_get_a_422(served: str, body: dict[str, Any], words: str) -> None:
    answer = httpx.post(f"{served}{PATH}", json=body, timeout=30)
    assert answer.status_code == 422
    assert words in answer.text


def test_repeated_requests_get_the_same_answer(served: str, payments: pd.DataFrame) -> None:
    """A repeated payment (a retry) is remembered once and never counts itself: only strictly
    earlier payments do (latency is measured in benchmarks)."""
    body = {"transactions": [payment(payments.iloc[-1])]}
    with httpx.Client(base_url=served, timeout=30) as client:
        answers = [client.post(PATH, json=body).json()["scores"] for _ in range(5)]
    assert all(answer == answers[0] for answer in answers)


def test_times_in_seconds_or_other_zones_are_the_same_moment(
    served: str, payments: pd.DataFrame
) -> None:
    iso = payment(payments.iloc[-1])
    moment = pd.Timestamp(iso["timestamp"]).tz_localize("UTC")
    seconds = {**iso, "timestamp": moment.timestamp()}
    tokyo = {**iso, "timestamp": moment.tz_convert("Asia/Tokyo").isoformat()}
    scores = [
        httpx.post(f"{served}{PATH}", json={"transactions": [row]}, timeout=30).json()["scores"]
        for row in (iso, seconds, tokyo)
    ]
    assert scores[0] == scores[1] == scores[2]


def test_drift_waits_for_enough_transactions_then_reports_psi(
    server: tuple[str, ModelRegistry, Path], scorer: FraudScorer, payments: pd.DataFrame
) -> None:
    url, registry, root = server
    early = httpx.get(f"{url}{DRIFT}", timeout=30)  # smoke requests do not count
    before = early.json()["error"]
    assert early.status_code == 409 and before["type"] == "too_few_transactions"
    assert "at least 100 transactions scored by version 1" in before["message"]
    rows = [payment(row) for _, row in payments.tail(150).iterrows()]
    posted = httpx.post(f"{url}{PATH}", json={"transactions": rows, "reasons": False}, timeout=30)
    assert posted.status_code == 200
    report = httpx.get(f"{url}{DRIFT}", timeout=30).json()
    assert report["version"] == 1
    assert report["window"] >= 150  # with what other tests scored
    assert report["window_capacity"] == 10_000
    assert report["reference_rows"] == len(scorer.reference_)
    features = report["features"]
    assert [f["feature"] for f in features] == [*scorer.feature_names_, "score"]
    assert {f["band"] for f in features} <= {"stable", "watch", "shifted"}
    assert all(f["psi"] >= 0 for f in features)
    amount = next(f for f in features if f["feature"] == "amount")
    assert amount["band"] != "shifted"  # the same simulated customers, a day later
    # A new champion starts a fresh window.
    registry.log_model(scorer.save(root / "fraud-v2"), task="fraud", alias="champion")
    wait_for(lambda: httpx.get(f"{url}/v1/models/fraud").json()["champion"] == 2)
    fresh = httpx.get(f"{url}{DRIFT}", timeout=30)
    assert fresh.status_code == 409
    assert "scored by version 2; it has scored 0" in fresh.json()["error"]["message"]
    registry.rollback("fraud")
    wait_for(lambda: httpx.get(f"{url}/v1/models/fraud").json()["champion"] == 1)


def new_card(payments: pd.DataFrame, hours: int) -> dict[str, Any]:
    """A payment of a card and terminal never seen, a day and ``hours`` after the fit."""
    moment = payments["timestamp"].max() + pd.Timedelta(days=1, hours=hours)
    return {
        "transaction_id": f"new-{hours}",
        "timestamp": moment.isoformat(),
        "amount": 25.0 + hours,
        "customer_id": 10**6,
        "terminal_id": "10000000",
    }


def test_served_payments_are_remembered_once_each(
    server: tuple[str, ModelRegistry, Path], payments: pd.DataFrame
) -> None:
    """The next payment of a card counts the ones served before it; a retry counts once."""
    url, _, root = server
    library = FraudScorer.load(root / "fraud")  # the served version, remembering in-process
    count = library.feature_names_.index("customer_id_count_1d")
    counts = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for hours in range(3):
            row = new_card(payments, hours)
            frame = as_table([row], payments)
            scores, reasons, inputs = library.score_rows(frame)
            answers = [client.post(PATH, json={"transactions": [row]}).json() for _ in range(2)]
            assert answers[0]["scores"] == answers[1]["scores"]  # the retry changes nothing
            served = answers[0]["scores"][0]
            assert served["score"] == pytest.approx(scores[0], abs=1e-12)
            assert reasons is not None and served["reasons"] == reasons[0]
            assert library.remember(frame) == 1
            counts.append(inputs[0, count])
    assert counts == [0.0, 1.0, 2.0]


def test_smoke_requests_are_not_remembered(
    server: tuple[str, ModelRegistry, Path], payments: pd.DataFrame
) -> None:
    model = FraudScorer.load(server[2] / "fraud")
    remembered: list[pd.DataFrame] = []
    model.remember = remembered.append  # type: ignore[method-assign,assignment]
    FRAUD_TASK.predict(model, FRAUD_TASK.smoke(model))
    assert remembered == []
    body = FRAUD_TASK.request.model_validate({"transactions": [payment(payments.iloc[-1])]})
    FRAUD_TASK.predict(model, [body])
    assert len(remembered) == 1
