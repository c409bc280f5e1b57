"""Position bias: how much less often an item is looked at lower down, and how to undo it.

Under the position-based click model a click needs the item to be examined (probability
``theta[k]``, set by the position ``k`` alone) and found relevant (set by the item and
context): ``P(click) = theta[k] * relevance``. The estimators here measure ``theta`` relative
to the first position, from randomised logs (:func:`estimate_from_randomized`), by
intervention harvesting over several logging policies
(:func:`estimate_by_intervention_harvesting`) or by regression EM on one biased log
(:func:`furima.ranking.estimate_by_regression_em`); :func:`ipw_weights` turns them into
training weights and :func:`item_click_rates` into debiased item click rates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError
from furima.ranking._click_logs import ClickLog

__all__ = [
    "PositionPropensities",
    "estimate_by_intervention_harvesting",
    "estimate_from_randomized",
    "ipw_weights",
    "item_click_rates",
]

Estimate = Callable[[Sequence[ClickLog]], np.ndarray]


@dataclass(frozen=True)
class PositionPropensities:
    """Examination probability per position, relative to the first (reference) position.

    Attributes:
        positions: The positions, ascending; the first is the reference (value 1).
        values: ``theta[k] / theta[reference]`` per position.
        method: How they were estimated (``"randomized"``, ``"intervention_harvesting"``,
            ``"regression_em"``, or ``"given"``).
        low, high: Bootstrap percentile interval per position (None without bootstrap).
        confidence: The interval's coverage, e.g. 0.9.
        impressions, clicks: How much evidence the estimate rests on.
    """

    positions: tuple[int, ...]
    values: tuple[float, ...]
    method: str = "given"
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    confidence: float | None = None
    impressions: int = 0
    clicks: int = 0

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.values) or not self.positions:
            raise DataError(
                f"one propensity per position is needed, but got {len(self.values)} values "
                f"for positions {self.positions}."
            )
        for position, value in zip(self.positions, self.values, strict=True):
            if not (np.isfinite(value) and value > 0):
                raise DataError(
                    f"the propensity of position {position} is {value}, but it must be a "
                    "finite number > 0; estimate it from more clicks at that position "
                    "(or pool logs), or drop the impressions shown there."
                )

    @classmethod
    def given(cls, values: Mapping[int, float]) -> PositionPropensities:
        """Propensities known in advance, e.g. ``{1: 1.0, 2: 0.6, 3: 0.4}``."""
        positions = tuple(sorted(int(p) for p in values))
        return cls(positions, tuple(float(values[p]) for p in positions))

    @property
    def reference(self) -> int:
        return self.positions[0]

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.positions, self.values, strict=True))

    def of(self, positions: np.ndarray | Sequence[int]) -> np.ndarray:
        """The propensity of each position in ``positions`` (float64)."""
        asked = np.asarray(positions)
        known = np.asarray(self.positions)
        slot = np.searchsorted(known, asked)
        found = (slot < len(known)) & (known[np.minimum(slot, len(known) - 1)] == asked)
        if not found.all():
            unknown = sorted({int(p) for p in np.unique(asked[~found])})
            raise DataError(
                f"positions {unknown} have no propensity (known: {list(self.positions)}); "
                "estimate propensities from logs that show items there, or drop those rows."
            )
        values: np.ndarray = np.asarray(self.values, np.float64)[slot]
        return values

    def to_json(self) -> dict[str, Any]:
        """Plain data (JSON-able), e.g. for a benchmark row or a model manifest."""
        return {
            "positions": list(self.positions),
            "values": [round(v, 6) for v in self.values],
            "method": self.method,
            "low": None if self.low is None else [round(v, 6) for v in self.low],
            "high": None if self.high is None else [round(v, 6) for v in self.high],
            "confidence": self.confidence,
            "impressions": self.impressions,
            "clicks": self.clicks,
        }


def ipw_weights(
    positions: np.ndarray | Sequence[int],
    propensities: PositionPropensities | Mapping[int, float],
    *,
    clip: float | None = None,
    self_normalize: bool = False,
) -> np.ndarray:
    """Inverse-propensity weights ``1 / theta[position]`` for training a ranker on clicks.

    Args:
        positions: The position each training impression was shown at.
        propensities: Estimated (or given) propensities per position.
        clip: Cap on a weight (e.g. 10): bounds the variance that rarely examined positions
            add, at the price of some bias.
        self_normalize: Scale the weights to average 1, so a loss keeps its magnitude.

    Raises:
        DataError: A propensity is zero, negative or not a number, or a position has none.
    """
    table = (
        propensities
        if isinstance(propensities, PositionPropensities)
        else PositionPropensities.given(propensities)
    )
    weights = 1.0 / table.of(positions)
    if clip is not None:
        if not clip > 0:
            raise DataError(f"clip must be a weight > 0, but got {clip}.")
        weights = np.minimum(weights, clip)
    if self_normalize and len(weights):
        weights = weights / weights.mean()
    return weights


def item_click_rates(
    log: ClickLog,
    propensities: PositionPropensities | None = None,
    *,
    weights: np.ndarray | None = None,
    prior_strength: float = 0.0,
) -> pd.DataFrame:
    """Click rate per item, corrected for where it was shown.

    The rate is clicks over expected examinations, ``sum(w * click) / sum(w * theta)``, the
    position-based model's estimate of relevance (naive click rate when ``propensities`` is
    None); ``weights`` (e.g. :meth:`ClickLog.policy_weights`) reweight impressions to another
    policy. ``prior_strength`` shrinks every rate toward the overall one by that many
    pseudo-examinations (a beta prior), so items with few impressions do not lead or trail
    on one lucky click.

    Returns:
        A frame indexed by item with ``impressions``, ``clicks``, ``examinations`` and
        ``rate``, highest rate first.
    """
    frame = log.frame
    theta = (
        np.ones(len(frame))
        if propensities is None
        else propensities.of(frame["position"].to_numpy())
    )
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (len(frame),) or not np.isfinite(w).all() or (w < 0).any():
        raise DataError(f"weights must be {len(frame)} finite numbers >= 0, one per impression.")
    if prior_strength < 0:
        raise DataError(f"prior_strength must be >= 0, but got {prior_strength}.")
    table = pd.DataFrame(
        {
            "item": frame["item"],
            "impressions": 1,
            "clicks": frame["click"].astype(np.int64),
            "weighted_clicks": w * frame["click"],
            "examinations": w * theta,
        }
    ).groupby("item", sort=True)[["impressions", "clicks", "weighted_clicks", "examinations"]]
    rates = table.sum()
    overall = rates["weighted_clicks"].sum() / max(rates["examinations"].sum(), 1e-300)
    rates["rate"] = (rates["weighted_clicks"] + prior_strength * overall) / (
        rates["examinations"] + prior_strength
    ).clip(lower=1e-300)
    return rates.drop(columns="weighted_clicks").sort_values("rate", ascending=False)


def estimate_from_randomized(
    log: ClickLog, *, bootstrap: int = 200, confidence: float = 0.9, seed: int = 0
) -> PositionPropensities:
    """Propensities from a log whose items were placed uniformly at random.

    With random placement every position sees the same mix of items, so the click rate per
    position is proportional to its examination probability.
    """
    return estimate_with_interval(
        [log], lambda logs: _randomized(logs[0]), "randomized", bootstrap, confidence, seed
    )


def estimate_by_intervention_harvesting(
    logs: Sequence[ClickLog], *, bootstrap: int = 200, confidence: float = 0.9, seed: int = 0
) -> PositionPropensities:
    """Propensities from the same items shown at different positions (Agarwal et al. 2019).

    Pools the logs of several policies (e.g. a random and a Thompson-sampling one); for each
    pair of positions it compares the click rates of the items shown at both, each item
    weighted equally, and fits one examination probability per position to all pairs at once
    (the AllPairs extremum estimator), so position pairs that share few items count less.
    """
    if not logs:
        raise DataError("intervention harvesting needs at least one click log.")
    return estimate_with_interval(
        list(logs), _harvested, "intervention_harvesting", bootstrap, confidence, seed
    )


def estimate_with_interval(
    logs: list[ClickLog],
    estimate: Estimate,
    method: str,
    bootstrap: int,
    confidence: float,
    seed: int,
) -> PositionPropensities:
    """The point estimate of ``estimate`` on ``logs`` and its bootstrap interval."""
    if not 0 < confidence < 1:
        raise DataError(f"confidence must be in (0, 1), but got {confidence}.")
    positions = tuple(sorted({p for log in logs for p in log.positions}))
    point = estimate(logs)
    low = high = None
    if bootstrap > 0:
        low, high = bootstrap_interval(logs, estimate, bootstrap, confidence, seed)
    return PositionPropensities(
        positions,
        tuple(float(v) for v in point),
        method,
        low,
        high,
        confidence if bootstrap > 0 else None,
        sum(len(log) for log in logs),
        sum(log.clicks for log in logs),
    )


def bootstrap_interval(
    logs: Sequence[ClickLog], estimate: Estimate, rounds: int, confidence: float, seed: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Percentile interval of ``estimate`` over ``rounds`` resamples of every log.

    Replicates in which the estimate is undefined (no clicks at a position) are left out.
    """
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(rounds):
        try:
            replicates.append(estimate([log.resample(rng) for log in logs]))
        except DataError:
            continue
    if not replicates:
        raise DataError("no bootstrap replicate had clicks at every position; log more.")
    tail = (1 - confidence) / 2 * 100
    values = np.vstack(replicates)
    low = np.percentile(values, tail, axis=0)
    high = np.percentile(values, 100 - tail, axis=0)
    return tuple(float(v) for v in low), tuple(float(v) for v in high)


