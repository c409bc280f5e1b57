"""Power, MDE and sample size against statsmodels' and gbstats' reference numbers.

Reference cases (carried as numbers, not code):

- statsmodels ``statsmodels/stats/tests/test_power.py`` (v0.15), whose expected powers come
  from R's ``pwr`` package (``pwr.t.test``, ``pwr.t2n.test``, ``pwr.2p.test``). A Cohen's
  effect size ``d`` becomes our absolute ``mde = d`` with ``std = 1``; statsmodels'
  ``nobs1`` units in the first arm and ``ratio = nobs2 / nobs1`` become our
  ``n_total = nobs1 * (1 + ratio)`` and ``treatment_share = ratio / (1 + ratio)``.
  Powers are asserted to 1e-6 or tighter (the reference's own precision where it gives
  more); solved sample sizes to the whole unit they are rounded up to.
- gbstats ``tests/test_midexperimentpower.py`` (mid-experiment power).

Reproduced: every two-sample statsmodels case, 28 checks: ``test_power`` of the 8
two-sample classes (``TestTTPowerTwoS1``-``S6``, ``TestNormalIndPower1``, ``2``),
``test_roots`` for the effect size and the sample size of the 7 of them whose power exceeds
alpha (14 checks), the 4 values of ``test_normal_power_explicit`` and the 2 of
``test_power_solver``; and the 3 gbstats mid-experiment cases.

Not applicable: one-sample tests (``TestTTPowerOneS*``, ``TestNormalIndPower_onesamp*``,
``ratio=0``; an A/B test has two arms), chi-square and F-test power (``TestChisquarePower``,
``TestFtest*``, ``test_ftest_power``), solving for ``alpha`` or ``ratio`` in ``test_roots``
(we plan units and effects, not error rates or splits), statsmodels' solver internals
(``test_power_solver``'s start values, ``test_solve_power_no_solution_returns_nan``, the
deprecated-alias and plotting tests). gbstats' mid-experiment ``num_goal_metrics`` /
``p_value_corrected`` options (Bonferroni over goal metrics) are not carried: furima
corrects many metrics with Holm or Benjamini-Hochberg at analysis time.

gbstats finds its mid-experiment scaling factor by bisection that stops once the power is
within 1e-5 of the target; we solve the same equation exactly (Brent), so our answer
differs from its printed factor by up to that tolerance's width (about 6e-4 here). The tests
check both that our power at gbstats' factor is 0.8 to gbstats' own 4 decimals and that
our factor lies within 1e-3 of it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from furima.exceptions import ExperimentDataError
from furima.experiments._bayesian import GaussianPrior
from furima.experiments._power import (
    PowerSummary,
    additional_units_needed,
    midexperiment_power,
    minimum_detectable_effect,
    power,
    power_summary,
    sample_size,
    sequential_power,
)
from furima.experiments._statistics import MeanStats

# (test class or function, d, nobs1, ratio, alternative, planned test, expected power)
STATSMODELS_TWO_SAMPLE = [
    # pwr.t.test(d=1,n=30,sig.level=0.05,type="two.sample",alternative="two.sided")
    ("TestTTPowerTwoS1", 1.0, 30, 1.0, "two-sided", "t", 0.967708258242517),
    # pwr.t.test(d=0.1,n=20,sig.level=0.05,type="two.sample",alternative="two.sided")
    ("TestTTPowerTwoS2", 0.1, 20, 1.0, "two-sided", "t", 0.06095912465411235),
    # pwr.t.test(d=1,n=30,sig.level=0.05,type="two.sample",alternative="greater")
    ("TestTTPowerTwoS3", 1.0, 30, 1.0, "greater", "t", 0.985459690251624),
    # pwr.t.test(d=0.01,n=30,sig.level=0.05,type="two.sample",alternative="greater")
    ("TestTTPowerTwoS4", 0.01, 30, 1.0, "greater", "t", 0.0540740302835667),
    # pwr.t2n.test(d=0.1,n1=20, n2=30,sig.level=0.05,alternative="two.sided")
    ("TestTTPowerTwoS5", 0.1, 20, 1.5, "two-sided", "t", 0.0633081832564667),
    # pwr.t2n.test(d=0.1,n1=20, n2=30,sig.level=0.05,alternative="greater")
    ("TestTTPowerTwoS6", 0.1, 20, 1.5, "greater", "t", 0.09623589080917805),
    # TestNormalIndPower1 and test_normal_power_explicit (R value, decimal=13)
    ("TestNormalIndPower1", 0.3, 80, 1.0, "two-sided", "z", 0.475100870572638),
    # pwr.2p.test(h=0.01,n=80,sig.level=0.05,alternative="less")
    ("TestNormalIndPower2", 0.01, 80, 1.0, "less", "z", 0.0438089705093578),
]

# test_normal_power_explicit: (d, nobs1, alternative, expected power, decimals in the source)
STATSMODELS_NORMAL_EXPLICIT = [
    # smp.NormalIndPower().power(0.3, 80, 0.05) == 0.475100870572638 (decimal=13)
    (0.3, 80, "two-sided", 0.475100870572638, 13),
    # smp.normal_power(-0.01, 80 / 2, 0.05); pwr.2p.test(h=0.01,n=80,..,"two.sided") (decimal=11)
    (-0.01, 80, "two-sided", 0.05045832927039234, 11),
    # NormalIndPower().power(0.01, 80, 0.05, alternative="larger"); pwr.2p.test(.."greater")
    (0.01, 80, "greater", 0.056869534873146124, 11),
    # NormalIndPower().power(-0.01, 80, 0.05, alternative="larger"); pwr.2p.test(.."less")
    (-0.01, 80, "greater", 0.0438089705093578, 11),
]


def _plan(d: float, nobs1: int, ratio: float) -> dict[str, Any]:
    """statsmodels' (effect size, nobs1, ratio) as our plan with ``std = 1``."""
    return {
        "mean": 0.0,
        "std": 1.0,
        "relative": False,
        "n_total": nobs1 * (1 + ratio),
        "treatment_share": ratio / (1 + ratio),
        "mde": d,
    }


