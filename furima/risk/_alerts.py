"""Turning fraud scores into decisions: a daily alert budget and a cost-based threshold.

A fraud team reviews a fixed number of alerts a day, so :func:`alert_budget` flags the ``k``
highest scores of each calendar day. When reviews have a cost and caught frauds save their
amount, :func:`cost_threshold` picks the score threshold that maximises the money saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError
from furima.risk._time_split import NS_PER_SECOND, times_as_ns

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

__all__ = ["alert_budget", "cost_threshold"]

NS_PER_DAY = 86_400 * NS_PER_SECOND


def alert_budget(
    scores: Sequence[float] | np.ndarray | pd.Series,
    times: Sequence[object] | np.ndarray | pd.Series | pd.Index,
    k_per_day: int,
) -> np.ndarray:
    """Flag the ``k_per_day`` highest scores of each calendar day (all of a smaller day).

    Days are calendar days of ``times`` (datetimes, or seconds since an epoch: day
    ``floor(seconds / 86400)``). Ties in score go to the earlier row, so the mask is
    deterministic.

    Returns:
        A boolean array, one per row, in the input order.

    Raises:
        DataError: ``k_per_day`` not a positive integer, lengths that differ, or missing
            scores or times.
    """
    if isinstance(k_per_day, bool) or not isinstance(k_per_day, int | np.integer) or k_per_day < 1:
        raise DataError(f"k_per_day must be a positive integer, but got {k_per_day!r}")
    values = _finite_scores(scores)
    days = _days(times, len(values))
    order = np.lexsort((np.arange(len(values)), -values, days))
    sorted_days = days[order]
    first_of_day = np.searchsorted(sorted_days, sorted_days, side="left")
    rank_in_day = np.arange(len(values)) - first_of_day
    mask = np.zeros(len(values), dtype=bool)
    mask[order[rank_in_day < k_per_day]] = True
    return mask


def cost_threshold(
    scores: Sequence[float] | np.ndarray | pd.Series,
    labels: Sequence[int] | np.ndarray | pd.Series,
    amounts: Sequence[float] | np.ndarray | pd.Series,
    review_cost: float,
) -> tuple[float, float]:
    """The threshold that maximises fraud amount caught minus review cost.

    Every row with ``score >= threshold`` is reviewed at ``review_cost``; a reviewed fraud
    saves its amount. All distinct scores are tried as thresholds, and so is reviewing
    nothing (threshold ``inf``, saving 0), so the saving returned is never negative.

    Returns:
        ``(threshold, expected_saving)`` on the rows given (use held-out rows).

    Raises:
        DataError: lengths that differ, missing values, labels other than 0/1, or a negative
            or non-finite review cost.
    """
    if not (np.isfinite(review_cost) and review_cost >= 0):
        raise DataError(f"review_cost must be a finite number >= 0, but got {review_cost!r}")
    values = _finite_scores(scores)
    frauds = _binary(labels, len(values))
    money = np.asarray(amounts, dtype=np.float64)
    if money.shape != values.shape or not np.isfinite(money).all():
        raise DataError(
            f"amounts must be {len(values)} finite numbers, one per score; got {money.shape[0]} "
            f"values ({int((~np.isfinite(money)).sum())} missing or infinite)"
        )
    order = np.argsort(-values, kind="stable")
    caught = np.cumsum(money[order] * frauds[order])
    savings = caught - review_cost * np.arange(1, len(values) + 1)
    # Only the last row of a run of equal scores is a reachable cut.
    sorted_scores = values[order]
    cut = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    savings = np.where(cut, savings, -np.inf)
    best = int(np.argmax(savings)) if len(savings) else 0
    if not len(savings) or savings[best] <= 0:
        return float("inf"), 0.0
    return float(sorted_scores[best]), float(savings[best])


def _finite_scores(scores: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise DataError(
            "scores must be a one-dimensional list of finite numbers; "
            f"got shape {values.shape} with {int((~np.isfinite(values)).sum())} missing values"
        )
    return values


def _binary(labels: Sequence[int] | np.ndarray | pd.Series, n: int) -> np.ndarray:
    values = np.asarray(labels, dtype=np.float64)
    if values.shape != (n,) or not np.isin(values, (0.0, 1.0)).all():
        raise DataError(f"labels must be {n} values of 0 or 1, one per score")
    return values


def _days(times: Sequence[object] | np.ndarray | pd.Series | pd.Index, n: int) -> np.ndarray:
    """Calendar day numbers of datetimes or seconds."""
    import pandas as pd

    column = pd.Series(np.asarray(times) if not isinstance(times, pd.Series) else times.values)
    if len(column) != n:
        raise DataError(f"times must have one value per score: {len(column)} times, {n} scores")
    moments = times_as_ns(pd.DataFrame({"time": column}), "time")
    days: np.ndarray = np.floor_divide(moments, NS_PER_DAY)
    return days
