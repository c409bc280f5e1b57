"""Sequential test: an interval and p-value that stay valid however often you peek.

A fixed-horizon t-test is only valid at one pre-planned look; checking it every day and
stopping at the first significant result inflates false positives far above ``alpha``.
The asymptotic normal-mixture confidence sequence of Waudby-Smith et al. (2023,
arXiv:2103.06476, eq. 9 two-sided, eq. 134 one-sided, eq. 155 p-value) holds at every
sample size at once, so the result may be read at any time. The formulas and the
parametrisation follow GrowthBook's stats engine (``gbstats/frequentist/tests.py``):

- ``tuning`` (gbstats' ``sequential_tuning_parameter``) is the total sample size at which
  the sequence is tightest; the mixing width is
  ``rho = sqrt((-2 log a + log(-2 log a + 1)) / tuning)`` with ``a = alpha`` (two-sided)
  or ``2 * alpha`` (one-sided);
- the interval's half-width scales the per-unit variance ``se**2 * n`` of the difference,
  ``n`` being both arms' units together;
- the two-sided p-value is ``min(1, 1 / e)`` for the mixture e-value ``e``; a one-sided
  p-value is the ``alpha`` at which the one-sided bound touches zero, clipped to
  ``[1e-5, 0.4999]`` as gbstats reports it (solved in closed form, where gbstats bisects).

``Effect.method`` is always ``"sequential"``; the point estimate and standard error are
those of ``welch_test`` (CUPED and ratio metrics included).
"""

from __future__ import annotations

import math
from dataclasses import replace

from furima.exceptions import ExperimentConfigError
from furima.experiments._frequentist import Alternative, effect_moments, require_alpha
from furima.experiments._results import Difference, Effect
from furima.experiments._statistics import Stats

__all__ = ["sequential_test"]

MIN_ONE_SIDED_P = 1e-5
MAX_ONE_SIDED_P = 0.4999


def sequential_test(
    control: Stats,
    treatment: Stats,
    *,
    difference: Difference = "relative",
    alpha: float = 0.05,
    tuning: float = 5000.0,
    alternative: Alternative = "two-sided",
    metric: str = "",
) -> Effect:
    """Always-valid test of ``treatment`` against ``control`` at level ``alpha``.

    Args:
        tuning: Total units (both arms) at which the interval is narrowest; set it near the
            sample size you expect to reach. Any positive value keeps the guarantee.
        alternative: ``"two-sided"``, or ``"greater"`` / ``"less"`` for a one-sided bound
            (then ``alpha`` must be below 0.5).
    """
    require_alpha(alpha)
    if not tuning > 0:
        raise ExperimentConfigError(f"tuning must be a positive sample size, got {tuning}.")
    if alternative != "two-sided" and alpha >= 0.5:
        raise ExperimentConfigError(
            f"a one-sided sequential test needs alpha below 0.5, got {alpha}."
        )
    moments = effect_moments(control, treatment, difference=difference, metric=metric)
    two_sided = alternative == "two-sided"
    rho = mixture_rho(alpha, tuning, two_sided=two_sided)
    n = moments.n
    unit_variance = moments.standard_error**2 * n
    estimate = moments.estimate
    if two_sided:
        halfwidth = _two_sided_halfwidth(unit_variance, n, rho, alpha)
        ci = (estimate - halfwidth, estimate + halfwidth)
        p_value = _two_sided_p_value(estimate, unit_variance, n, rho)
    else:
        halfwidth = _one_sided_halfwidth(unit_variance, n, rho, alpha)
        greater = alternative == "greater"
        ci = (estimate - halfwidth, math.inf) if greater else (-math.inf, estimate + halfwidth)
        signed = estimate if greater else -estimate
        p_value = _one_sided_p_value(signed, unit_variance, n, rho)
    effect = moments.effect(ci=ci, p_value=p_value, alpha=alpha)
    return replace(effect, method="sequential")


def mixture_rho(alpha: float, tuning: float, *, two_sided: bool = True) -> float:
    """Width of the normal mixture that makes the sequence tightest at ``tuning`` units."""
    a = alpha if two_sided else 2 * alpha
    return math.sqrt((-2 * math.log(a) + math.log(-2 * math.log(a) + 1)) / tuning)


def _two_sided_halfwidth(unit_variance: float, n: int, rho: float, alpha: float) -> float:
    spread = n * rho**2 + 1
    return math.sqrt(unit_variance * 2 * spread * math.log(math.sqrt(spread) / alpha)) / (n * rho)


def _one_sided_halfwidth(unit_variance: float, n: int, rho: float, alpha: float) -> float:
    spread = n * rho**2 + 1
    log_term = math.log(1 + math.sqrt(spread) / (2 * alpha))
    return math.sqrt(unit_variance * 2 * spread * log_term) / (n * rho)


def _two_sided_p_value(estimate: float, unit_variance: float, n: int, rho: float) -> float:
    spread = n * rho**2 + 1
    statistic = (estimate * n) ** 2 / unit_variance  # S_n^2 / sigma^2 of eq. 155
    log_evalue = rho**2 * statistic / (2 * spread) - 0.5 * math.log(spread)
    return 1.0 if log_evalue <= 0 else math.exp(-log_evalue)


def _one_sided_p_value(signed_estimate: float, unit_variance: float, n: int, rho: float) -> float:
    """The ``alpha`` at which the one-sided bound reaches zero, clipped as gbstats clips it.

    ``_one_sided_halfwidth(alpha) == signed_estimate`` solves to
    ``alpha = sqrt(n rho^2 + 1) / (2 (exp(signed_estimate^2 / c) - 1))`` with
    ``c = unit_variance * 2 (n rho^2 + 1) / (n rho)^2``.
    """
    if signed_estimate <= 0:
        return MAX_ONE_SIDED_P
    spread = n * rho**2 + 1
    scale = unit_variance * 2 * spread / (n * rho) ** 2
    exponent = signed_estimate**2 / scale
    if exponent > 700:
        return MIN_ONE_SIDED_P
    alpha = math.sqrt(spread) / (2 * math.expm1(exponent))
    return min(max(alpha, MIN_ONE_SIDED_P), MAX_ONE_SIDED_P)
