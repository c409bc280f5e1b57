"""Power, minimum detectable effect and sample size, before and during an experiment.

Before an experiment, three questions share one equation: how many units find an effect of
a given size (``sample_size``), how likely a number of units is to find it (``power``), and
the smallest effect a number of units finds (``minimum_detectable_effect``). They plan a
two-sample test of means with a common standard deviation, the effect absolute
(``treatment - control``) or relative (a lift, ``mde * |mean|`` in the metric's units), the
units split ``treatment_share`` to treatment. statsmodels solves them (``NormalIndPower``
for the z-test the analysis uses at experiment sizes, ``TTestIndPower`` for small samples),
so the numbers are those of R's ``pwr`` package that statsmodels is tested against.

During an experiment, ``additional_units_needed`` answers how many more units the running
test needs to reach a power, from the standard error it has so far: the mid-experiment
power of GrowthBook's stats engine (``gbstats/power/midexperimentpower.py``), for the fixed
test, the sequential test (its confidence sequence is wider) and the Bayesian test with a
proper prior. ``sequential_power`` is the planning power of the sequential test.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from furima.exceptions import ExperimentDataError

if TYPE_CHECKING:
    from collections.abc import Callable

    from furima.experiments._bayesian import GaussianPrior

__all__ = [
    "Alternative",
    "PowerSummary",
    "additional_units_needed",
    "midexperiment_power",
    "minimum_detectable_effect",
    "power",
    "power_summary",
    "sample_size",
    "sequential_power",
]

Alternative = Literal["two-sided", "greater", "less"]
PlannedTest = Literal["z", "t"]
RunningTest = Literal["welch", "sequential", "bayesian"]

_STATSMODELS_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
_ALTERNATIVES = ("two-sided", "greater", "less")
_MAX_SCALING = 2.0**27  # more than 134 million times the units so far: give up


# --- validation -----------------------------------------------------------------------------


def _check_probability(value: float, name: str) -> None:
    if not (math.isfinite(value) and 0 < value < 1):
        raise ExperimentDataError(f"`{name}` must lie strictly between 0 and 1, but got {value}.")


def _check_positive(value: float, name: str, hint: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ExperimentDataError(f"`{name}` must be a positive number, but got {value}; {hint}")


def _check_effect(mde: float, alternative: str) -> None:
    if not math.isfinite(mde) or mde == 0:
        raise ExperimentDataError(
            f"`mde` must be a non-zero effect, but got {mde}; give the smallest change worth "
            "finding, e.g. 0.02 for a 2% lift."
        )
    _check_choice(alternative, "alternative", _ALTERNATIVES)


def _check_choice(value: str, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ExperimentDataError(f"`{name}` must be one of {choices}, got {value!r}.")


def _check_units(n_total: float, least: float, test: str) -> None:
    if not (math.isfinite(n_total) and n_total >= least):
        raise ExperimentDataError(
            f"`n_total` must be at least {least:g} units for the {test}-test, but got {n_total}."
        )


# --- before the experiment ------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The design an answer is computed for, validated once; answers by statsmodels' power."""

    mean: float
    std: float
    relative: bool
    alpha: float
    treatment_share: float
    test: PlannedTest

    def __post_init__(self) -> None:
        _check_positive(self.std, "std", "the metric must vary between units to be tested.")
        _check_probability(self.alpha, "alpha")
        _check_probability(self.treatment_share, "treatment_share")
        _check_choice(self.test, "test", ("z", "t"))
        if not math.isfinite(self.mean) or (self.relative and self.mean == 0):
            raise ExperimentDataError(
                f"a relative effect needs a non-zero, finite control `mean`, but got "
                f"{self.mean}; pass relative=False to plan an absolute effect."
            )

    @property
    def least_units(self) -> float:
        return 3.0 if self.test == "t" else 2.0

    @property
    def one_std(self) -> float:
        """One standard deviation of the metric, as an ``mde``."""
        return self.std / (abs(self.mean) if self.relative else 1.0)

    def power(self, mde: float, n_total: float, alternative: Alternative) -> float:
        _check_effect(mde, alternative)
        _check_units(n_total, self.least_units, self.test)
        import statsmodels.stats.power as sm_power

        engine = sm_power.NormalIndPower() if self.test == "z" else sm_power.TTestIndPower()
        share = self.treatment_share
        return float(
            engine.power(
                effect_size=mde / self.one_std,
                nobs1=n_total * (1 - share),
                alpha=self.alpha,
                ratio=share / (1 - share),
                alternative=_STATSMODELS_ALTERNATIVE[alternative],
            )
        )

    def sample_size(self, mde: float, power: float, alternative: Alternative) -> int:
        _check_effect(mde, alternative)
        _check_probability(power, "power")
        if (alternative == "greater" and mde < 0) or (alternative == "less" and mde > 0):
            raise ExperimentDataError(
                f"a one-sided test for a {alternative!r} effect cannot find mde={mde}; "
                "flip the sign of `mde` or use alternative='two-sided'."
            )
        least = self.least_units
        if self.power(mde, least, alternative) >= power:
            return int(least)
        units = _increasing_root(
            lambda n: self.power(mde, n, alternative) - power, least, 2 * least, "sample size"
        )
        return math.ceil(units - 1e-9)

    def mde(self, n_total: float, power: float, alternative: Alternative) -> float:
        _check_probability(power, "power")
        _check_choice(alternative, "alternative", _ALTERNATIVES)
        if power <= self.alpha:
            raise ExperimentDataError(
                f"`power` ({power}) must exceed `alpha` ({self.alpha}): no effect is needed."
            )
        side: Alternative = "two-sided" if alternative == "two-sided" else "greater"
        effect = _increasing_root(
            lambda m: self.power(m, n_total, side) - power,
            1e-12 * self.one_std,
            self.one_std,
            "effect",
        )
        return -effect if alternative == "less" else effect


