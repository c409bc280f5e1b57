"""CUPAC against CUPED on real users: how much variance each covariate removes.

Taobao UserBehavior sample, the same population as the A/A case (``_experiments_aa.py``):
the metric is a user's events from ``EXPERIMENT_START`` on (the last four days), CUPED's
covariate their events before it (the first five days). CUPAC's covariate is the
cross-fitted LightGBM prediction of the metric (``predicted_covariate``, 5 folds) from
pre-period features only: events per behaviour type, events per day, distinct items and
categories. ``variance_reduction`` is ``1 - var(metric - theta * covariate) / var(metric)``
with CUPED's pooled ``theta``; ``furima`` is CUPAC's, ``reference`` plain CUPED's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from furima.experiments._cupac import predicted_covariate
from furima.experiments._statistics import AdjustedStats

__all__ = ["run_cupac"]

TAOBAO = Path("interactions") / "taobao_userbehavior_sample.parquet"
EXPERIMENT_START = 1511971200
DAY = 86_400


def run_cupac(data: Path, seed: int) -> list[dict[str, Any]]:
    """One row: CUPAC's variance reduction beside CUPED's on the Taobao users."""
    started = time.perf_counter()
    units = _taobao_units(data)
    features = [column for column in units.columns if column.startswith("pre_")]
    prediction = predicted_covariate(units, features, "events", folds=5, seed=seed)
    metric = units["events"].to_numpy(np.float64)
    return [
        {
            "benchmark": "experiments",
            "case": "cupac_taobao",
            "metric": "variance_reduction",
            "furima": round(_variance_reduction(metric, prediction), 4),
            "reference": round(_variance_reduction(metric, units["pre_events"].to_numpy()), 4),
            "reference_name": "CUPED with pre-period events",
            "features": len(features),
            "data": str(TAOBAO),
            "rows": len(units),
            "seconds": round(time.perf_counter() - started, 2),
            "seed": seed,
        }
    ]


def _variance_reduction(metric: np.ndarray, covariate: np.ndarray) -> float:
    stats = AdjustedStats.from_values(metric, covariate)
    adjusted, _ = AdjustedStats.with_pooled_theta(stats, stats)
    return 1.0 - adjusted.variance / adjusted.post.variance


def _taobao_units(data: Path) -> Any:
    """One row per user: ``events`` (the metric) and ``pre_*`` features before the start."""
    import pandas as pd

    log = pd.read_parquet(data / TAOBAO)
    users = pd.Index(np.sort(log["user_id"].unique()), name="user_id")
    before = log[log["timestamp"] < EXPERIMENT_START].assign(
        day=lambda frame: (EXPERIMENT_START - frame["timestamp"] - 1) // DAY
    )
    units = pd.DataFrame(index=users)
    units["events"] = (
        log[log["timestamp"] >= EXPERIMENT_START].groupby("user_id").size().reindex(users)
    )
    units["pre_events"] = before.groupby("user_id").size().reindex(users)
    by_type = before.pivot_table(
        index="user_id", columns="behavior_type", values="item_id", aggfunc="size", observed=False
    )
    by_day = before[before["day"] < 5].pivot_table(
        index="user_id", columns="day", values="item_id", aggfunc="size"
    )
    units = units.join(by_type.add_prefix("pre_type_")).join(by_day.add_prefix("pre_days_ago_"))
    units["pre_items"] = before.groupby("user_id")["item_id"].nunique().reindex(users)
    units["pre_categories"] = before.groupby("user_id")["category_id"].nunique().reindex(users)
    return units.fillna(0).reset_index()
