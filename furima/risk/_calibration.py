"""Calibrating a credit model's probability of default, and measuring how well it is calibrated.

A model's log-odds rank applicants well but are often over-confident on the rows it was
fitted on. Platt scaling fits ``calibrated = slope * log_odds + intercept`` by logistic
regression on log-odds the model gave to rows it did *not* see (cross-fitted out-of-fold
scores inside the training data), so the probability of default matches observed default
rates. Because the map is affine with a positive slope, the PD stays a monotone function of
the score, and a points scorecard stays a points scorecard: every bin's points are multiplied
by the slope and the intercept shifted (see :meth:`PlattScaling.rescale_points`).

The calibration error is measured as the expected calibration error over equal-count bins:
applicants sorted by PD, cut into ``bins`` groups of (nearly) equal size, and the
size-weighted mean of ``|mean PD - default rate|`` over the groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from furima.exceptions import DataError

__all__ = [
    "PlattScaling",
    "cross_fitted_log_odds",
    "expected_calibration_error",
    "fit_platt",
    "logit",
]

_EPSILON = 1e-12


def logit(probability: np.ndarray) -> np.ndarray:
    """The log-odds of ``probability``, clipped away from 0 and 1 so it stays finite."""
    p = np.clip(np.asarray(probability, dtype=float), _EPSILON, 1 - _EPSILON)
    log_odds: np.ndarray = np.log(p / (1 - p))
    return log_odds


@dataclass(frozen=True)
class PlattScaling:
    """An affine map of log-odds of default: ``slope * log_odds + intercept``.

    Attributes:
        slope: Multiplies the log-odds (positive, so the ranking is kept).
        intercept: Added to the log-odds.
    """

    slope: float = 1.0
    intercept: float = 0.0

    def log_odds(self, log_odds: np.ndarray) -> np.ndarray:
        """The calibrated log-odds of default."""
        return self.slope * np.asarray(log_odds, dtype=float) + self.intercept

    def probability(self, log_odds: np.ndarray) -> np.ndarray:
        """The calibrated probability of default."""
        probability: np.ndarray = 1.0 / (1.0 + np.exp(-self.log_odds(log_odds)))
        return probability

    def rescale_points(
        self, points: np.ndarray, intercept_points: float, *, pdo: float, base_score: float,
        base_odds: float,
    ) -> tuple[np.ndarray, float]:  # fmt: skip
        """Bin points and intercept points of a scorecard whose score gives the calibrated PD.

        With ``factor = pdo / ln 2`` and ``offset = base_score - factor * ln(base_odds)`` a
        score is ``offset - factor * log_odds``; calibrating the log-odds multiplies every
        bin's points by ``slope`` and moves the intercept points to
        ``slope * intercept_points + (1 - slope) * offset - factor * intercept``.
        """
        factor = pdo / math.log(2)
        offset = base_score - factor * math.log(base_odds)
        shifted = self.slope * intercept_points + (1 - self.slope) * offset
        return self.slope * np.asarray(points, dtype=float), shifted - factor * self.intercept


def fit_platt(log_odds: np.ndarray, bad: np.ndarray) -> PlattScaling:
    """Fit Platt scaling of out-of-fold ``log_odds`` to the outcomes ``bad`` (1 = default).

    An unpenalised one-feature logistic regression; a slope that comes out non-positive
    (scores that do not rank at all) is refused, since it would reverse or flatten the score.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(log_odds, dtype=float).reshape(-1, 1)
    y = np.asarray(bad, dtype=int)
    if len(np.unique(y)) != 2:
        raise DataError("calibration needs both good and bad outcomes among its rows.")
    model = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
    slope = float(model.coef_[0, 0])
    if not slope > 0:
        raise DataError(
            f"the out-of-fold scores do not rank defaults (Platt slope {slope:.3g}); the "
            "features carry no signal to calibrate, check the target and features."
        )
    return PlattScaling(slope=slope, intercept=float(model.intercept_[0]))


def expected_calibration_error(
    probability: np.ndarray, bad: np.ndarray, *, bins: int = 10
) -> float:
    """Expected calibration error over ``bins`` equal-count bins of ``probability``.

    Rows are sorted by probability and cut into ``bins`` groups of nearly equal size; the
    result is the size-weighted mean of ``|mean probability - default rate|``.
    """
    p = np.asarray(probability, dtype=float)
    y = np.asarray(bad, dtype=float)
    if p.shape != y.shape or p.ndim != 1 or len(p) < bins:
        raise DataError(
            f"need one outcome per probability and at least {bins} rows, but got "
            f"{p.shape} probabilities and {y.shape} outcomes."
        )
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, bins)
    gaps = [len(g) * abs(float(p[g].mean() - y[g].mean())) for g in groups]
    return float(sum(gaps) / len(p))


def cross_fitted_log_odds(
    fit_log_odds: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    bad: np.ndarray,
    *,
    folds: int,
    seed: int,
) -> np.ndarray:
    """Out-of-fold log-odds of every training row, for fitting the calibration on.

    Args:
        fit_log_odds: ``(train_rows, train_bad, held_out_rows) -> log-odds of the held-out
            rows``, given row positions; it fits on the first and scores the second.
        bad: The outcomes (1 = default) of all rows.
        folds: Stratified folds; fewer are used when the rarer class has fewer rows.
        seed: Seed of the fold assignment.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(bad, dtype=int)
    splits = min(folds, int(np.bincount(y, minlength=2).min()))
    if splits < 2:
        raise DataError("calibration needs at least two good and two bad rows; add rows.")
    out = np.empty(len(y), dtype=float)
    splitter = StratifiedKFold(splits, shuffle=True, random_state=seed)
    for train, held_out in splitter.split(np.zeros(len(y)), y):
        out[held_out] = fit_log_odds(train, y[train], held_out)
    return out