@pytest.mark.parametrize(
    ("case", "d", "nobs1", "ratio", "alternative", "test", "expected"), STATSMODELS_TWO_SAMPLE
)
def test_power_matches_statsmodels_r_references(
    case: str, d: float, nobs1: int, ratio: float, alternative: Any, test: Any, expected: float
) -> None:
    # statsmodels stats/tests/test_power.py::<case>::test_power (decimal=6)
    got = power(**_plan(d, nobs1, ratio), alpha=0.05, alternative=alternative, test=test)
    assert abs(got - expected) < 1e-7, case


@pytest.mark.parametrize(
    ("d", "nobs1", "alternative", "expected", "decimals"), STATSMODELS_NORMAL_EXPLICIT
)
def test_normal_power_matches_statsmodels_explicit_values(
    d: float, nobs1: int, alternative: Any, expected: float, decimals: int
) -> None:
    # statsmodels stats/tests/test_power.py::test_normal_power_explicit
    got = power(**_plan(d, nobs1, 1.0), alpha=0.05, alternative=alternative)
    assert abs(got - expected) < 1.5 * 10.0**-decimals


def test_power_solver_regression_value_and_effect_root() -> None:
    # statsmodels stats/tests/test_power.py::test_power_solver: NormalIndPower, es 0.1,
    # nobs1 1600, alpha 0.01, "larger" -> 0.69219411243824214 (decimal=5), and solving
    # the effect size back from that power gives 0.1 (decimal=4).
    plan = _plan(0.1, 1600, 1.0)
    got = power(**plan, alpha=0.01, alternative="greater")
    assert abs(got - 0.69219411243824214) < 1e-10
    del plan["mde"]
    effect = minimum_detectable_effect(
        **plan, alpha=0.01, power=0.69219411243824214, alternative="greater"
    )
    assert abs(effect - 0.1) < 1e-12


# TestNormalIndPower2's power (0.0438) is below alpha: its effect points away from the
# one-sided alternative, so there is no effect or sample size to plan for.
PLANNABLE = [case for case in STATSMODELS_TWO_SAMPLE if case[-1] > 0.05]


@pytest.mark.parametrize(
    ("case", "d", "nobs1", "ratio", "alternative", "test", "expected"), PLANNABLE
)
def test_roots_recover_effect_and_units(
    case: str, d: float, nobs1: int, ratio: float, alternative: Any, test: Any, expected: float
) -> None:
    # statsmodels stats/tests/test_power.py::<case>::test_roots (rtol=0.001), for the
    # effect size and the sample size; a sample size is rounded up to whole units.
    plan = _plan(d, nobs1, ratio)
    common: dict[str, Any] = {"alpha": 0.05, "power": expected, "alternative": alternative}
    mde = plan.pop("mde")
    n_total = plan.pop("n_total")
    effect = minimum_detectable_effect(**plan, n_total=int(n_total), test=test, **common)
    assert effect == pytest.approx(mde, rel=1e-9), case
    units = sample_size(**plan, mde=mde, test=test, **common)
    # the reference's units give exactly the target power: rounding up may add one unit
    assert n_total <= units <= n_total + 1, case


