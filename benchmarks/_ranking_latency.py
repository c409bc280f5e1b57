"""The ``latency`` cases of ``benchmarks/ranking.py``: ``POST /v1/rank`` with 200 candidates
and ``POST /v1/search`` on Myntra 44k, at the registry server.

Each model is fitted on the real data, saved, registered and served by ``furima deploy``'s
server in this process's machine; open-loop load at a steady rate (``_load``) gives p50 and
p99 as a client sees them. The same calls made in-process (no HTTP, no batching) are the
baseline, so the ratio says what the server adds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _latency import served_latency, timed_calls

RATE_RPS = 20.0
SECONDS = 15.0
CANDIDATES = 200
RANK_TARGET_MS = 30.0
SEARCH_TARGET_MS = 50.0


def run_latency(data: Path, seed: int) -> list[dict[str, Any]]:
    return [rank_latency(data, seed), search_latency(data, seed)]


def rank_latency(data: Path, seed: int) -> dict[str, Any]:
    from _ranking_taobao import TAOBAO, taobao_interactions

    from furima.ranking import FeedRanker

    events, category = taobao_interactions(pd.read_parquet(data / TAOBAO))
    started = time.perf_counter()
    model = FeedRanker().fit(events, category=category, seed=seed)
    fit_s = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    items, users = events.items.ids, model.users_sample(200)
    requests = [
        {
            "user_id": user,
            "candidates": [str(i) for i in items[rng.choice(len(items), CANDIDATES, False)]],
        }
        for user in users
    ]
    inprocess = timed_calls(lambda r: model.rank([{"user": r["user_id"], **_no_user(r)}]), requests)
    served = served_latency(model, "rank", "/v1/rank", requests, rps=RATE_RPS, seconds=SECONDS)
    return {
        "case": "latency_rank",
        "metric": "p99_ms",
        "furima": served["p99_ms"],
        "baseline": inprocess["p99_ms"],
        "baseline_name": "FeedRanker.rank in-process, one request at a time",
        "target_ms": RANK_TARGET_MS,
        "candidates": CANDIDATES,
        "data": str(TAOBAO),
        "rows": len(events),
        "fit_seconds": round(fit_s, 1),
        **{f"server_{k}": v for k, v in served.items()},
        **{f"inprocess_{k}": v for k, v in inprocess.items()},
        "seed": seed,
    }


def search_latency(data: Path, seed: int) -> dict[str, Any]:
    from _myntra_photos import DATA_FILE
    from _ranking_search import built_search

    search, queries, listings = built_search(data, seed)
    requests = [{"query": query, "k": 20} for query in queries[:200]]
    inprocess = timed_calls(lambda r: search.search(r["query"], k=r["k"]), requests)
    served = served_latency(search, "search", "/v1/search", requests, rps=RATE_RPS, seconds=SECONDS)
    return {
        "case": "latency_search",
        "metric": "p99_ms",
        "furima": served["p99_ms"],
        "baseline": inprocess["p99_ms"],
        "baseline_name": "BuyerSearch.search in-process, one query at a time",
        "target_ms": SEARCH_TARGET_MS,
        "data": str(DATA_FILE),
        "rows": listings,
        **{f"server_{k}": v for k, v in served.items()},
        **{f"inprocess_{k}": v for k, v in inprocess.items()},
        "seed": seed,
    }


def _no_user(request: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in request.items() if key != "user_id"}
