"""CUPAC: cross-fitting never lets a fold see its own rows, and on a metric that depends on
its pre-period features non-linearly the predicted covariate removes far more variance
than CUPED with one weak pre-period metric. Synthetic data, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import ExperimentDataError
from furima.experiments._analysis import analyze
from furima.experiments._cupac import cross_fitted, fold_of, predicted_covariate
from furima.experiments._metrics import Metric
from furima.experiments._statistics import AdjustedStats


def units(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Revenue driven non-linearly by tenure and visits; last month's revenue is a weak
    linear signal of it. Treatment adds 0.3."""
    rng = np.random.default_rng(seed)
    tenure, visits, noise = rng.normal(size=(3, n))
    last_month = 0.5 * tenure + rng.normal(size=n)
    variant = rng.choice(["control", "treatment"], n)
    revenue = (
        3 * np.sin(2 * tenure)
        + 2 * visits**2
        + 0.3 * last_month
        + noise
        + np.where(variant == "treatment", 0.3, 0.0)
    )
    return pd.DataFrame(
        {
            "variant": variant,
            "tenure": tenure,
            "visits": visits,
            "last_month": last_month,
            "revenue": revenue,
        }
    )


def variance_reduction(post: np.ndarray, covariate: np.ndarray) -> float:
    """1 - var(post - theta * covariate) / var(post), theta fitted as CUPED fits it."""
    stats = AdjustedStats.from_values(post, covariate)
    control, _ = AdjustedStats.with_pooled_theta(stats, stats)
    return 1.0 - control.variance / control.post.variance


def test_no_fold_sees_its_own_rows() -> None:
    folds = fold_of(101, 3, seed=7)
    assert sorted(np.bincount(folds).tolist()) == [33, 34, 34]
    seen: list[tuple[set[float], set[float]]] = []

    def recording(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
        seen.append((set(x[:, 0].tolist()), set(x_new[:, 0].tolist())))
        return np.full(len(x_new), float(len(seen)))

    rows = np.arange(101, dtype=float)[:, None]
    prediction = cross_fitted(rows, rows[:, 0], folds, recording)
    assert len(seen) == 3
    for train, test in seen:
        assert not train & test and len(train | test) == 101
    assert np.array_equal(prediction, folds + 1.0)  # each row filled by its own fold's model


def test_out_of_fold_predictions_do_not_memorise_the_target() -> None:
    """A row id as the only feature and noise as the target: a model fitted on all rows
    would memorise it, out-of-fold predictions carry nothing."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"row": np.arange(2000.0), "noise": rng.normal(size=2000)})
    prediction = predicted_covariate(frame, ["row"], "noise", folds=2, seed=0)
    assert abs(np.corrcoef(prediction, frame["noise"])[0, 1]) < 0.1


def test_cupac_removes_more_variance_than_cuped_with_a_weak_pre_metric() -> None:
    data = units()
    prediction = predicted_covariate(data, ["tenure", "visits", "last_month"], "revenue")
    revenue = data["revenue"].to_numpy()
    cuped = variance_reduction(revenue, data["last_month"].to_numpy())
    cupac = variance_reduction(revenue, prediction)
    assert cuped < 0.1
    assert cupac > 0.6
    analysis = analyze(
        data.assign(revenue_hat=prediction),
        [Metric("revenue", pre_column="revenue_hat"), Metric("plain", column="revenue")],
        difference="absolute",
    )
    adjusted, plain = (result.effect for result in analysis.results)
    assert adjusted is not None and plain is not None
    assert adjusted.ci_low < 0.3 < adjusted.ci_high
    assert adjusted.standard_error < 0.7 * plain.standard_error


def test_same_seed_same_covariate() -> None:
    data = units(n=400)
    first = predicted_covariate(data, ["tenure", "visits"], "revenue", folds=3, seed=5)
    again = predicted_covariate(data, ["tenure", "visits"], "revenue", folds=3, seed=5)
    assert np.array_equal(first, again)


def test_bad_input_is_refused() -> None:
    data = units(n=100)
    with pytest.raises(ExperimentDataError, match="among the features"):
        predicted_covariate(data, ["tenure", "revenue"], "revenue")
    with pytest.raises(ExperimentDataError, match=r"no column \['age'\]"):
        predicted_covariate(data, ["age"], "revenue")
    with pytest.raises(ExperimentDataError, match="not numeric"):
        predicted_covariate(data, ["variant"], "revenue")
    with pytest.raises(ExperimentDataError, match="3 missing values"):
        gaps = data.assign(revenue=data["revenue"].where(data.index >= 3))
        predicted_covariate(gaps, ["tenure"], "revenue")
    with pytest.raises(ExperimentDataError, match="at least 20 rows per fold"):
        predicted_covariate(data, ["tenure"], "revenue", folds=6)
    with pytest.raises(ExperimentDataError, match="as a list"):
        predicted_covariate(data, "tenure", "revenue")
