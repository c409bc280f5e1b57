"""The ``latency`` task of ``benchmarks/risk.py``: ``POST /v1/fraud:score`` and
``POST /v1/credit:score`` with one transaction or applicant per request, at the registry server.

Fraud: a :class:`furima.risk.FraudScorer` with customer and terminal entity features fitted on
91 simulated days (5,000 customers, 10,000 terminals); each request is one later payment of
the same simulation, with its three reasons. Credit: a :class:`furima.risk.Scorecard`, and a
:class:`furima.risk.CreditBlend`, fitted on German credit; each request is one applicant, with
reasons. Each model is saved, registered and served by ``furima deploy``'s server on this
machine; open-loop load at a steady rate
(``_load``) gives p50 and p99 as a client sees them. The same calls made in-process (no HTTP)
are the baseline, so the ratio says what the server adds.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from _latency import served_latency, timed_calls

RATE_RPS = 20.0
SECONDS = 15.0
TARGET_MS = 20.0
REQUESTS = 300
FIT_DAYS = 91
GERMAN = "credit/german_credit.parquet"


def run_risk_latency(data: Path, seed: int) -> list[dict[str, Any]]:
    return [
        fraud_latency(seed),
        credit_latency(data, seed, "scorecard"),
        credit_latency(data, seed, "blend"),
    ]


def fraud_latency(seed: int) -> dict[str, Any]:
    from furima.risk import FraudScorer, simulate_transactions

    table = simulate_transactions(days=FIT_DAYS + 7, seed=seed)
    cutoff = table["timestamp"].min() + pd.Timedelta(days=FIT_DAYS)
    past, later = table[table["timestamp"] < cutoff], table[table["timestamp"] >= cutoff]
    started = time.perf_counter()
    scorer = FraudScorer(seed=seed).fit(past)
    fit_s = time.perf_counter() - started
    chosen = later.sample(REQUESTS, random_state=seed).sort_values("timestamp")
    requests = [
        {
            "transaction_id": str(row.transaction_id),
            "timestamp": row.timestamp.isoformat(),
            "amount": float(row.amount),
            "customer_id": int(row.customer_id),
            "terminal_id": int(row.terminal_id),
        }
        for row in chosen.itertuples()
    ]
    frames = [pd.DataFrame([request]) for request in requests]
    for frame in frames:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    inprocess = timed_calls(lambda frame: scorer.score(frame, reasons=True), frames)
    bodies = [{"transactions": [request]} for request in requests]
    served = served_latency(
        scorer, "fraud", "/v1/fraud:score", bodies, rps=RATE_RPS, seconds=SECONDS
    )
    baseline = "FraudScorer.score in-process, one transaction with reasons"
    return _row("latency_fraud", served, inprocess, baseline, "simulated", len(past), fit_s, seed)


def credit_latency(data: Path, seed: int, kind: str) -> dict[str, Any]:
    from furima.risk._credit_models import credit_model, load_credit_model

    frame = pd.read_parquet(data / GERMAN)
    target = "creditability"
    started = time.perf_counter()
    card = credit_model(kind, target, bad_value="bad", seed=seed).fit(frame)
    fit_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="furima-card-") as scratch:
        served_card = load_credit_model(card.save(Path(scratch) / "card"))
    applicants = frame.drop(columns=[target]).sample(REQUESTS, replace=True, random_state=seed)
    fields = [
        {name: (value.item() if hasattr(value, "item") else value) for name, value in row.items()}
        for _, row in applicants.iterrows()
    ]
    frames = [pd.DataFrame([one]) for one in fields]
    inprocess = timed_calls(served_card.score, frames)
    bodies = [
        {"applicants": [{"applicant_id": str(i), "fields": one}]} for i, one in enumerate(fields)
    ]
    served = served_latency(
        card, "credit", "/v1/credit:score", bodies, rps=RATE_RPS, seconds=SECONDS
    )
    baseline = f"the loaded {kind}'s score in-process, one applicant with reasons"
    task = f"latency_credit_{kind}"
    return _row(task, served, inprocess, baseline, GERMAN, len(frame), fit_s, seed)


def _row(
    task: str,
    served: dict[str, Any],
    inprocess: dict[str, float],
    baseline: str,
    data: str,
    rows: int,
    fit_s: float,
    seed: int,
) -> dict[str, Any]:
    return {
        "task": task,
        "metric": "p99_ms",
        "furima": served["p99_ms"],
        "baseline": inprocess["p99_ms"],
        "baseline_name": baseline,
        "server_overhead_ratio": round(served["p99_ms"] / inprocess["p99_ms"], 2),
        "target_ms": TARGET_MS,
        "data": data,
        "rows": rows,
        "fit_seconds": round(fit_s, 1),
        **{f"server_{k}": v for k, v in served.items()},
        **{f"inprocess_{k}": v for k, v in inprocess.items()},
        "seed": seed,
    }
