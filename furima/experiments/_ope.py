"""Off-policy evaluation: a new policy's mean reward estimated from another policy's log.

A logging policy showed action ``a_i`` in round ``i`` with probability ``p_i`` (its
propensity) and saw reward ``r_i``. The value of a target policy ``pi`` (the mean reward it
would earn per round) is estimated by

- ``dm`` (direct method): ``sum_a pi(a | i) q(i, a)`` with ``q`` a reward model;
- ``ips`` (inverse propensity scoring): ``w_i r_i`` with ``w_i = pi(a_i | i) / p_i``;
- ``snips`` (self-normalised IPS): ``sum w r / sum w``, biased but steadier;
- ``dr`` (doubly robust): DM plus the IPS-weighted residual ``w_i (r_i - q(i, a_i))``;
- ``switch_dr``: DR where the residual is kept only when ``w_i <= switch_tau`` (large weights
  fall back to the model): ``switch_tau=inf`` is DR, ``switch_tau=0`` is DM; ``"auto"``
  picks the threshold from the data (SLOPE).

Each is a mean of per-round contributions (SNIPS a ratio of two means), as in Dudik et al.
(2011) and Wang et al. (2017), in the form the Open Bandit Pipeline uses (Saito et al. 2021).
Intervals: ``interval="normal"`` is the normal approximation from the per-round
contributions (the delta method for the SNIPS ratio); ``interval="bootstrap"`` resamples
rounds (seeded) and takes percentiles. Both hold the reward model fixed, so DM's interval
shows the spread of the contexts, not the model's own error (it is far too narrow when the
model is wrong); ``interval="refit_bootstrap"`` refits the model on every resample.

Slates (a list of positions, as in the Open Bandit Dataset) follow the Open Bandit Pipeline:
the action is ``(item, position)``, ``target_action_probs`` has shape ``(rounds, actions,
positions)`` and each round is scored at the position it was logged in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np

from furima.exceptions import ExperimentDataError
from furima.experiments._ope_checks import (
    check_options,
    feature_rows,
    finite_vector,
    index_vector,
    propensity_vector,
    target_at_logged_position,
    target_shaped,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from furima.experiments._reward_model import RewardModel

__all__ = ["ESTIMATORS", "SWITCH_TAUS", "Estimator", "LoggedBandit", "PolicyValue", "estimate"]

Estimator: TypeAlias = Literal["dm", "ips", "snips", "dr", "switch_dr"]
ESTIMATORS: tuple[Estimator, ...] = ("dm", "ips", "snips", "dr", "switch_dr")
# Switch-DR's candidate thresholds for switch_tau="auto", least biased first. Importance
# weights average 1 under the logging policy, so the grid spans that scale up to "never".
SWITCH_TAUS: tuple[float, ...] = (
    math.inf,
    1000.0,
    500.0,
    200.0,
    100.0,
    50.0,
    20.0,
    10.0,
    5.0,
    2.0,
    1.0,
)
_NEEDS_MODEL = frozenset({"dm", "dr", "switch_dr"})


class LoggedBandit:
    """Logged bandit feedback, one entry per round; validated when built.

    Attributes:
        actions: The action the logging policy took (integers from 0).
        rewards: The reward seen (clicks: 0 or 1).
        propensities: The probability the logging policy gave that action (at that
            position), in ``(0, 1]``.
        positions: The slot of a slate the action was shown in (integers from 0), or
            ``None`` for one action per round.
        contexts: Features of each round, shape ``(rounds, features)`` (user features).
        action_contexts: Features of each action in each round, shape ``(rounds, actions)``
            or ``(rounds, actions, features)`` (a user's affinity to each item).

    Raises:
        ExperimentDataError: an empty log, mismatched lengths, propensities outside
            ``(0, 1]``, missing values, or actions and positions that are not indices.
    """

    __slots__ = ("action_contexts", "actions", "contexts", "positions", "propensities", "rewards")

    def __init__(
        self,
        actions: ArrayLike,
        rewards: ArrayLike,
        propensities: ArrayLike,
        positions: ArrayLike | None = None,
        contexts: ArrayLike | None = None,
        action_contexts: ArrayLike | None = None,
    ) -> None:
        self.rewards = finite_vector(rewards, "rewards")
        n = self.rewards.size
        if n == 0:
            raise ExperimentDataError("the log is empty: pass at least one logged round.")
        self.actions = index_vector(actions, "actions", n)
        self.propensities = propensity_vector(propensities, n)
        self.positions = None if positions is None else index_vector(positions, "positions", n)
        self.contexts = None if contexts is None else feature_rows(contexts, "contexts", n)
        self.action_contexts = (
            None if action_contexts is None else feature_rows(action_contexts, "action_contexts", n)
        )

    def __repr__(self) -> str:
        slate = "" if self.positions is None else f", positions={int(self.positions.max()) + 1}"
        return f"LoggedBandit(rounds={self.n_rounds}, actions={int(self.actions.max()) + 1}{slate})"

    @property
    def n_rounds(self) -> int:
        return int(self.rewards.size)

    def take(self, rows: ArrayLike) -> LoggedBandit:
        """The log restricted to ``rows`` (indices, repeats allowed: a bootstrap resample)."""
        index = np.asarray(rows, dtype=np.int64)

        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[index]

        return LoggedBandit(
            self.actions[index],
            self.rewards[index],
            self.propensities[index],
            pick(self.positions),
            pick(self.contexts),
            pick(self.action_contexts),
        )


@dataclass(frozen=True)
class PolicyValue:
    """One estimator's estimate of a target policy's mean reward per round.

    Attributes:
        estimator: ``"dm"``, ``"ips"``, ``"snips"``, ``"dr"`` or ``"switch_dr"``.
        value: The estimated mean reward.
        ci_low: Lower end of the ``1 - alpha`` confidence interval.
        ci_high: Upper end.
        standard_error: Standard error from the per-round contributions.
        alpha: The interval is a ``1 - alpha`` interval.
        n_rounds: Logged rounds used.
        interval: ``"normal"``, ``"bootstrap"`` or ``"refit_bootstrap"``.
        switch_tau: For switch-DR, the weight threshold used (chosen when ``"auto"``).
    """

    estimator: str
    value: float
    ci_low: float
    ci_high: float
    standard_error: float = math.nan
    alpha: float = 0.05
    n_rounds: int = 0
    interval: str = "normal"
    switch_tau: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(
    logged: LoggedBandit,
    target_action_probs: ArrayLike,
    *,
    estimators: Sequence[Estimator] = ESTIMATORS,
    reward_model: RewardModel | ArrayLike | None = None,
    switch_tau: float | Literal["auto"] = "auto",
    alpha: float = 0.05,
    interval: Literal["normal", "bootstrap", "refit_bootstrap"] = "normal",
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, PolicyValue]:
    """Estimate a target policy's mean reward per round from a log of another policy.

    Args:
        logged: The log.
        target_action_probs: The target policy's probability of each action in each round,
            shape ``(rounds, actions)``, or ``(rounds, actions, positions)`` for slates (each
            round/position sums to 1). A context-free policy can pass
            ``np.broadcast_to(probs, (rounds, *probs.shape))`` (a view, no copy).
        estimators: Which estimators to run.
        reward_model: Expected rewards for DM, DR and switch-DR: a ``RewardModel`` (fitted
            here, cross-fitted), or an array of ``q(round, action[, position])`` shaped like
            ``target_action_probs``; ``None`` fits the default ``RewardModel()``.
        switch_tau: Switch-DR's largest importance weight whose residual is kept, or
            ``"auto"``: the smallest of ``SWITCH_TAUS`` whose estimate stays within two
            standard errors of every larger threshold's (SLOPE, Su et al. 2020; Tucker and
            Lee 2021), so bias is traded for variance only while the data cannot tell them
            apart.
        alpha: Intervals are ``1 - alpha`` intervals.
        interval: ``"normal"`` (from per-round contributions), ``"bootstrap"`` (rounds
            resampled, the reward model fixed) or ``"refit_bootstrap"`` (the same, the
            ``RewardModel`` refitted on every resample: DM's and DR's intervals then include
            the model's own error; ``n_bootstrap`` fits, so pass a few hundred).
        n_bootstrap: Resamples for the bootstrap intervals.
        seed: Seeds the bootstrap, and the folds of the default reward model.

    Raises:
        ExperimentDataError: bad probabilities, shapes, actions or rewards (before any fit).
    """
    check_options(estimators, ESTIMATORS, switch_tau, alpha, interval, n_bootstrap)
    target = target_at_logged_position(logged, target_action_probs, "target_action_probs")
    needs_model = any(name in _NEEDS_MODEL for name in estimators)
    expected, model = (
        _expected_rewards(logged, reward_model, target.shape, seed) if needs_model else (None, None)
    )
    parts = _parts(logged, target, expected)
    resampled = "bootstrap" if interval == "refit_bootstrap" else interval
    results: dict[str, PolicyValue] = {}
    for name in estimators:
        tau = _chosen_tau(parts, switch_tau) if name == "switch_dr" else None
        numerator, denominator = _contributions(name, parts, tau)
        found = _policy_value(name, numerator, denominator, alpha, resampled, n_bootstrap, seed)
        results[name] = replace(found, switch_tau=tau)
    if interval == "refit_bootstrap" and model is not None:
        taus = {name: results[name].switch_tau for name in estimators if name in _NEEDS_MODEL}
        refitted = _refit_intervals(logged, target, model, taus, alpha, n_bootstrap, seed)
        for refit_name, (low, high) in refitted.items():
            found = results[refit_name]
            results[refit_name] = replace(found, ci_low=low, ci_high=high, interval=interval)
    return results


@dataclass(frozen=True)
class _Parts:
    """Per-round pieces every estimator is built from."""

    weights: np.ndarray  # target probability of the logged action over its propensity
    rewards: np.ndarray
    direct: np.ndarray | None  # sum_a target(a) q(a): the direct method's contribution
    residual: np.ndarray | None  # reward - q(logged action)


def _parts(logged: LoggedBandit, target: np.ndarray, expected: np.ndarray | None) -> _Parts:
    rounds = np.arange(logged.n_rounds)
    weights = target[rounds, logged.actions] / logged.propensities
    if expected is None:
        return _Parts(weights, logged.rewards, None, None)
    direct = np.einsum("ij,ij->i", target, expected)
    residual = logged.rewards - expected[rounds, logged.actions]
    return _Parts(weights, logged.rewards, direct, residual)


def _contributions(
    name: Estimator, parts: _Parts, switch_tau: float | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-round contributions whose mean (or ratio of means) is the estimate."""
    if name == "ips":
        return parts.weights * parts.rewards, None
    if name == "snips":
        return parts.weights * parts.rewards, parts.weights
    assert parts.direct is not None and parts.residual is not None
    if name == "dm":
        return parts.direct, None
    if name == "switch_dr":
        kept = parts.weights <= (math.inf if switch_tau is None else switch_tau)
        return parts.direct + np.where(kept, parts.weights * parts.residual, 0.0), None
    return parts.direct + parts.weights * parts.residual, None


def _chosen_tau(parts: _Parts, switch_tau: float | Literal["auto"]) -> float:
    """The given threshold, or SLOPE's choice: walk from the least biased threshold (the
    largest) down, keeping each while its +-2 standard-error interval still meets every
    earlier one's."""
    if switch_tau != "auto":
        return float(switch_tau)
    low, high, chosen = -math.inf, math.inf, SWITCH_TAUS[0]
    for tau in SWITCH_TAUS:
        value, error = _ratio_and_error(_contributions("switch_dr", parts, tau)[0], None)
        low, high = max(low, value - 2 * error), min(high, value + 2 * error)
        if low > high:
            break
        chosen = tau
    return chosen


def _policy_value(
    name: str,
    numerator: np.ndarray,
    denominator: np.ndarray | None,
    alpha: float,
    interval: str,
    n_bootstrap: int,
    seed: int,
) -> PolicyValue:
    value, error = _ratio_and_error(numerator, denominator)
    if interval == "bootstrap":
        low, high = _bootstrap_interval(numerator, denominator, alpha, n_bootstrap, seed)
    else:
        from scipy.stats import norm

        z = float(norm.ppf(1 - alpha / 2))
        low, high = value - z * error, value + z * error
    return PolicyValue(name, value, low, high, error, alpha, int(numerator.size), interval)


def _ratio_and_error(numerator: np.ndarray, denominator: np.ndarray | None) -> tuple[float, float]:
    """The mean (or ratio of means) and its standard error (delta method for the ratio)."""
    n = numerator.size
    if denominator is None:
        value = float(numerator.mean())
        spread = numerator - value
        scale = 1.0
    else:
        total = float(denominator.sum())
        if total <= 0:
            raise ExperimentDataError(
                "the target policy gives zero probability to every logged action, so "
                "self-normalised IPS is undefined; use dm or dr instead."
            )
        value = float(numerator.sum()) / total
        spread = numerator - value * denominator
        scale = total / n
    variance = float(spread @ spread) / max(n - 1, 1) if n > 1 else 0.0
    return value, math.sqrt(variance / n) / scale


def _bootstrap_interval(
    numerator: np.ndarray,
    denominator: np.ndarray | None,
    alpha: float,
    n_bootstrap: int,
    seed: int,
) -> tuple[float, float]:
    """Percentile interval of the estimate over ``n_bootstrap`` resamples of the rounds."""
    rng = np.random.default_rng(seed)
    n = numerator.size
    values = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        sample = rng.integers(0, n, size=n)
        top = numerator[sample].sum()
        bottom = n if denominator is None else denominator[sample].sum()
        values[b] = top / bottom if bottom > 0 else np.nan
    low, high = np.nanquantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _expected_rewards(
    logged: LoggedBandit,
    reward_model: RewardModel | ArrayLike | None,
    shape: tuple[int, ...],
    seed: int,
) -> tuple[np.ndarray, RewardModel | None]:
    """``q(round, action)`` at each round's logged position, from an array or a fitted
    model, and that model with its regularization settled (``None`` for an array)."""
    from furima.experiments._reward_model import RewardModel

    if reward_model is None:
        reward_model = RewardModel(seed=seed)
    if isinstance(reward_model, RewardModel):
        model = reward_model.tuned(logged, n_actions=shape[1])
        return model.fit_predict(logged, n_actions=shape[1]), model
    expected = target_shaped(logged, reward_model, "reward_model")
    if expected.shape != shape:
        raise ExperimentDataError(
            f"reward_model has shape {expected.shape} at the logged positions but "
            f"target_action_probs has {shape}: pass one expected reward per round and action."
        )
    return expected, None


def _refit_intervals(
    logged: LoggedBandit,
    target: np.ndarray,
    model: RewardModel,
    taus: dict[Estimator, float | None],
    alpha: float,
    n_bootstrap: int,
    seed: int,
) -> dict[Estimator, tuple[float, float]]:
    """Percentile intervals of the model-based estimators over resamples of the rounds, the
    reward model refitted on each, so the intervals include the model's own error."""
    rng = np.random.default_rng(seed)
    draws = {name: np.empty(n_bootstrap) for name in taus}
    for b in range(n_bootstrap):
        rows = rng.integers(0, logged.n_rounds, size=logged.n_rounds)
        sample = logged.take(rows)
        parts = _parts(sample, target[rows], model.fit_predict(sample, target.shape[1]))
        for name, tau in taus.items():
            contributions = _contributions(name, parts, tau)[0]
            draws[name][b] = float(contributions.mean())
    quantiles = {
        name: np.quantile(values, [alpha / 2, 1 - alpha / 2]) for name, values in draws.items()
    }
    return {name: (float(low), float(high)) for name, (low, high) in quantiles.items()}
