"""The robustness case: k-fold cross-validation of furima and the baseline on one dataset.

A single 80/20 split can flatter either model. Here every row is a test row once: per fold,
furima and the baseline are fitted on the other folds and scored on it, and the row reports
the per-fold RMSLE of both, their mean and spread (sample std, min, max), and the paired
difference (furima minus baseline) per fold, so a gain can be judged against the fold-to-fold
noise. ``max_rows`` subsamples (at random, seeded) before folding, and the row says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _price_selling import PricedData, covered, retail_price_as, score_baselines

__all__ = ["cv_case", "load_preset"]


def load_preset(data: Path, name: str, file: str, mapping: str) -> PricedData:
    """A dataset read exactly as benchmarks/price.py's holdout case reads it."""
    from furima.catalog import read_listings

    path = data / file
    listings = read_listings(path, mapping=mapping, on_error="skip").listings
    listings = listings[listings["price"].notna()].reset_index(drop=True)
    return PricedData(name=name, path=path, furima=listings, baseline=listings)


def cv_case(
    dataset: PricedData, seed: int, *, folds: int = 5, max_rows: int | None = None
) -> dict[str, Any]:
    """One JSON row: per-fold and summarised RMSLE of furima and the baseline."""
    from sklearn.model_selection import KFold

    started = time.perf_counter()
    rows = len(dataset.furima)
    used = _subsample(dataset, seed, max_rows)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    per_fold = [
        _fold(used.take(train), used.take(test), seed)
        for train, test in splitter.split(np.arange(len(used.furima)))
    ]
    furima = [fold["furima"] for fold in per_fold]
    baseline = [fold["baseline"] for fold in per_fold]
    difference = [f - b for f, b in zip(furima, baseline, strict=True)]
    row: dict[str, Any] = {
        "benchmark": "price",
        "case": "cross_validation",
        "dataset": dataset.name,
        "metric": "rmsle",
        "folds": folds,
        "retail_price_as": "/".join(sorted({str(fold["retail_price_as"]) for fold in per_fold})),
        **_summary("furima", furima),
        **_summary("baseline", baseline),
        **_summary("difference", difference),
        "furima_better_folds": int(sum(d < 0 for d in difference)),
        "improvement": round(1 - float(np.mean(furima)) / float(np.mean(baseline)), 4),
    }
    if dataset.retail is not None:
        row.update(_summary("baseline_text_only", [f["baseline_text_only"] for f in per_fold]))
    row.update(_summary("coverage_80", [fold["coverage_80"] for fold in per_fold]))
    row.update(
        {
            "fit_s_mean": round(float(np.mean([f["fit_s"] for f in per_fold])), 2),
            "baseline_fit_s_mean": round(
                float(np.mean([f["baseline_fit_s"] for f in per_fold])), 2
            ),
            "rows": rows,
            "rows_used": len(used.furima),
            "subsampled": len(used.furima) < rows,
            "seconds": round(time.perf_counter() - started, 1),
            "seed": seed,
        }
    )
    return row


def _subsample(dataset: PricedData, seed: int, max_rows: int | None) -> PricedData:
    n = len(dataset.furima)
    if max_rows is None or n <= max_rows:
        return dataset
    rows = np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
    return dataset.take(rows)


def _fold(train: PricedData, test: PricedData, seed: int) -> dict[str, Any]:
    from furima.pricing import PriceSuggester, rmsle

    scores = score_baselines(train, test)
    started = time.perf_counter()
    model = PriceSuggester(random_state=seed).fit(train.furima)
    fit_s = time.perf_counter() - started
    truth = test.furima["price"].to_numpy(np.float64)
    point = model.predict(test.furima)
    interval = model.predict_interval(test.furima)
    return {
        **scores,
        "furima": rmsle(truth, point),
        "coverage_80": covered(interval, truth),
        "fit_s": fit_s,
        "retail_price_as": retail_price_as(model),
    }


def _summary(name: str, values: Sequence[float]) -> dict[str, Any]:
    """Per-fold values and their mean, sample std, min and max, rounded for the JSON row."""
    array = np.asarray(values, dtype=np.float64)
    return {
        f"{name}_folds": [round(float(v), 4) for v in array],
        f"{name}_mean": round(float(array.mean()), 4),
        f"{name}_std": round(float(array.std(ddof=1)) if len(array) > 1 else 0.0, 4),
        f"{name}_min": round(float(array.min()), 4),
        f"{name}_max": round(float(array.max()), 4),
    }