def _increasing_root(
    gap: Callable[[float], float], low: float, high: float, what: str, limit: float = 1e15
) -> float:
    """Where the increasing ``gap`` crosses zero above ``low``, doubling ``high`` as needed.

    statsmodels' ``solve_power`` stops at about 1e-6 of power; Brent's method on its power
    function pins the root to the last digits, so solved values round-trip exactly.
    """
    from scipy.optimize import brentq

    while gap(high) < 0:
        if high >= limit:
            raise ExperimentDataError(
                f"no {what} reaches that power: the effect is too small to find; "
                "pick a larger `mde`."
            )
        low, high = high, high * 2
    return float(brentq(gap, low, high, xtol=1e-14 * high, rtol=1e-15))


def power(
    *,
    mean: float,
    std: float,
    mde: float,
    n_total: int,
    relative: bool = True,
    alpha: float = 0.05,
    treatment_share: float = 0.5,
    alternative: Alternative = "two-sided",
    test: PlannedTest = "z",
) -> float:
    """Probability that ``n_total`` units find a true effect of ``mde``.

    Args:
        mean: The metric's mean in control (scales a relative ``mde``).
        std: The metric's standard deviation per unit, the same in both arms.
        mde: The true effect: a lift (``0.02`` = +2%) or, with ``relative=False``, a change
            in the metric's units. Negative for a decrease.
        n_total: Units in both arms together.
        relative: Whether ``mde`` is a lift over ``mean``.
        alpha: False-positive rate of the test.
        treatment_share: Share of the units in treatment.
        alternative: ``"two-sided"``, or ``"greater"``/``"less"`` for a one-sided test.
        test: ``"z"`` (normal approximation, what the analysis uses) or ``"t"``.
    """
    plan = _Plan(mean, std, relative, alpha, treatment_share, test)
    return plan.power(mde, n_total, alternative)


def sample_size(
    *,
    mean: float,
    std: float,
    mde: float,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
    alternative: Alternative = "two-sided",
    test: PlannedTest = "z",
) -> int:
    """Units (both arms together) that find a true effect of ``mde`` with ``power``.

    The arguments are those of :func:`power`; the answer is rounded up, so splitting it at
    ``treatment_share`` gives at least the power asked for.
    """
    plan = _Plan(mean, std, relative, alpha, treatment_share, test)
    return plan.sample_size(mde, power, alternative)


