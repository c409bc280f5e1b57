"""Ranking benchmarks on real logs: Taobao examples (train / valid / test) and LTR sanity.

Taobao UserBehavior (``interactions/taobao_userbehavior_sample.parquet``): page views, carts,
favourites and buys of 814 users over nine days. The generators learn from the first days;
training requests are each user's later days, validation their second-to-last day and test
their last day, each ranking the items the user interacted with that day among about 100
candidates. The LTR sanity case checks furima's LightGBM ranker against LightGBM's own
LambdaRank defaults on the sample from LightGBM's repository.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.catalog._interactions import Interactions
from furima.ranking._base import RankingExamples
from furima.ranking._examples import (
    CandidateSettings,
    build_examples,
    daily_requests,
    item_categories,
)
from furima.ranking._features import DAY_S, FeatureBuilder

__all__ = [
    "TAOBAO",
    "TAOBAO_EVENTS",
    "ndcg_at",
    "run_ltr_sanity",
    "taobao_examples",
    "taobao_feed_ranker",
    "taobao_interactions",
]

TAOBAO = Path("interactions") / "taobao_userbehavior_sample.parquet"
TAOBAO_EVENTS = {"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"}
"""Taobao's behaviour types and furima's names for them (as the ``taobao`` mapping reads)."""
LTR = Path("ranking")


def taobao_interactions(log: pd.DataFrame) -> tuple[Interactions, np.ndarray]:
    """The Taobao log as :class:`Interactions` (events ``view, cart, like, purchase``) and the
    category id of each item, aligned with ``interactions.items``."""
    frame = pd.DataFrame(
        {
            "user": log["user_id"].astype(str),
            "item": log["item_id"].astype(str),
            "timestamp": log["timestamp"].astype(np.int64),
            "event": log["behavior_type"].astype(str).map(TAOBAO_EVENTS),
        }
    )
    weights = dict.fromkeys(TAOBAO_EVENTS.values(), 1.0)
    interactions = Interactions.from_frame(frame, event_weights=weights)
    return interactions, item_categories(log, interactions.items)


def taobao_examples(
    data: Path,
    seed: int,
    *,
    candidates: int = 100,
    generator_days: int = 3,
    log: pd.DataFrame | None = None,
) -> tuple[RankingExamples, RankingExamples, RankingExamples]:
    """Train, valid and test examples from the Taobao log under ``data``.

    The generators learn from the first ``generator_days`` days; every request after them is
    a user's day (labels: what they did on each candidate that day). Test: each user's last
    day; valid: their second-to-last; train: their earlier days. ``log`` replaces the file
    (a fixture in tests).
    """
    frame = log if log is not None else pd.read_parquet(Path(data) / TAOBAO)
    interactions, category = taobao_interactions(frame)
    first_day = int(np.quantile(interactions.timestamp, 0.01)) // DAY_S  # a few stray old events
    start = (first_day + generator_days) * DAY_S
    builder = FeatureBuilder(seed=seed).fit(
        interactions, category=category, generators_before=start
    )
    requests = daily_requests(interactions, start=start)
    rank = requests.groupby("user")["timestamp"].rank(ascending=False, method="first")
    settings = CandidateSettings(size=candidates, seed=seed)
    parts = [requests[rank > 2], requests[rank == 2], requests[rank == 1]]
    train, valid, test = (
        build_examples(interactions, part, builder=builder, candidates=settings) for part in parts
    )
    return train, valid, test


def taobao_feed_ranker(data: Path, seed: int, *, log: pd.DataFrame | None = None) -> Any:
    """A :class:`~furima.ranking.FeedRanker` fitted on the whole Taobao log (for serving and
    latency cases: ``/v1/rank`` loads what its ``save`` writes)."""
    from furima.ranking._pipeline import FeedRanker

    frame = log if log is not None else pd.read_parquet(Path(data) / TAOBAO)
    interactions, category = taobao_interactions(frame)
    return FeedRanker().fit(interactions, category=category, seed=seed)


def ndcg_at(examples: RankingExamples, relevance: Any, scores: Any, k: int = 10) -> float:
    """Mean NDCG@k over the requests with something relevant (AutoML's metric)."""
    from furima.automl._metrics import metric_for

    metric = metric_for("ranking", f"ndcg@{k}").for_groups(examples.frame["request"].to_numpy())
    return float(metric.score(np.asarray(relevance, float), np.asarray(scores, float)))


def _ltr_examples(file: Path) -> RankingExamples:
    table = pd.read_parquet(file)
    features = tuple(c for c in table.columns if c.startswith("f"))
    frame = pd.DataFrame(
        {
            "request": pd.factorize(table["query_id"])[0].astype(np.int64),
            "user": table["query_id"].astype(str),
            "item": np.arange(len(table)).astype(str),
            "timestamp": np.zeros(len(table), np.int64),
            "label_relevance": table["label"].astype(np.float32),
        }
    )
    frame = pd.concat([frame, table[list(features)].astype(np.float32)], axis=1)
    return RankingExamples(frame, features, ("relevance",))


def run_ltr_sanity(data: Path, seed: int, *, budget_s: float = 60.0) -> list[dict[str, Any]]:
    """furima's LightGBM ranker (AutoML search within ``budget_s``) against LightGBM
    LambdaRank with its defaults, NDCG@10 on the test queries."""
    import lightgbm

    from furima.ranking._lightgbm import LightGBMRanker

    train = _ltr_examples(Path(data) / LTR / "lightgbm_rank_train.parquet")
    test = _ltr_examples(Path(data) / LTR / "lightgbm_rank_test.parquet")
    relevance = train.labels("relevance")
    started = time.perf_counter()
    baseline = lightgbm.LGBMRanker(random_state=seed, verbose=-1, n_jobs=1)
    baseline.fit(train.matrix(), relevance, group=train.group_sizes())
    base_score = ndcg_at(test, test.labels("relevance"), baseline.predict(test.matrix()))
    base_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ranker = LightGBMRanker(gains={"relevance": 1}, budget_s=budget_s, seed=seed)
    ranker.fit(train)
    ours = ndcg_at(test, test.labels("relevance"), ranker.score(test))
    return [
        {
            "benchmark": "ranking",
            "case": "ltr_sanity",
            "metric": "ndcg@10",
            "furima": round(ours, 4),
            "baseline": round(base_score, 4),
            "baseline_name": "lightgbm.LGBMRanker defaults (lambdarank)",
            "data": str(LTR / "lightgbm_rank_{train,test}.parquet"),
            "rows": len(train) + len(test),
            "seconds": round(time.perf_counter() - started, 1),
            "baseline_seconds": round(base_seconds, 1),
            "budget_s": budget_s,
            "seed": seed,
        }
    ]
