"""Calibrating a model's probabilities on held-out data, and measuring how well they are.

A ranker trained with a listwise term, early-stopped on NDCG or fitted on a resampled set
gives scores that order well but do not mean "this often": a calibrator learned on validation
rows maps them to frequencies. Platt scaling (a logistic regression on the log-odds) is
strictly increasing, so it keeps every ranking, and needs few positives; isotonic regression
follows any monotone shape but needs more data and turns ranges of scores into ties.

Both are fitted with scikit-learn and kept as plain arrays (saved in ``.npz``, no pickles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from furima.exceptions import DataError

__all__ = ["CALIBRATION_METHODS", "Calibrator", "expected_calibration_error"]

CALIBRATION_METHODS = ("platt", "isotonic", "none")
_EPSILON = 1e-7


def _log_odds(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, np.float64), _EPSILON, 1 - _EPSILON)
    log_odds: np.ndarray = np.log(p) - np.log1p(-p)
    return log_odds


@dataclass(frozen=True)
class Calibrator:
    """A fitted monotone map from raw probabilities to calibrated ones.

    Attributes:
        method: ``"platt"``, ``"isotonic"`` or ``"none"`` (identity).
        parameters: Platt: ``[slope, intercept]`` on the log-odds; isotonic: the fitted step
            function's ``[2, k]`` knots (raw probability, calibrated probability),
            interpolated linearly between knots and clipped at the ends; none: empty.
    """

    method: str
    parameters: np.ndarray

    @classmethod
    def fit(cls, probabilities: np.ndarray, labels: np.ndarray, method: str) -> Calibrator:
        """Learn the map from ``probabilities`` to the 0/1 ``labels`` they should match."""
        if method not in CALIBRATION_METHODS:
            raise ValueError(f"`calibration` must be one of {CALIBRATION_METHODS}, got {method!r}.")
        raw, truth = np.asarray(probabilities, np.float64), np.asarray(labels, np.float64)
        if len(raw) != len(truth):
            raise DataError(f"{len(raw)} probabilities but {len(truth)} labels to calibrate on.")
        if method == "none" or len(np.unique(truth)) < 2:
            return cls("none", np.zeros(0))  # one class only: nothing to learn from
        if method == "platt":
            return cls("platt", _platt(raw, truth))
        return cls("isotonic", _isotonic(raw, truth))

    def __call__(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (float32), same shape as ``probabilities``."""
        raw = np.asarray(probabilities, np.float64)
        if self.method == "platt":
            slope, intercept = self.parameters
            calibrated: np.ndarray = 1.0 / (1.0 + np.exp(-(slope * _log_odds(raw) + intercept)))
        elif self.method == "isotonic":
            knots_x, knots_y = self.parameters
            calibrated = np.interp(raw, knots_x, knots_y)
        else:
            calibrated = raw
        return calibrated.astype(np.float32)


def _platt(raw: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Slope and intercept of a (barely regularised) logistic regression on the log-odds.

    A calibrator never reorders: when the fitted slope is not positive (scores that do not
    rank the held-out rows), the slope stays 1 and only the intercept is fitted.
    """
    from scipy.optimize import minimize_scalar
    from sklearn.linear_model import LogisticRegression

    log_odds = _log_odds(raw)
    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(log_odds.reshape(-1, 1), truth)
    slope = float(model.coef_[0, 0])
    if slope > 0:
        return np.array([slope, float(model.intercept_[0])])

    def loss(shift: float) -> float:
        z = log_odds + shift
        return float(np.mean(np.logaddexp(0, z) - truth * z))

    return np.array([1.0, float(minimize_scalar(loss, bounds=(-30, 30), method="bounded").x)])


def _isotonic(raw: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Knots of the increasing step function that best fits the labels."""
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(raw, truth)
    return np.vstack([model.X_thresholds_, model.y_thresholds_]).astype(np.float64)


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 10
) -> float:
    """Expected calibration error: over ``bins`` equal-width probability bins, the mean of
    ``|mean predicted - observed rate|`` weighted by the share of rows in each bin.

    0 means that among rows given probability ``p``, a fraction ``p`` had the event.
    """
    p, y = np.asarray(probabilities, np.float64), np.asarray(labels, np.float64)
    if len(p) != len(y):
        raise DataError(f"{len(p)} probabilities but {len(y)} labels.")
    if not len(p):
        raise DataError("the expected calibration error needs at least one row.")
    if bins < 1:
        raise ValueError(f"`bins` must be at least 1, but got {bins}.")
    which = np.minimum((np.clip(p, 0, 1) * bins).astype(np.int64), bins - 1)
    predicted = np.bincount(which, weights=p, minlength=bins)
    observed = np.bincount(which, weights=y, minlength=bins)
    return float(np.abs(predicted - observed).sum() / len(p))