def minimum_detectable_effect(
    *,
    mean: float,
    std: float,
    n_total: int,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
    alternative: Alternative = "two-sided",
    test: PlannedTest = "z",
) -> float:
    """Smallest true effect that ``n_total`` units find with ``power``.

    A lift when ``relative`` (``0.02`` = +2%), else in the metric's units; negative for
    ``alternative="less"``. The other arguments are those of :func:`power`.
    """
    plan = _Plan(mean, std, relative, alpha, treatment_share, test)
    _check_units(n_total, plan.least_units, test)
    return plan.mde(n_total, power, alternative)


@dataclass(frozen=True)
class PowerSummary:
    """A power calculation a report can show: the inputs and the three answers.

    ``n_total`` units find an effect of ``mde`` with probability ``power`` at ``alpha``.
    """

    mean: float
    std: float
    relative: bool
    alpha: float
    treatment_share: float
    alternative: Alternative
    test: PlannedTest
    n_total: int
    mde: float
    power: float

    @property
    def text(self) -> str:
        """One sentence for a person, e.g. for the top of a report."""
        effect = f"a {self.mde:+.2%} lift" if self.relative else f"an effect of {self.mde:+.4g}"
        return (
            f"{self.n_total:,} units ({self.treatment_share:.0%} in treatment) find {effect} "
            f"with {self.power:.0%} power at alpha {self.alpha:g} ({self.alternative})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


def power_summary(
    *,
    mean: float,
    std: float,
    mde: float | None = None,
    n_total: int | None = None,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
    alternative: Alternative = "two-sided",
    test: PlannedTest = "z",
) -> PowerSummary:
    """Fill in whichever of units, effect and power is missing.

    Give ``mde`` to get the units it needs at ``power``; ``n_total`` to get the effect those
    units find at ``power``; both to get the power they reach (``power`` is then ignored).
    """
    plan = _Plan(mean, std, relative, alpha, treatment_share, test)
    if n_total is None:
        if mde is None:
            raise ExperimentDataError(
                "give `mde` (to get units), `n_total` (to get the MDE), or both."
            )
        n_total = plan.sample_size(mde, power, alternative)
    _check_units(n_total, plan.least_units, test)
    if mde is None:
        mde = plan.mde(n_total, power, alternative)
    else:
        power = plan.power(mde, n_total, alternative)
    return PowerSummary(
        mean, std, relative, alpha, treatment_share, alternative, test, n_total, mde, power
    )


# --- sequential test and mid-experiment power -----------------------------------------------


def _sequence_halfwidth(variance: float, n_total: float, alpha: float, tuning: float) -> float:
    """Half-width of the two-sided normal-mixture confidence sequence after ``n_total`` units.

    ``variance`` is the per-unit variance of the effect (its standard error squared times
    ``n_total``); ``tuning`` is the number of units at which the sequence is tightest
    (Waudby-Smith et al. 2023, eq. 9, as ``sequential_test`` uses it). ``n_total`` may be
    fractional here: it is a planned count.
    """
    from furima.experiments._sequential import mixture_rho

    rho_sq = mixture_rho(alpha, tuning) ** 2
    spread = n_total * rho_sq + 1
    return math.sqrt(
        variance * 2 * spread * math.log(math.sqrt(spread) / alpha) / (n_total**2 * rho_sq)
    )


def _two_sided_power(halfwidth: float, shift: float, effect: float, standard_error: float) -> float:
    """P(estimate above ``halfwidth - shift`` or below ``-halfwidth - shift``) at ``effect``."""
    from scipy.stats import norm

    upper = norm.sf((halfwidth - shift - effect) / standard_error)
    lower = norm.cdf((-halfwidth - shift - effect) / standard_error)
    return float(upper + lower)


def sequential_power(
    *,
    mean: float,
    std: float,
    mde: float,
    n_total: int,
    relative: bool = True,
    alpha: float = 0.05,
    treatment_share: float = 0.5,
    tuning: float = 5000.0,
) -> float:
    """Probability that the sequential test's interval excludes zero after ``n_total`` units.

    The same plan as :func:`power`, for the normal-mixture confidence sequence of
    ``sequential_test`` (wider than the fixed-horizon interval, the price of peeking).
    """
    plan = _Plan(mean, std, relative, alpha, treatment_share, "z")
    _check_units(n_total, plan.least_units, "z")
    unit_variance = plan.one_std**2 / (treatment_share * (1 - treatment_share))
    return midexperiment_power(
        standard_error=math.sqrt(unit_variance / n_total),
        n_total=n_total,
        mde=mde,
        alpha=alpha,
        method="sequential",
        tuning=tuning,
    )


def midexperiment_power(
    *,
    standard_error: float,
    n_total: int,
    mde: float,
    additional_units: float = 0.0,
    alpha: float = 0.05,
    method: RunningTest = "welch",
    tuning: float = 5000.0,
    prior: GaussianPrior | None = None,
) -> float:
    """Power the running test will have once ``additional_units`` more units join.

    Args:
        standard_error: The effect's standard error so far (absolute or relative, in the
            same terms as ``mde``).
        n_total: Units in the test so far, both arms.
        mde: The effect worth finding.
        additional_units: Units still to come, split as the first ones were.
        alpha: The test's false-positive rate (``1 - alpha`` intervals).
        method: The test: ``"welch"`` (fixed horizon), ``"sequential"`` or ``"bayesian"``.
        tuning: The sequential test's tuning (units where its interval is tightest).
        prior: The Bayesian test's prior on the effect; an improper (flat) prior gives the
            fixed-horizon answer.
    """
    _check_positive(standard_error, "standard_error", "the running test has no variance yet.")
    _check_positive(tuning, "tuning", "it is the number of units where the interval is tightest.")
    _check_positive(n_total, "n_total", "the running test needs units.")
    _check_effect(mde, "two-sided")
    _check_probability(alpha, "alpha")
    _check_choice(method, "method", ("welch", "sequential", "bayesian"))
    from scipy.stats import norm

    scaling = additional_units / n_total
    variance = standard_error**2 / (1 + scaling)
    z = float(norm.ppf(1 - alpha / 2))
    effect = abs(mde)
    if method == "bayesian" and prior is not None and prior.proper:
        precision = 1 / prior.variance + 1 / variance
        halfwidth = variance * math.sqrt(precision) * z
        shift = variance * prior.mean / prior.variance
        return _two_sided_power(halfwidth, shift, effect, math.sqrt(variance))
    if method == "sequential":
        per_unit = n_total * standard_error**2
        halfwidth = _sequence_halfwidth(per_unit, n_total * (1 + scaling), alpha, tuning)
    else:
        halfwidth = z * math.sqrt(variance)
    return _two_sided_power(halfwidth, 0.0, effect, math.sqrt(variance))


def additional_units_needed(
    *,
    standard_error: float,
    n_total: int,
    mde: float,
    power: float = 0.8,
    alpha: float = 0.05,
    method: RunningTest = "welch",
    tuning: float = 5000.0,
    prior: GaussianPrior | None = None,
) -> int:
    """More units the running test needs to find ``mde`` with ``power``; ``0`` if it has them.

    The arguments are those of :func:`midexperiment_power`. Raises ``ExperimentDataError``
    when even 134 million times the units so far would not do.
    """
    _check_probability(power, "power")
    _check_choice(method, "method", ("welch", "sequential", "bayesian"))

    running = partial(
        midexperiment_power,
        standard_error=standard_error,
        n_total=n_total,
        mde=mde,
        alpha=alpha,
        method=method,
        tuning=tuning,
        prior=prior,
    )

    def shortfall(scaling: float) -> float:
        return running(additional_units=scaling * n_total) - power

    if shortfall(0.0) >= 0:
        return 0
    scaling = _increasing_root(shortfall, 0.0, 1.0, "number of additional units", _MAX_SCALING)
    return math.ceil(scaling * n_total - 1e-9)