# --- our own plan: relative effects, splits, round trips ------------------------------------


def test_relative_mde_is_the_absolute_effect_over_the_mean() -> None:
    relative = power(mean=20.0, std=8.0, mde=0.05, n_total=4000)
    absolute = power(mean=20.0, std=8.0, mde=1.0, n_total=4000, relative=False)
    assert relative == absolute
    assert minimum_detectable_effect(mean=-20.0, std=8.0, n_total=4000) == pytest.approx(
        minimum_detectable_effect(mean=0.0, std=8.0, n_total=4000, relative=False) / 20.0
    )


def test_sample_size_matches_the_textbook_formula_and_is_the_smallest() -> None:
    # n per arm ~= 2 (z_0.975 + z_0.8)^2 sigma^2 / delta^2 (the other tail adds ~nothing)
    units = sample_size(mean=10.0, std=3.0, mde=0.02, relative=True)
    per_arm = 2 * (1.959963984540054 + 0.8416212335729143) ** 2 * 3.0**2 / 0.2**2
    assert units == math.ceil(2 * per_arm - 1e-9)
    assert power(mean=10.0, std=3.0, mde=0.02, n_total=units) >= 0.8
    assert power(mean=10.0, std=3.0, mde=0.02, n_total=units - 2) < 0.8


def test_unequal_split_needs_more_units() -> None:
    even = sample_size(mean=1.0, std=1.0, mde=0.1)
    skewed = sample_size(mean=1.0, std=1.0, mde=0.1, treatment_share=0.2)
    # the variance 1/n_c + 1/n_t grows by 1 / (4 * 0.2 * 0.8) at a 20/80 split
    assert skewed == pytest.approx(even / (4 * 0.2 * 0.8), rel=2e-3)
    assert power(mean=1.0, std=1.0, mde=0.1, n_total=skewed, treatment_share=0.2) >= 0.8


def test_mde_and_power_round_trip() -> None:
    mde = minimum_detectable_effect(mean=5.0, std=2.0, n_total=10_000, power=0.9, alpha=0.01)
    assert power(mean=5.0, std=2.0, mde=mde, n_total=10_000, alpha=0.01) == pytest.approx(0.9)
    less = minimum_detectable_effect(mean=5.0, std=2.0, n_total=10_000, alternative="less")
    assert less < 0


def test_power_summary_fills_in_what_is_missing() -> None:
    by_effect = power_summary(mean=10.0, std=3.0, mde=0.02)
    assert isinstance(by_effect, PowerSummary)
    assert by_effect.n_total == sample_size(mean=10.0, std=3.0, mde=0.02)
    assert 0.8 <= by_effect.power < 0.801
    by_units = power_summary(mean=10.0, std=3.0, n_total=by_effect.n_total)
    assert by_units.mde == pytest.approx(0.02, rel=1e-3)
    assert by_units.power == 0.8
    both = power_summary(mean=10.0, std=3.0, mde=0.01, n_total=by_effect.n_total)
    assert both.power < 0.5
    data = both.to_dict()
    assert data["n_total"] == by_effect.n_total and "lift" in data["text"]


def test_sequential_power_is_lower_than_fixed_power() -> None:
    plan: dict[str, Any] = {"mean": 10.0, "std": 3.0, "mde": 0.02, "n_total": 35_000}
    fixed = power(**plan)
    peeking = sequential_power(**plan)
    assert 0.05 < peeking < fixed


# --- gbstats mid-experiment power ------------------------------------------------------------

# gbstats tests/test_midexperimentpower.py::TestMidExperimentPower.setUp
GB_CONTROL = MeanStats(n=500, sum=499.99999999999994, sum_squares=1499.999999999999)
GB_TREATMENT = MeanStats(n=500, sum=525.0000000000008, sum_squares=1551.2499999999998)


def _gb_relative_standard_error() -> float:
    """Delta-method standard error of the lift, as the gbstats test's moments compute it."""
    c, t = GB_CONTROL, GB_TREATMENT
    variance = t.variance / t.n / c.mean**2 + c.variance / c.n * t.mean**2 / c.mean**4
    return math.sqrt(variance)


