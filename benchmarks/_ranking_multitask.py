"""Multi-task ranking on Taobao: one network with a head per event type against one LightGBM
model per event type and against a single-task network on views only.

Requests are each user's days (test: the last day) ranking the items the user interacted with
that day among about 100 candidates (:func:`benchmarks._ranking_taobao.taobao_examples`).
Per event type: NDCG@10 over the test requests with a positive of that event (others
skipped) and AUC over all test rows, for the multi-task head's calibrated probability; the
final business-weighted score's NDCG@10 and the head's expected calibration error before and
after calibration ride along in the same rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ranking_taobao import TAOBAO, taobao_examples

from furima.ranking._base import RankingExamples
from furima.ranking._calibration import expected_calibration_error
from furima.ranking._multitask import MultiTaskRanker, ndcg_at_10

__all__ = ["MULTITASK_SETTINGS", "SCORE_WEIGHTS", "run_multitask"]

MULTITASK_SETTINGS: dict[str, Any] = {
    "architecture": "mmoe",
    "listwise_weight": 0.5,
    "conditional_on": "view",
    "ensemble": 3,
    "patience": 2,
}
"""The multi-task ranker's settings in this benchmark (the views-only model uses the same)."""
SCORE_WEIGHTS = {"view": 1.0, "like": 2.0, "cart": 3.0, "purchase": 5.0}
"""Business weights of the final score."""
VIEW = "view"


def run_multitask(data: Path, seed: int) -> list[dict[str, Any]]:
    """Rows ``multitask_<event>`` (metrics ``ndcg@10`` and ``auc``) for every event type."""
    train, valid, test = taobao_examples(Path(data), seed)
    return compare(train, valid, test, seed)


def compare(
    train: RankingExamples, valid: RankingExamples, test: RankingExamples, seed: int
) -> list[dict[str, Any]]:
    """Fit the per-event LightGBM models, the multi-task and the views-only networks on the
    same examples, and score them on ``test``."""
    started = time.perf_counter()
    baseline = _per_event_lightgbm(train, valid, test, seed)
    baseline_seconds = time.perf_counter() - started
    started = time.perf_counter()
    weights = {e: w for e, w in SCORE_WEIGHTS.items() if e in train.events}
    model = MultiTaskRanker(**MULTITASK_SETTINGS, score_weights=weights, seed=seed)
    model.fit(train, valid)
    heads = model.event_probabilities(test)
    raw = model.event_probabilities(test, calibrated=False)
    final = model.score(test)
    seconds = time.perf_counter() - started
    views = MultiTaskRanker(**MULTITASK_SETTINGS, events=(VIEW,), seed=seed).fit(train, valid)
    views_only = views.score(test)
    common = {
        "benchmark": "ranking",
        "data": str(TAOBAO),
        "rows": len(train) + len(valid) + len(test),
        "test_requests": int(test.frame["request"].nunique()),
        "seconds": round(seconds, 1),
        "baseline_seconds": round(baseline_seconds, 1),
        "seed": seed,
        "settings": MULTITASK_SETTINGS,
        "best_epochs": model.best_epochs_,
    }
    rows = []
    for event in model.events_:
        labels = test.labels(event)
        measured = {
            "furima": heads[event],
            "baseline": baseline[event],
            "views_only": views_only,
            "final_score": final,
        }
        calibration = {
            "ece_before": round(expected_calibration_error(raw[event], labels), 5),
            "ece_after": round(expected_calibration_error(heads[event], labels), 5),
        }
        spread = {
            f"ci95_minus_{other}": _paired_interval(
                test, labels, heads[event], measured[other], seed
            )
            for other in ("baseline", "views_only")
        }
        for metric, measure in (("ndcg@10", _ndcg), ("auc", _auc)):
            values = {k: round(measure(test, labels, v), 4) for k, v in measured.items()}
            rows.append(
                {**common, "case": f"multitask_{event}", "metric": metric, **values}
                | (spread if metric == "ndcg@10" else {})
                | {
                    "positives": int(labels.sum()),
                    "requests_with_positive": _requests(test, labels),
                }
                | {"furima_is": f"the {event} head's calibrated probability"}
                | {"baseline_name": f"LightGBM binary on {event} labels"}
                | (calibration if metric == "auc" else {})
            )
    return rows


def _per_event_lightgbm(
    train: RankingExamples, valid: RankingExamples, test: RankingExamples, seed: int
) -> dict[str, np.ndarray]:
    from furima.ranking._lightgbm import LightGBMRanker

    return {
        event: LightGBMRanker(label=event, seed=seed).fit(train, valid).score(test)
        for event in train.events
    }


def _ndcg(test: RankingExamples, labels: np.ndarray, scores: np.ndarray) -> float:
    return ndcg_at_10(labels, scores, test.frame["request"].to_numpy())


def _auc(test: RankingExamples, labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def _requests(test: RankingExamples, labels: np.ndarray) -> int:
    return int(test.frame.loc[labels > 0, "request"].nunique())


def _paired_interval(
    test: RankingExamples, labels: np.ndarray, ours: np.ndarray, theirs: np.ndarray, seed: int
) -> list[float]:
    """95% bootstrap interval (over the requests with a positive) of furima's NDCG@10 minus
    another model's: how much of a gap the test requests can tell apart from luck."""
    request = test.frame["request"].to_numpy()
    order = np.argsort(request, kind="stable")
    bounds = np.flatnonzero(np.diff(request[order])) + 1
    gaps = [
        ndcg_at_10(labels[rows], ours[rows], request[rows])
        - ndcg_at_10(labels[rows], theirs[rows], request[rows])
        for rows in np.split(order, bounds)
        if labels[rows].any()
    ]
    draws = np.random.default_rng(seed).choice(gaps, size=(1000, len(gaps)))
    low, high = np.percentile(draws.mean(axis=1), [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]
