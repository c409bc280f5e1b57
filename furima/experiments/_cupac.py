"""CUPAC: a model's prediction of the metric from pre-period features, as the CUPED covariate.

CUPED removes the part of a metric that a pre-period covariate explains linearly. When the
metric depends on many pre-period features, or on one of them non-linearly, a regression
model's prediction explains far more, and CUPED with that prediction as its covariate
removes far more variance (Tang et al., "Control Using Predictions as Covariates", 2020).

The prediction must not carry the treatment: the features are measured before exposure,
and the prediction for each unit comes from a model fitted on the *other* folds (cross-
fitting), so no unit's own outcome, and so no unit's own treatment effect, shapes its
covariate. Fitting on every row and predicting the same rows would leak the effect into the
covariate and bias the adjusted estimate. The assignment is random, so a covariate made
only from pre-period features and other units is independent of each unit's variant, which
is all CUPED needs to stay unbiased.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import ExperimentDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cross_fitted", "predicted_covariate"]

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``fit_predict(train_features, train_target, test_features) -> test predictions``."""

_MIN_ROWS_PER_FOLD = 20


def predicted_covariate(
    frame: pd.DataFrame,
    features: Sequence[str],
    target: str,
    *,
    folds: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """The out-of-fold LightGBM prediction of ``target`` from pre-period ``features``.

    Put the result in a column and name it as the metric's ``pre_column``::

        data["revenue_hat"] = predicted_covariate(data, ["pre_revenue", "tenure"], "revenue")
        analyze(data, [Metric("revenue", pre_column="revenue_hat")])

    Args:
        frame: One row per unit, both variants together.
        features: Columns measured before exposure (never the variant, nor anything the
            treatment could change). Missing values are allowed: LightGBM routes them.
        target: The metric's column.
        folds: Cross-fitting folds (at least 2); each unit's prediction comes from a model
            fitted on the other folds.
        seed: Seeds the fold split and the model.

    Raises:
        ExperimentDataError: a missing or non-numeric column, a target with missing
            values, the target among the features, or too few rows for the folds.
    """
    _check(frame, features, target, folds)
    x = frame[list(features)].to_numpy(dtype=float)
    y = frame[target].to_numpy(dtype=float)
    return cross_fitted(x, y, fold_of(len(y), folds, seed), _lightgbm(seed))


def fold_of(rows: int, folds: int, seed: int) -> np.ndarray:
    """A random fold for each row, as balanced as ``rows`` allows."""
    return np.random.default_rng(seed).permutation(rows) % folds


def cross_fitted(
    features: np.ndarray, target: np.ndarray, folds: np.ndarray, fit_predict: FitPredict
) -> np.ndarray:
    """Each row predicted by a model fitted on the rows of every other fold."""
    prediction = np.empty(len(target), dtype=float)
    for fold in np.unique(folds):
        held_out = folds == fold
        prediction[held_out] = fit_predict(
            features[~held_out], target[~held_out], features[held_out]
        )
    return prediction


def _lightgbm(seed: int) -> FitPredict:
    """A small, deterministic LightGBM regressor (one thread, fixed seed): few shallow trees
    with large leaves, because a covariate that overfits its training folds predicts the
    held-out fold badly and removes less variance than plain CUPED would."""

    def fit_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
        from lightgbm import LGBMRegressor

        model = LGBMRegressor(
            n_estimators=100,
            learning_rate=0.05,
            num_leaves=7,
            min_child_samples=40,
            random_state=seed,
            n_jobs=1,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        model.fit(x, y)
        return np.asarray(model.predict(x_new), dtype=float)

    return fit_predict


def _check(frame: pd.DataFrame, features: Sequence[str], target: str, folds: int) -> None:
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if not isinstance(frame, pd.DataFrame):
        raise ExperimentDataError(f"expected a pandas DataFrame, got {type(frame).__name__}.")
    if isinstance(features, str) or not features:
        raise ExperimentDataError("name the pre-period feature columns as a list: ['pre_revenue'].")
    missing = [column for column in [*features, target] if column not in frame.columns]
    if missing:
        raise ExperimentDataError(f"no column {missing} in the data; it has {list(frame.columns)}.")
    if target in features:
        raise ExperimentDataError(
            f"the target {target!r} is among the features: the covariate must come from "
            "pre-period features only."
        )
    for column in [*features, target]:
        if not (is_numeric_dtype(frame[column]) or is_bool_dtype(frame[column])):
            raise ExperimentDataError(
                f"column {column!r} is not numeric (dtype {frame[column].dtype}); encode it."
            )
    gaps = int(frame[target].isna().sum())
    if gaps:
        raise ExperimentDataError(
            f"the target {target!r} has {gaps} missing values; fill them (0 for no events) "
            "or drop those units."
        )
    if folds < 2 or len(frame) < folds * _MIN_ROWS_PER_FOLD:
        raise ExperimentDataError(
            f"cross-fitting needs folds >= 2 and at least {_MIN_ROWS_PER_FOLD} rows per fold; "
            f"got folds={folds} for {len(frame)} rows."
        )