@pytest.mark.parametrize(
    ("method", "prior", "gb_factor"),
    [
        # ::test_calculate_midexperiment_power_freq
        ("welch", None, 25.45703125),
        # ::test_calculate_midexperiment_power_seq (tuning 5000)
        ("sequential", None, 55.66796875),
        # ::test_calculate_midexperiment_power_bayesian (prior mean 0.05, variance 0.001)
        ("bayesian", GaussianPrior(mean=0.05, variance=0.001, proper=True), 13.9404296875),
    ],
)
def test_midexperiment_power_matches_gbstats(
    method: str, prior: GaussianPrior | None, gb_factor: float
) -> None:
    common: dict[str, Any] = {
        "standard_error": _gb_relative_standard_error(),
        "n_total": 1000,
        "mde": 0.05,
        "alpha": 0.05,
        "method": method,
        "prior": prior,
    }
    at_gb = midexperiment_power(**common, additional_units=gb_factor * 1000)
    assert round(at_gb, 4) == 0.8  # gbstats asserts power(scaling_factor) == 0.8, places=4
    needed = additional_units_needed(**common, power=0.8)
    # gbstats' bisection tolerance, plus our rounding up to a whole unit
    assert abs(needed / 1000 - gb_factor) < 1e-3 + 1 / 1000
    assert midexperiment_power(**common, additional_units=needed) >= 0.8
    assert midexperiment_power(**common, additional_units=needed - 1) < 0.8


def test_sequential_power_is_the_mid_experiment_power_with_no_more_units() -> None:
    from furima.experiments._sequential import _two_sided_halfwidth, mixture_rho

    plan: dict[str, Any] = {"mean": 4.0, "std": 2.0, "mde": 0.03, "n_total": 20_000}
    standard_error = 2.0 / 4.0 * math.sqrt(4 / 20_000)  # lift's SE at an even split
    assert sequential_power(**plan) == pytest.approx(
        midexperiment_power(
            standard_error=standard_error, n_total=20_000, mde=0.03, method="sequential"
        ),
        rel=1e-12,
    )
    # the planned half-width is the sequential test's own
    from furima.experiments._power import _sequence_halfwidth

    ours = _sequence_halfwidth(1.5, 20_000, 0.05, 5000.0)
    theirs = _two_sided_halfwidth(1.5, 20_000, mixture_rho(0.05, 5000.0), 0.05)
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_an_already_powered_test_needs_no_more_units() -> None:
    assert additional_units_needed(standard_error=0.001, n_total=10_000, mde=0.05) == 0


def test_an_improper_prior_gives_the_fixed_horizon_answer() -> None:
    common: dict[str, Any] = {
        "standard_error": 0.02,
        "n_total": 1000,
        "mde": 0.03,
        "additional_units": 500,
    }
    flat = midexperiment_power(**common, method="bayesian", prior=GaussianPrior())
    assert flat == midexperiment_power(**common)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"std": 0.0}, "`std` must be a positive number"),
        ({"std": -1.0}, "`std` must be a positive number"),
        ({"mde": 0.0}, "`mde` must be a non-zero effect"),
        ({"alpha": 0.0}, "`alpha` must lie strictly between 0 and 1"),
        ({"alpha": 1.2}, "`alpha` must lie strictly between 0 and 1"),
        ({"power": 1.0}, "`power` must lie strictly between 0 and 1"),
        ({"treatment_share": 1.0}, "`treatment_share` must lie strictly between 0 and 1"),
        ({"treatment_share": 0.0}, "`treatment_share` must lie strictly between 0 and 1"),
        ({"mean": 0.0}, "relative effect needs a non-zero"),
        ({"alternative": "less"}, "flip the sign of `mde`"),
        ({"alternative": "sideways"}, "`alternative` must be one of"),
    ],
)
def test_bad_plans_raise_a_clear_error(changes: dict[str, object], message: str) -> None:
    plan: dict[str, Any] = {"mean": 10.0, "std": 2.0, "mde": 0.05, **changes}
    with pytest.raises(ExperimentDataError, match=message):
        sample_size(**plan)


def test_bad_units_and_power_raise_a_clear_error() -> None:
    with pytest.raises(ExperimentDataError, match="`n_total` must be at least 3"):
        power(mean=1.0, std=1.0, mde=0.1, n_total=2, test="t")
    with pytest.raises(ExperimentDataError, match="must exceed `alpha`"):
        minimum_detectable_effect(mean=1.0, std=1.0, n_total=100, power=0.01)
    with pytest.raises(ExperimentDataError, match="give `mde`"):
        power_summary(mean=1.0, std=1.0)
    with pytest.raises(ExperimentDataError, match="`standard_error` must be a positive"):
        midexperiment_power(standard_error=0.0, n_total=100, mde=0.1)
    with pytest.raises(ExperimentDataError, match="no number of additional units"):
        additional_units_needed(standard_error=1.0, n_total=10, mde=1e-9)
