"""Quantile metrics (p90 delivery time, p50 latency): the difference of two sample quantiles.

A quantile is not a mean, so the Welch test's ``variance / n`` does not apply directly. We
follow GrowthBook's stats engine (``gbstats``, ``QuantileStatistic`` in
``gbstats/models/statistics.py``): the standard error of the sample ``nu``-quantile comes
from its distribution-free confidence interval. With ``n`` units, the interval's ends are
the sample quantiles at levels ``nu -/+ z * sqrt(nu * (1 - nu) / n)`` (the normal
approximation of the binomial count of units below the quantile, Conover's order-statistic
interval); the interval's width over ``2 * z`` is the standard error. No density estimate,
no bootstrap, nothing random: the same data always give the same answer.

The two arms are independent, so the difference's variance is the sum of the two squared
standard errors; the relative difference uses the delta method. The interval and p-value
use the normal distribution (the quantile's asymptotic law). Like gbstats, a quantile too
close to 0 or 1 for the sample size (the interval's level would leave ``[0, 1]``) or an
interval of width zero (an atom of many equal values at the quantile) cannot be tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import ExperimentDataError
from furima.experiments._results import Difference, Effect

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["QuantileStats", "quantile_test"]

_Z95 = 1.959963984540054
"""``norm.ppf(0.975)``: the interval that defines the standard error is always a 95% one."""


@dataclass(frozen=True)
class QuantileStats:
    """The ``level``-quantile of a metric in one arm, with its 95% order-statistic interval.

    Attributes:
        n: Units in the arm.
        level: The quantile's level (``0.9`` for p90).
        estimate: The sample quantile.
        lower: The sample quantile at ``level - z * sqrt(level * (1 - level) / n_star)``.
        upper: The sample quantile at ``level + z * sqrt(level * (1 - level) / n_star)``.
        n_star: The sample size the interval was computed with (``n`` from raw values; a
            sketch may use another).
    """

    n: int
    level: float
    estimate: float
    lower: float
    upper: float
    n_star: int

    @classmethod
    def from_values(cls, values: ArrayLike, level: float) -> QuantileStats:
        """The quantile and its interval from one value per unit (linear interpolation)."""
        if not 0.0 < level < 1.0:
            raise ExperimentDataError(
                f"a quantile level must be between 0 and 1 (0.9 for p90), got {level}."
            )
        array = np.asarray(values, dtype=float).ravel()
        if array.size == 0:
            raise ExperimentDataError("the quantile metric has no values: the group is empty.")
        if not np.all(np.isfinite(array)):
            raise ExperimentDataError(
                f"the quantile metric has {int(np.sum(~np.isfinite(array)))} missing or "
                "infinite values; fill or drop them first."
            )
        half = _Z95 * math.sqrt(level * (1.0 - level) / array.size)
        levels = np.clip([level, level - half, level + half], 0.0, 1.0)
        estimate, lower, upper = np.quantile(array, levels)
        return cls(
            n=int(array.size),
            level=level,
            estimate=float(estimate),
            lower=float(lower),
            upper=float(upper),
            n_star=int(array.size),
        )

    @property
    def mean(self) -> float:
        """The sample quantile (named ``mean`` so the quantile fits where a mean would)."""
        return self.estimate

    @property
    def variance(self) -> float:
        """Per-unit variance: ``n`` times the squared standard error (``(n - 1)`` as gbstats)."""
        if self.n <= 1:
            return 0.0
        half_width = (self.upper - self.lower) / (2.0 * _Z95)
        return (self.n_star / self.n) * (self.n - 1) * half_width**2

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance / self.n) if self.n > 0 else 0.0

    def untestable_reason(self) -> str | None:
        """Why this quantile cannot enter a test, or ``None`` when it can."""
        level = self.level
        if self.n <= _Z95**2 * max(level / (1 - level), (1 - level) / level):
            needed = math.floor(_Z95**2 * max(level / (1 - level), (1 - level) / level)) + 1
            return (
                f"the {level:g}-quantile needs at least {needed} units per arm for an interval, "
                f"got {self.n}; collect more data or use a quantile nearer the median."
            )
        if self.upper <= self.lower:
            return (
                f"the {level:g}-quantile sits on many equal values (its interval has zero "
                "width), so its standard error is unknown; use a mean or proportion metric."
            )
        return None


def quantile_test(
    control: QuantileStats,
    treatment: QuantileStats,
    *,
    difference: Difference = "relative",
    alpha: float = 0.05,
    sequential_tuning: float | None = None,
) -> Effect:
    """Normal-approximation test of the difference between two arms' quantiles.

    With ``sequential_tuning`` (total units where the interval is tightest) the interval is
    the normal-mixture confidence sequence of ``sequential_test`` instead, valid under
    continuous peeking (``Effect.method`` ``"quantile-sequential"``).

    Raises:
        ExperimentDataError: when either arm's quantile cannot be tested (too few units for
            the level, or an interval of zero width), or a relative lift over a control
            quantile of 0 is asked for.
    """
    from scipy.stats import norm

    for arm, stats in (("control", control), ("treatment", treatment)):
        reason = stats.untestable_reason()
        if reason is not None:
            raise ExperimentDataError(f"{arm}: {reason}")
    if control.level != treatment.level:
        raise ExperimentDataError(
            f"the arms summarise different quantiles ({control.level} and {treatment.level})."
        )
    estimate, error = _difference(control, treatment, difference)
    if sequential_tuning is None:
        halfwidth = float(norm.ppf(1.0 - alpha / 2.0)) * error
        p_value = float(2.0 * norm.sf(abs(estimate) / error))
    else:
        halfwidth, p_value = _confidence_sequence(
            estimate, error, control.n + treatment.n, alpha, sequential_tuning
        )
    return Effect(
        method="quantile" if sequential_tuning is None else "quantile-sequential",
        difference=difference,
        estimate=estimate,
        ci_low=estimate - halfwidth,
        ci_high=estimate + halfwidth,
        standard_error=error,
        alpha=alpha,
        control_mean=control.estimate,
        treatment_mean=treatment.estimate,
        control_n=control.n,
        treatment_n=treatment.n,
        p_value=p_value,
    )


def _difference(
    control: QuantileStats, treatment: QuantileStats, difference: Difference
) -> tuple[float, float]:
    """The point estimate and its standard error, absolute or relative (delta method)."""
    var_c = control.variance / control.n
    var_t = treatment.variance / treatment.n
    if difference == "absolute":
        return treatment.estimate - control.estimate, math.sqrt(var_c + var_t)
    base = control.estimate
    if base == 0:
        raise ExperimentDataError(
            "the control quantile is 0, so a relative lift is undefined; use difference='absolute'."
        )
    lift = (treatment.estimate - base) / abs(base)
    variance = var_t / base**2 + treatment.estimate**2 * var_c / base**4
    return lift, math.sqrt(variance)


def _confidence_sequence(
    estimate: float, error: float, n: int, alpha: float, tuning: float
) -> tuple[float, float]:
    """Half-width and always-valid p-value of the two-sided normal-mixture sequence."""
    from furima.experiments._sequential import (
        _two_sided_halfwidth,
        _two_sided_p_value,
        mixture_rho,
    )

    unit_variance = error**2 * n
    rho = mixture_rho(alpha, tuning)
    return (
        _two_sided_halfwidth(unit_variance, n, rho, alpha),
        _two_sided_p_value(estimate, unit_variance, n, rho),
    )
