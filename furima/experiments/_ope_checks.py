"""Input checks for off-policy evaluation: every bad log or policy is refused with a message
that names the problem and the fix, before any model is fitted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import ExperimentDataError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from furima.experiments._ope import LoggedBandit

_SUM_TOLERANCE = 1e-6


def target_at_logged_position(logged: LoggedBandit, probs: ArrayLike, what: str) -> np.ndarray:
    """Validate a policy's action probabilities and keep each round's logged position."""
    raw = np.asarray(probs, dtype=float)
    if raw.ndim in (2, 3) and raw.shape[0] == logged.n_rounds and np.all(np.isfinite(raw)):
        if np.any(raw < 0):
            raise ExperimentDataError(f"{what} has negative probabilities; they must be >= 0.")
        gaps = np.abs(raw.sum(axis=1) - 1.0)
        if float(gaps.max()) > _SUM_TOLERANCE:
            where = np.unravel_index(int(np.argmax(gaps)), gaps.shape)
            place = f"round {where[0]}" + (f", position {where[1]}" if raw.ndim == 3 else "")
            total = float(
                raw[where[0], :, where[1]].sum() if raw.ndim == 3 else raw[where[0]].sum()
            )
            raise ExperimentDataError(
                f"{what} must sum to 1 over actions in every round"
                f"{' and position' if raw.ndim == 3 else ''}, but at {place} they sum to "
                f"{total:.6g}; normalise the policy first."
            )
    target = target_shaped(logged, raw, what)
    if int(logged.actions.max()) >= target.shape[1]:
        raise ExperimentDataError(
            f"the log has action {int(logged.actions.max())} but {what} covers only "
            f"{target.shape[1]} actions (0..{target.shape[1] - 1}); pass one column per action."
        )
    return target


def target_shaped(logged: LoggedBandit, values: ArrayLike, what: str) -> np.ndarray:
    """A ``(rounds, actions[, positions])`` array reduced to ``(rounds, actions)``."""
    array = np.asarray(values, dtype=float)
    if array.ndim not in (2, 3) or array.shape[0] != logged.n_rounds:
        raise ExperimentDataError(
            f"{what} has shape {array.shape} but the log has {logged.n_rounds} rounds: pass "
            "shape (rounds, actions), or (rounds, actions, positions) for slates."
        )
    if not np.all(np.isfinite(array)):
        raise ExperimentDataError(f"{what} has missing or infinite values; fill them first.")
    if array.ndim == 2:
        return array
    if logged.positions is None:
        raise ExperimentDataError(
            f"{what} has a positions axis but the log has no positions; pass "
            "LoggedBandit(positions=...) or a (rounds, actions) array."
        )
    if int(logged.positions.max()) >= array.shape[2]:
        raise ExperimentDataError(
            f"the log has position {int(logged.positions.max())} but {what} covers only "
            f"{array.shape[2]} positions (0..{array.shape[2] - 1}); number positions from 0."
        )
    return array[np.arange(logged.n_rounds), :, logged.positions]


def check_options(
    estimators: Sequence[str],
    known: Sequence[str],
    switch_tau: float | str,
    alpha: float,
    interval: str,
    n_bootstrap: int,
) -> None:
    unknown = sorted(set(estimators) - set(known))
    if unknown or not estimators:
        raise ExperimentDataError(f"unknown estimators {unknown}; choose from {', '.join(known)}.")
    if not 0 < alpha < 1:
        raise ExperimentDataError(f"alpha must be in (0, 1), got {alpha}.")
    if switch_tau != "auto" and not (isinstance(switch_tau, int | float) and switch_tau >= 0):
        raise ExperimentDataError(
            f"switch_tau must be 'auto' or a number >= 0 (inf keeps DR), got {switch_tau!r}."
        )
    if interval not in ("normal", "bootstrap", "refit_bootstrap"):
        raise ExperimentDataError(
            f"interval must be 'normal', 'bootstrap' or 'refit_bootstrap', got {interval!r}."
        )
    if interval != "normal" and n_bootstrap < 10:
        raise ExperimentDataError(f"n_bootstrap must be at least 10, got {n_bootstrap}.")


def finite_vector(values: ArrayLike, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ExperimentDataError(f"{what} must be one value per round, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise ExperimentDataError(f"{what} has {bad} missing or infinite values; drop them.")
    return array


def index_vector(values: ArrayLike, what: str, n: int) -> np.ndarray:
    array = finite_vector(values, what)
    require_length(array, what, n)
    if np.any(array < 0) or np.any(array != np.round(array)):
        raise ExperimentDataError(
            f"{what} must be whole numbers from 0 (an index per round); encode them first."
        )
    return array.astype(np.int64)


def propensity_vector(values: ArrayLike, n: int) -> np.ndarray:
    array = finite_vector(values, "propensities")
    require_length(array, "propensities", n)
    bad = (array <= 0) | (array > 1)
    if np.any(bad):
        first = int(np.argmax(bad))
        raise ExperimentDataError(
            f"propensities must be in (0, 1], but {int(bad.sum())} are not (round {first}: "
            f"{array[first]:g}); a zero propensity means the logging policy could not have "
            "taken that action: fix the log or drop those rounds."
        )
    return array


def feature_rows(values: ArrayLike, what: str, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    require_length(array, what, n)
    if not np.all(np.isfinite(array)):
        raise ExperimentDataError(f"{what} has missing or infinite values; fill them first.")
    return array


def require_length(array: np.ndarray, what: str, n: int) -> None:
    if array.shape[0] != n:
        raise ExperimentDataError(
            f"{what} has {array.shape[0]} rows but rewards has {n}: mismatched lengths; pass "
            "one entry per logged round, in the same order."
        )