def click_table(logs: Sequence[ClickLog]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Impressions and clicks per (item, position) over ``logs``, and the positions."""
    items = np.concatenate([log.frame["item"].to_numpy(object) for log in logs])
    where = np.concatenate([log.frame["position"].to_numpy(np.int64) for log in logs])
    click = np.concatenate([log.frame["click"].to_numpy(np.float64) for log in logs])
    item, _ = pd.factorize(items)
    positions, slot = np.unique(where, return_inverse=True)
    cell = item * len(positions) + slot
    size = (item.max() + 1) * len(positions)
    shape = (item.max() + 1, len(positions))
    shown = np.bincount(cell, minlength=size).astype(np.float64).reshape(shape)
    clicked = np.bincount(cell, weights=click, minlength=size).reshape(shape)
    return shown, clicked, positions


def _randomized(log: ClickLog) -> np.ndarray:
    shown, clicked, positions = click_table([log])
    rate = clicked.sum(axis=0) / shown.sum(axis=0)
    _require_clicks(rate, positions, "a randomised log")
    relative: np.ndarray = rate / rate[0]
    return relative


def _require_clicks(clicks: np.ndarray, positions: np.ndarray, source: str) -> None:
    empty = [int(p) for p, c in zip(positions, clicks, strict=True) if not c > 0]
    if empty:
        raise DataError(
            f"{source} has no clicks at positions {empty}, so their propensity cannot be "
            "estimated; log more impressions there, pool campaigns, or drop those positions."
        )


def _harvested(logs: Sequence[ClickLog]) -> np.ndarray:
    """AllPairs extremum estimate over the interventional sets of every position pair."""
    shown, clicked, positions = click_table(logs)
    rate = np.divide(clicked, shown, out=np.zeros_like(clicked), where=shown > 0)
    pairs, hits, misses = [], [], []
    for a in range(len(positions)):
        for b in range(a + 1, len(positions)):
            both = (shown[:, a] > 0) & (shown[:, b] > 0)
            if both.any():
                pairs.append((a, b))
                hits.append((rate[both, a].sum(), rate[both, b].sum()))
                misses.append((both.sum() - hits[-1][0], both.sum() - hits[-1][1]))
    if not pairs:
        raise DataError(
            "no item was shown at two different positions, so nothing can be harvested; "
            "pool logs of policies that place items differently, or use a randomised log."
        )
    return _all_pairs_fit(len(positions), pairs, np.asarray(hits), np.asarray(misses), positions)


def _all_pairs_fit(
    n_positions: int,
    pairs: list[tuple[int, int]],
    hits: np.ndarray,
    misses: np.ndarray,
    positions: np.ndarray,
) -> np.ndarray:
    """Maximise sum over pairs of ``c log(theta r) + m log(1 - theta r)`` (theta[0] = 1)."""
    from scipy.optimize import minimize  # lazy: scipy.optimize is slow to import

    pair_index = np.asarray(pairs, np.int64).reshape(-1, 2)
    lonely = sorted(set(positions.tolist()) - set(positions[pair_index.ravel()].tolist()))
    if lonely:
        raise DataError(
            f"no item was shown both at positions {lonely} and at another position, so "
            "their propensity cannot be harvested; pool logs of policies that move items "
            "around, or use a randomised log."
        )
    clicked = np.zeros(n_positions)
    np.add.at(clicked, pair_index.ravel(), hits.ravel())
    _require_clicks(clicked, positions, "the items shown at two positions")
    base_rate = np.maximum(hits.sum(axis=1) / (hits + misses).sum(axis=1), 1e-9)
    start = np.r_[np.zeros(n_positions - 1), np.log(base_rate)]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        log_theta = np.r_[0.0, params[: n_positions - 1]]
        log_p = log_theta[pair_index] + params[n_positions - 1 :, None]
        p = np.minimum(np.exp(log_p), 1 - 1e-9)
        value = -(hits * log_p + misses * np.log1p(-p)).sum()
        slope = -(hits - misses * p / (1 - p))  # d value / d log_p
        grad_theta = np.zeros(n_positions)
        np.add.at(grad_theta, pair_index.ravel(), slope.ravel())
        return float(value), np.r_[grad_theta[1:], slope.sum(axis=1)]

    bounds = [(-20.0, 5.0)] * (n_positions - 1) + [(-30.0, 0.0)] * len(pairs)
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    relative: np.ndarray = np.exp(np.r_[0.0, found.x[: n_positions - 1]])
    return relative
