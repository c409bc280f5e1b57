"""Regression EM (Wang et al., WSDM 2018): position propensities from one biased click log.

The position-based model says a click needs examination (``theta[position]``) and relevance
(``gamma`` of the item in its context). A click reveals both; a non-click leaves each
uncertain, and EM alternates between the posterior of the two hidden variables per
impression (E-step) and new ``theta`` and ``gamma`` (M-step). ``gamma`` comes from the item
alone (the classic position-based-model EM) or from a logistic regression on the item and
the log's context features (regression EM), so the same item may be more relevant to some
users than to others. The items must move between positions in the log (any policy that
samples does this), otherwise position and item cannot be told apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from furima.exceptions import DataError
from furima.ranking._click_logs import ClickLog
from furima.ranking._position_bias import PositionPropensities, estimate_with_interval

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
        iterations: Most EM rounds; it stops earlier once no relative propensity moves by
            more than ``tolerance``.
        bootstrap: Resamples for the interval (each runs EM again); 0 for none.
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
    fit_relevance = _item_relevance(log) if relevance == "item" else _regression_relevance(log)
    theta = np.full(len(positions), 0.5)
    gamma = fit_relevance(np.clip(click / 0.5, _EPS, 1 - _EPS))
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


def _item_relevance(log: ClickLog) -> Relevance:
    """M-step for gamma with one relevance per item: the mean posterior of its impressions."""
    _, item = np.unique(log.frame["item"].to_numpy(str), return_inverse=True)
    shown = np.bincount(item).astype(np.float64)

    def fit(relevant: np.ndarray) -> np.ndarray:
        per_item = np.bincount(item, weights=relevant, minlength=len(shown)) / shown
        clipped: np.ndarray = np.clip(per_item[item], _EPS, 1 - _EPS)
        return clipped

    return fit


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
