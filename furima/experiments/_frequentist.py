"""Welch's two-sample t-test on summary statistics, absolute or relative (delta method).

The moments (point estimate and standard error) and the Welch-Satterthwaite degrees of
freedom follow GrowthBook's stats engine (``gbstats/models/tests.py`` and
``gbstats/frequentist/tests.py``), so a result agrees with it to the last printed digit:

- the relative lift is ``(treatment - control) / |control|`` with the unadjusted control
  mean in the denominator, and its variance is the delta-method variance of that ratio;
- with ``AdjustedStats`` (CUPED / CUPAC) ``theta`` is fitted on both arms pooled and the
  relative variance accounts for ``theta`` in both arms (gbstats'
  ``frequentist_variance_relative_cuped``);
- with ``RatioStats`` each arm's variance is the delta-method variance of its ratio, and
  ``AdjustedRatioStats`` (CUPED on a ratio) carries the delta method over the four means;
- where the pooled ``theta`` is 0 (a covariate with no variance) the unadjusted metric is
  tested, as in gbstats.

Where gbstats returns an empty result (fewer than two units, zero or negative variance, a
zero baseline for a relative lift) these functions raise ``ExperimentDataError`` instead,
so nothing downstream reports a number the data cannot support.

``Effect.method`` is ``"cuped"`` for covariate-adjusted stats (means or ratios, when the
pooled ``theta`` is not zero), ``"ratio"`` for ratio metrics and ``"welch"`` otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._results import Difference, Effect
from furima.experiments._statistics import (
    AdjustedRatioStats,
    AdjustedStats,
    MeanStats,
    ProportionStats,
    RatioStats,
    Stats,
    variance_of_ratio,
)

__all__ = ["Alternative", "EffectMoments", "effect_moments", "require_testable", "welch_test"]

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class EffectMoments:
    """Point estimate and standard error of a difference, with the arms it came from.

    ``control`` and ``treatment`` carry the pooled CUPED ``theta`` when one was fitted.
    """

    estimate: float
    standard_error: float
    control: Stats
    treatment: Stats
    difference: Difference
    method: str

    @property
    def n(self) -> int:
        return self.control.n + self.treatment.n

    def effect(self, *, ci: tuple[float, float], p_value: float | None, alpha: float) -> Effect:
        return Effect(
            method=self.method,
            difference=self.difference,
            estimate=self.estimate,
            ci_low=ci[0],
            ci_high=ci[1],
            standard_error=self.standard_error,
            alpha=alpha,
            control_mean=self.control.unadjusted_mean,
            treatment_mean=self.treatment.unadjusted_mean,
            control_n=self.control.n,
            treatment_n=self.treatment.n,
            p_value=p_value,
        )


def effect_moments(
    control: Stats, treatment: Stats, *, difference: Difference = "relative", metric: str = ""
) -> EffectMoments:
    """The difference of ``treatment`` over ``control`` and its standard error.

    Raises:
        ExperimentDataError: the arms are summarised differently, an arm has fewer than two
            units or no variance, or a relative lift is asked of a zero control mean.
    """
    if difference not in ("absolute", "relative"):
        raise ExperimentConfigError(
            f"difference must be 'absolute' or 'relative', got {difference!r}."
        )
    _require_same_kind(control, treatment)
    control, treatment = _with_pooled_theta(control, treatment)
    require_testable(control, arm="control", metric=metric)
    require_testable(treatment, arm="treatment", metric=metric)
    baseline = control.unadjusted_mean
    relative = difference == "relative"
    if relative and baseline == 0:
        raise ExperimentDataError(
            f"{_name(metric)} has a control mean of 0, so a relative lift is undefined; "
            "use difference='absolute'."
        )
    variance = _difference_variance(control, treatment, relative)
    if not variance > 0:
        raise ExperimentDataError(
            f"{_name(metric)}: the variance of the difference is {variance:.6g}, not positive, "
            "so no interval can be computed; check the metric and its covariate."
        )
    gap = treatment.mean - control.mean
    return EffectMoments(
        estimate=gap / abs(baseline) if relative else gap,
        standard_error=math.sqrt(variance),
        control=control,
        treatment=treatment,
        difference=difference,
        method=_method(control),
    )


def welch_test(
    control: Stats,
    treatment: Stats,
    *,
    difference: Difference = "relative",
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    metric: str = "",
) -> Effect:
    """Welch's t-test of ``treatment`` against ``control`` at level ``alpha``.

    ``alternative="greater"`` tests whether treatment is above control (the interval is
    ``(low, inf)``), ``"less"`` whether it is below (``(-inf, high)``).
    """
    from scipy.stats import t

    require_alpha(alpha)
    moments = effect_moments(control, treatment, difference=difference, metric=metric)
    dof = welch_degrees_of_freedom(moments.control, moments.treatment)
    statistic = moments.estimate / moments.standard_error
    if alternative == "two-sided":
        halfwidth = float(t.ppf(1 - alpha / 2, dof)) * moments.standard_error
        ci = (moments.estimate - halfwidth, moments.estimate + halfwidth)
        p_value = 2 * float(t.sf(abs(statistic), dof))
    elif alternative == "greater":
        ci = (moments.estimate - float(t.ppf(1 - alpha, dof)) * moments.standard_error, math.inf)
        p_value = float(t.sf(statistic, dof))
    else:
        ci = (-math.inf, moments.estimate + float(t.ppf(1 - alpha, dof)) * moments.standard_error)
        p_value = float(t.cdf(statistic, dof))
    return moments.effect(ci=ci, p_value=p_value, alpha=alpha)


def welch_degrees_of_freedom(control: Stats, treatment: Stats) -> float:
    """Welch-Satterthwaite degrees of freedom from each arm's per-unit variance."""
    a = control.variance / control.n
    b = treatment.variance / treatment.n
    return (a + b) ** 2 / (a**2 / (control.n - 1) + b**2 / (treatment.n - 1))


