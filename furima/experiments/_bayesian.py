"""Bayesian A/B test: a Gaussian posterior on the effect, chance to win and expected loss.

The test follows the effect-Bayesian test of GrowthBook's stats engine (``gbstats``,
``EffectBayesianABTest`` in ``gbstats/bayesian/tests.py``), so its numbers agree with it:

- the data enter through the effect's point estimate and standard error, the same moments
  the Welch test uses (absolute, or a relative lift by the delta method; CUPED, ratio and
  quantile metrics included);
- the prior is Gaussian on the effect. An improper (flat) prior leaves the estimate as it
  is: the posterior is ``Normal(estimate, standard_error)``. A proper prior combines with
  it by precision weighting;
- a prior stated for the relative lift is rescaled by the control mean (``mean * |m|``,
  ``variance * m**2``) when the test is absolute, and the other way round. (gbstats means
  to do the second too, but a slip in its condition skips it; no reference case covers it.)

From the posterior ``Normal(mu, sigma)`` of the effect:

- chance to win ``P(effect > 0)`` (``P(effect < 0)`` for a metric where lower is better);
- the credible interval is the central ``1 - alpha`` interval;
- the risk is the expected loss of each choice: choosing control loses ``E[max(effect, 0)]``
  and choosing treatment loses ``E[max(-effect, 0)]``, in closed form
  ``mu * Phi(mu / sigma) + sigma * phi(mu / sigma)`` and its mirror. (gbstats computes the
  same quantities through truncated-normal means.)

Where gbstats returns an uninformative result (chance to win 0.5) for empty arms or zero
variance, this module raises ``ExperimentDataError``, like the Welch test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from furima.exceptions import ExperimentDataError
from furima.experiments._frequentist import require_alpha, welch_test
from furima.experiments._quantile import QuantileStats, quantile_test

if TYPE_CHECKING:
    from furima.experiments._results import Difference, Effect
    from furima.experiments._statistics import Stats

__all__ = ["GaussianPrior", "Posterior", "bayesian_test"]


@dataclass(frozen=True)
class GaussianPrior:
    """A Normal prior on the effect.

    Attributes:
        mean: Prior mean of the effect.
        variance: Prior variance of the effect.
        proper: ``False`` (the default) ignores ``mean`` and ``variance``: a flat prior, so
            the posterior is the data's estimate alone.
        scale: Whether ``mean`` and ``variance`` describe a ``"relative"`` lift (the
            default, comparable across metrics) or an ``"absolute"`` change.
    """

    mean: float = 0.0
    variance: float = 1.0
    proper: bool = False
    scale: Literal["relative", "absolute"] = "relative"

    def __post_init__(self) -> None:
        if not math.isfinite(self.mean):
            raise ExperimentDataError(f"the prior's mean must be finite, got {self.mean}.")
        if not (math.isfinite(self.variance) and self.variance > 0):
            raise ExperimentDataError(
                f"the prior's variance must be positive and finite, got {self.variance}; "
                "use proper=False for a flat prior."
            )
        if self.scale not in ("relative", "absolute"):
            raise ExperimentDataError(
                f"the prior's scale must be 'relative' or 'absolute', got {self.scale!r}."
            )

    def rescaled(self, difference: Difference, control_mean: float) -> GaussianPrior:
        """The same prior stated for ``difference`` (a lift or a change) at ``control_mean``."""
        if not self.proper or self.scale == difference:
            return self
        if control_mean == 0:
            raise ExperimentDataError(
                f"a {self.scale} prior cannot be turned into a {difference} one when the "
                "control mean is 0; state the prior on the same scale as the test."
            )
        factor = abs(control_mean) if difference == "absolute" else 1 / abs(control_mean)
        return replace(
            self, mean=self.mean * factor, variance=self.variance * factor**2, scale=difference
        )


@dataclass(frozen=True)
class Posterior:
    """A Normal posterior ``Normal(mean, std)`` of the effect, and what it answers."""

    mean: float
    std: float

    @classmethod
    def from_estimate(
        cls, estimate: float, standard_error: float, prior: GaussianPrior
    ) -> Posterior:
        """Combine the data's estimate with the prior by precision weighting."""
        if not prior.proper:
            return cls(mean=estimate, std=standard_error)
        data_precision = 1 / standard_error**2
        precision = data_precision + 1 / prior.variance
        mean = (estimate * data_precision + prior.mean / prior.variance) / precision
        return cls(mean=mean, std=math.sqrt(1 / precision))

    def chance_above_zero(self) -> float:
        from scipy.stats import norm

        return float(norm.sf(0.0, loc=self.mean, scale=self.std))

    def credible_interval(self, alpha: float) -> tuple[float, float]:
        from scipy.stats import norm

        low, high = norm.ppf([alpha / 2, 1 - alpha / 2], loc=self.mean, scale=self.std)
        return float(low), float(high)

    def expected_losses(self) -> tuple[float, float]:
        """``(E[max(effect, 0)], E[max(-effect, 0)])``: what choosing control, and choosing
        treatment, is expected to give up."""
        from scipy.stats import norm

        z = self.mean / self.std
        density = self.std * float(norm.pdf(z))
        above = self.mean * float(norm.cdf(z)) + density
        below = -self.mean * float(norm.sf(z)) + density
        return max(above, 0.0), max(below, 0.0)


