"""The ``price_anomaly`` and ``speed`` cases of ``benchmarks/safety.py``.

``price_anomaly``: the real Myntra catalog (12,491 listings with prices in INR); a price model
learns from 80% of it, and the other 20% is checked twice: as listed, and re-priced at a fifth
(the too-cheap listing of a scam). The anomaly score should tell the two apart. Baseline: the
ratio of the category's (gender's) median price to the listing's price, a rule many
marketplaces start with.

``speed``: real Myntra photos with their titles as listings. A checker with every text and
photo policy of the default policy file (price off: the photo catalog has no prices) learns
from a catalog of them, then checks unseen listings in batches; the baseline is the same
checker called one listing at a time. At the server, the fitted checker is registered and
served, and single-listing requests (title, description and a base64 photo) arrive open-loop
at a steady rate: p99 latency per listing.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["price_anomaly_cases", "speed_cases"]

SCAM_FACTOR = 0.2
CATALOG = 3000
CHECKED = 400
BATCH = 50
SERVER_RATES = (2, 10, 20, 30)
SERVER_SECONDS = 15.0


def price_anomaly_cases(data: Path, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.metrics import roc_auc_score

    from furima.catalog import read_listings
    from furima.pricing import PriceSuggester
    from furima.safety._price_check import PriceAnomalyCheck

    path = data / "listings" / "myntra_catalog.parquet"
    listings = read_listings(path, mapping="myntra", require_price=True).listings
    rng = np.random.default_rng(seed)
    held = rng.random(len(listings)) < 0.2
    train, test = listings[~held], listings[held].reset_index(drop=True)
    started = time.perf_counter()
    check = PriceAnomalyCheck(PriceSuggester(random_state=seed).fit(train))
    scam = test.assign(price=test["price"] * SCAM_FACTOR, listing_id=test["listing_id"] + "-scam")
    both = pd.concat([test, scam], ignore_index=True)
    scores = np.array([finding.score for finding in check.findings(both)])
    seconds = time.perf_counter() - started
    truth = np.r_[np.zeros(len(test)), np.ones(len(scam))]
    medians = train.groupby("gender")["price"].median()
    rule = both["gender"].map(medians).fillna(train["price"].median()) / both["price"]
    common = {
        "task": "price_anomaly",
        "data": "listings/myntra_catalog.parquet",
        "rows": len(both),
        "seconds": round(seconds, 1),
        "seed": seed,
        "scam_price_factor": SCAM_FACTOR,
    }
    lines = [
        {
            **common,
            "metric": "auroc",
            "furima": roc_auc_score(truth, scores),
            "baseline": roc_auc_score(truth, rule),
        }
    ]
    for threshold in (0.95, 0.99):
        flagged = scores >= threshold
        lines.append(
            {
                **common,
                "metric": f"recall@{threshold}",
                "furima": flagged[truth == 1].mean(),
                "false_positive_rate": flagged[truth == 0].mean(),
            }
        )
    return lines


def speed_cases(data: Path, seed: int = 0) -> list[dict[str, Any]]:
    from furima.safety import SafetyChecker, default_policies
    from furima.safety._policies import PolicyKind, PolicySet

    photos = pd.read_parquet(data / "images" / "myntra_fashion_44k.parquet")
    chosen = photos.sample(CATALOG + CHECKED, random_state=seed).reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "listing_id": chosen["id"].astype(str),
            "name": chosen["title"],
            "description": chosen["article_type"]
            + ", "
            + chosen["base_colour"].fillna("")
            + ", "
            + chosen["usage"].fillna(""),
            "photo": chosen["jpeg"],
        }
    )
    catalog, checked = frame.iloc[:CATALOG], frame.iloc[CATALOG:].reset_index(drop=True)
    policies = default_policies()
    kept = PolicySet(tuple(p for p in policies if p.kind is not PolicyKind.PRICE), policies.source)
    started = time.perf_counter()
    checker = SafetyChecker(kept).fit(catalog)
    fit_seconds = time.perf_counter() - started
    checker.check(checked.iloc[:BATCH])  # load the networks before timing
    batched = _rate(
        lambda: [checker.check(checked.iloc[i : i + BATCH]) for i in range(0, len(checked), BATCH)],
        len(checked),
    )
    one_by_one = _rate(
        lambda: [checker.check(checked.iloc[i : i + 1]) for i in range(CHECKED // 4)], CHECKED // 4
    )
    common = {
        "task": "speed",
        "data": "images/myntra_fashion_44k.parquet",
        "rows": len(checked),
        "seed": seed,
        "policies": list(kept.names),
        "catalog": CATALOG,
        "fit_seconds": round(fit_seconds, 1),
    }
    lines = [
        {
            **common,
            "metric": "listings_per_second",
            "furima": batched,
            "baseline": one_by_one,
            "baseline_is": "the same checker, one listing per call",
            "ratio": batched / one_by_one,
            "batch": BATCH,
        }
    ]
    lines += _server_lines(checker, checked, common)
    return lines


def _rate(run: Any, count: int) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def _server_lines(
    checker: Any, checked: pd.DataFrame, common: dict[str, Any]
) -> list[dict[str, Any]]:
    from _load import run_load_in_process

    from furima.registry import ModelRegistry
    from furima.serve._deploy import deploy

    bodies = [
        json.dumps(
            {
                "listing_id": str(row["listing_id"]),
                "name": str(row["name"]),
                "description": str(row["description"]),
                "photo": base64.b64encode(bytes(row["photo"])).decode(),
            }
        ).encode()
        for row in checked.to_dict("records")
    ]
    lines = []
    with tempfile.TemporaryDirectory(prefix="furima-safety-bench-") as scratch:
        model = checker.save(Path(scratch) / "safety")
        registry = ModelRegistry(Path(scratch) / "registry")
        registry.log_model(model, task="safety", alias="champion")
        with deploy(["safety"], registry=Path(scratch) / "registry") as server:
            url = server.url + "/v1/listings:check"
            run_load_in_process(url, bodies[:20], rps=5, seconds=2.0)  # warm up
            for rate in SERVER_RATES:
                result = run_load_in_process(url, bodies, rps=rate, seconds=SERVER_SECONDS)
                lines.append(
                    {
                        **common,
                        "task": "speed",
                        "metric": "server_p99_ms",
                        "furima": result.p99_ms,
                        "offered_rps": rate,
                        "achieved_rps": result.achieved_rps,
                        "errors": result.errors,
                        "sent": result.sent,
                        "p50_ms": result.p50_ms,
                        "rows": result.ok + result.errors,
                    }
                )
    return lines