def _with_pooled_theta(control: Stats, treatment: Stats) -> tuple[Stats, Stats]:
    """Fit CUPED's ``theta`` on both arms; where it is 0 the covariate cannot help and,
    as in gbstats, the unadjusted metric is tested instead."""
    if isinstance(control, AdjustedStats) and isinstance(treatment, AdjustedStats):
        control, treatment = AdjustedStats.with_pooled_theta(control, treatment)
        if not control.theta:
            return control.post, treatment.post
    if isinstance(control, AdjustedRatioStats) and isinstance(treatment, AdjustedRatioStats):
        control, treatment = AdjustedRatioStats.with_pooled_theta(control, treatment)
        if not control.theta:
            return control.post_ratio, treatment.post_ratio
    return control, treatment


def _difference_variance(control: Stats, treatment: Stats, relative: bool) -> float:
    if relative and isinstance(control, AdjustedStats) and isinstance(treatment, AdjustedStats):
        return _relative_cuped_variance(control, treatment)
    if (
        relative
        and isinstance(control, AdjustedRatioStats)
        and isinstance(treatment, AdjustedRatioStats)
    ):
        return _relative_cuped_ratio_variance(control, treatment)
    var_a = control.variance / control.n
    var_b = treatment.variance / treatment.n
    if not relative:
        return var_a + var_b
    return variance_of_ratio(treatment.unadjusted_mean, var_b, control.unadjusted_mean, var_a, 0.0)


def _relative_cuped_variance(control: AdjustedStats, treatment: AdjustedStats) -> float:
    """Delta-method variance of ``(adj_b - adj_a) / mean_post_a`` with a shared ``theta``."""
    theta = control.theta or 0.0
    baseline = control.post.mean
    treatment_part = treatment.variance / (treatment.n * baseline**2)
    ratio = treatment.post.mean / baseline
    control_part = (
        control.post.variance * ratio**2
        - 2 * theta * control.covariance * ratio
        + theta**2 * control.pre.variance
    ) / (control.n * baseline**2)
    return treatment_part + control_part


def _relative_cuped_ratio_variance(
    control: AdjustedRatioStats, treatment: AdjustedRatioStats
) -> float:
    """Delta-method variance of ``(adj_b - adj_a) / |ratio_a|`` over both arms' four means
    (gbstats ``frequentist_variance_relative_cuped_ratio``)."""
    baseline = control.unadjusted_mean
    scale = abs(baseline)
    gap = (treatment.mean - control.mean) * math.copysign(1.0, baseline)
    numerator, denominator = control.numerator.mean, control.denominator.mean
    control_gradient = np.array(
        [
            -(scale + gap) / denominator / scale**2,
            numerator * (scale + gap) / denominator**2 / scale**2,
            *(-control.gradient[2:] / scale),
        ]
    )
    treatment_gradient = treatment.gradient / scale
    return float(
        control_gradient @ control.moments_covariance @ control_gradient / control.n
        + treatment_gradient @ treatment.moments_covariance @ treatment_gradient / treatment.n
    )


def _require_same_kind(control: Stats, treatment: Stats) -> None:
    def kind(stats: Stats) -> str:
        if isinstance(stats, MeanStats | ProportionStats):
            return "a mean"
        if isinstance(stats, AdjustedRatioStats):
            return "a covariate-adjusted (CUPED) ratio"
        return "a ratio" if isinstance(stats, RatioStats) else "covariate-adjusted (CUPED)"

    if kind(control) != kind(treatment):
        raise ExperimentDataError(
            f"control is summarised as {kind(control)} but treatment as {kind(treatment)}; "
            "summarise both arms the same way."
        )


def _method(control: Stats) -> str:
    if isinstance(control, AdjustedStats | AdjustedRatioStats):
        return "cuped"
    return "ratio" if isinstance(control, RatioStats) else "welch"


def require_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ExperimentConfigError(f"alpha must lie in (0, 1), got {alpha}.")


def _name(metric: str) -> str:
    return f"metric {metric!r}" if metric else "the metric"


def require_testable(stats: Stats, *, arm: str, metric: str = "") -> None:
    """Raise ``ExperimentDataError`` unless ``stats`` can enter a test: at least two units
    and a positive variance (gbstats returns an empty result in these cases)."""
    name = f"metric {metric!r}" if metric else "the metric"
    if stats.n < 2:
        raise ExperimentDataError(
            f"{name} has {stats.n} unit(s) in {arm}: a test needs at least 2 per arm; "
            "wait for more data or check the variant labels."
        )
    variance = stats.variance
    if not math.isfinite(variance):
        raise ExperimentDataError(
            f"{name} has a non-finite variance in {arm}; check the metric column."
        )
    if variance <= 0:
        raise ExperimentDataError(_zero_variance_message(stats, name, arm))


def _zero_variance_message(stats: Stats, name: str, arm: str) -> str:
    if isinstance(stats, RatioStats) and stats.denominator.mean == 0:
        return (
            f"{name} has a denominator that sums to 0 in {arm}, so the ratio is undefined; "
            "check the denominator column."
        )
    if isinstance(stats, MeanStats | ProportionStats) and stats.variance == 0:
        return (
            f"{name} has zero variance in {arm}: every unit has the same value, so no "
            "interval can be computed; check the metric column."
        )
    return (
        f"{name} has zero or negative variance in {arm} (variance {stats.variance:.6g}), so no "
        "interval can be computed; check the metric column and its covariate."
    )