def bayesian_test(
    control: Stats | QuantileStats,
    treatment: Stats | QuantileStats,
    *,
    difference: Difference = "relative",
    alpha: float = 0.05,
    prior: GaussianPrior | None = None,
    higher_is_better: bool = True,
    metric: str = "",
) -> Effect:
    """Bayesian test of ``treatment`` against ``control`` with a Gaussian prior on the effect.

    Args:
        control: Summary statistics of the control arm (mean, proportion, ratio, CUPED or
            quantile).
        treatment: The same for the treatment arm.
        difference: ``"relative"`` (a lift over the control mean) or ``"absolute"``.
        alpha: The credible interval covers ``1 - alpha`` of the posterior.
        prior: Prior on the effect; ``None`` is a flat prior.
        higher_is_better: ``False`` for a metric where a decrease wins (e.g. delivery time):
            chance to win becomes ``P(effect < 0)`` and the two risks swap.
        metric: The metric's name, for error messages.

    Returns:
        An ``Effect`` with ``method="bayesian"``: the posterior mean as ``estimate``, its
        standard deviation as ``standard_error``, the credible interval, ``chance_to_win``
        and ``risk`` (expected loss of choosing control, and of choosing treatment, in the
        units of the effect); ``p_value`` is ``None``.

    Raises:
        ExperimentDataError: an arm has fewer than two units or no variance, the arms are
            summarised differently, or a lift is asked of a zero control mean.
    """
    require_alpha(alpha)
    data = _data_effect(control, treatment, difference, alpha, metric)
    scaled_prior = (prior or GaussianPrior()).rescaled(difference, data.control_mean)
    posterior = Posterior.from_estimate(data.estimate, data.standard_error, scaled_prior)
    chance = posterior.chance_above_zero()
    risk = posterior.expected_losses()
    if not higher_is_better:
        chance, risk = 1 - chance, (risk[1], risk[0])
    low, high = posterior.credible_interval(alpha)
    return replace(
        data,
        method="bayesian",
        estimate=posterior.mean,
        standard_error=posterior.std,
        ci_low=low,
        ci_high=high,
        p_value=None,
        chance_to_win=chance,
        risk=risk,
    )


def _data_effect(
    control: Stats | QuantileStats,
    treatment: Stats | QuantileStats,
    difference: Difference,
    alpha: float,
    metric: str,
) -> Effect:
    """The data's own estimate and standard error (the frequentist test's moments)."""
    if isinstance(control, QuantileStats) != isinstance(treatment, QuantileStats):
        raise ExperimentDataError(
            "one arm is summarised as a quantile and the other is not; summarise both arms "
            "the same way."
        )
    if isinstance(control, QuantileStats) and isinstance(treatment, QuantileStats):
        return quantile_test(control, treatment, difference=difference, alpha=alpha)
    assert not isinstance(control, QuantileStats) and not isinstance(treatment, QuantileStats)
    return welch_test(control, treatment, difference=difference, alpha=alpha, metric=metric)
