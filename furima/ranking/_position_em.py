"""Regression EM (Wang et al., WSDM 2018): position propensities from one biased click log.

The position-based model says a click needs examination (``theta[position]``) and relevance
(``gamma`` of the item in its context). A click reveals both; a non-click leaves each
uncertain, and EM alternates between the posterior of the two hidden variables per
impression (E-step) and new ``theta`` and ``gamma`` (M-step). ``gamma`` comes from the item
alone (the classic position-based model) or from a logistic regression on the item and the
log's context features (regression EM), so the same item may be more relevant to some users
than to others. With rare clicks EM crawls (thousands of rounds to settle), so the per-item
model's likelihood is maximised directly, and regression EM starts from that point. The
items must move between positions in the log (any policy that samples does this),
otherwise position and item cannot be told apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from furima.exceptions import DataError
from furima.ranking._click_logs import ClickLog
from furima.ranking._position_bias import (
    PositionPropensities,
    click_table,
    estimate_with_interval,
)

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

__all__ = ["estimate_by_regression_em"]

Relevance = Callable[[np.ndarray], np.ndarray]
_EPS = 1e-9


def estimate_by_regression_em(
    log: ClickLog,
    *,
    relevance: Literal["item", "features"] = "item",
    iterations: int = 200,
    tolerance: float = 1e-5,
    bootstrap: int = 50,
    confidence: float = 0.9,
    seed: int = 0,
) -> PositionPropensities:
    """Propensities from one log whose items were shown at several positions.

    Args:
        log: The impressions; ``relevance="features"`` also reads its ``features``.
        relevance: ``"item"``: one relevance per item; ``"features"``: a logistic regression
            on the item (one-hot) and the log's numeric context features.
        iterations: Most EM rounds with ``relevance="features"``; it stops earlier once no
            relative propensity moves by more than ``tolerance``. (``"item"`` is solved
            directly: the maximum EM would reach.)
        bootstrap: Resamples for the interval (each estimates again); 0 for none.
    """
    if relevance not in ("item", "features"):
        raise DataError(f"relevance must be 'item' or 'features', but got {relevance!r}.")
    if relevance == "features" and not log.features:
        raise DataError(
            "relevance='features' needs context features; read the log with "
            "ClickLog.from_frame(..., features=[...]) or use relevance='item'."
        )
    if iterations < 1:
        raise DataError(f"iterations must be >= 1, but got {iterations}.")

    def estimate(logs: Sequence[ClickLog]) -> np.ndarray:
        return _em(logs[0], relevance, iterations, tolerance)

    return estimate_with_interval([log], estimate, "regression_em", bootstrap, confidence, seed)


def _em(log: ClickLog, relevance: str, iterations: int, tolerance: float) -> np.ndarray:
    """Relative examination probability per position, by EM under the position-based model."""
    frame = log.frame
    positions, slot = np.unique(frame["position"].to_numpy(), return_inverse=True)
    click = frame["click"].to_numpy(np.float64)
    per_position = np.bincount(slot, minlength=len(positions)).astype(np.float64)
    if not (np.bincount(slot, weights=click, minlength=len(positions)) > 0).all():
        raise DataError(
            "regression EM needs clicks at every position; log more impressions or pool logs."
        )
    start = position_model_ml(log)
    if relevance == "item":
        return start
    fit_relevance = _regression_relevance(log)
    theta = start / start.max()
    gamma = fit_relevance(np.clip(click / theta[slot], _EPS, 1 - _EPS))
    for _ in range(iterations):
        examined, relevant = _posteriors(theta[slot], gamma, click)
        new_theta = np.bincount(slot, weights=examined, minlength=len(positions)) / per_position
        gamma = fit_relevance(relevant)
        moved = np.abs(new_theta / new_theta[0] - theta / theta[0]).max()
        theta = np.clip(new_theta, _EPS, 1.0)
        if moved < tolerance:
            break
    relative: np.ndarray = theta / theta[0]
    return relative


def _posteriors(
    theta: np.ndarray, gamma: np.ndarray, click: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(examined) and P(relevant) per impression given its click (the E-step)."""
    unclicked = 1.0 - theta * gamma
    examined = click + (1 - click) * theta * (1 - gamma) / unclicked
    relevant = click + (1 - click) * (1 - theta) * gamma / unclicked
    return examined, relevant


def position_model_ml(log: ClickLog) -> np.ndarray:
    """Relative propensities maximising the position-based model's likelihood, one relevance
    per item: the point EM with per-item relevance converges to, reached directly (EM needs
    thousands of rounds when clicks are rare).
    """
    from scipy.optimize import minimize  # lazy: scipy.optimize is slow to import

    shown, clicked, positions = click_table([log])
    missed = shown - clicked
    seen = shown > 0
    n_positions, n_items = len(positions), shown.shape[0]
    item_rate = clicked.sum(axis=1) / shown.sum(axis=1)
    start = np.r_[np.zeros(n_positions - 1), np.log(np.clip(item_rate, 1e-6, 0.5))]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        log_theta = np.r_[0.0, params[: n_positions - 1]]
        log_p = np.where(seen, params[n_positions - 1 :, None] + log_theta[None, :], 0.0)
        p = np.minimum(np.exp(log_p), 1 - 1e-9)
        value = -(clicked * log_p + missed * np.log1p(-p)).sum()
        slope = -(clicked - missed * p / (1 - p)) * seen  # d value / d log_p
        return float(value), np.r_[slope.sum(axis=0)[1:], slope.sum(axis=1)]

    bounds = [(-20.0, 5.0)] * (n_positions - 1) + [(-30.0, 0.0)] * n_items
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    relative: np.ndarray = np.exp(np.r_[0.0, found.x[: n_positions - 1]])
    return relative


def _regression_relevance(log: ClickLog) -> Relevance:
    """M-step for gamma by a logistic regression on soft labels (item one-hot + features)."""
    from scipy.sparse import vstack
    from sklearn.linear_model import LogisticRegression  # lazy: heavy import

    design = _design(log)
    model = LogisticRegression(C=1.0, max_iter=300, warm_start=True)
    n = design.shape[0]
    doubled = vstack([design, design]).tocsr()
    labels = np.r_[np.ones(n), np.zeros(n)]

    def fit(relevant: np.ndarray) -> np.ndarray:
        model.fit(doubled, labels, sample_weight=np.r_[relevant, 1 - relevant] + _EPS)
        probability: np.ndarray = np.clip(model.predict_proba(design)[:, 1], _EPS, 1 - _EPS)
        return probability

    return fit


def _design(log: ClickLog) -> csr_matrix:
    """Item one-hot next to the standardised context features, sparse."""
    from scipy.sparse import csr_matrix, hstack

    _, item = np.unique(log.frame["item"].to_numpy(str), return_inverse=True)
    rows = np.arange(len(item))
    one_hot = csr_matrix((np.ones(len(item)), (rows, item)), shape=(len(item), item.max() + 1))
    context = log.frame[list(log.features)].to_numpy(np.float64)
    spread = context.std(axis=0)
    context = (context - context.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return hstack([one_hot, csr_matrix(context)]).tocsr()
