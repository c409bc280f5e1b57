"""The sequential test agrees with gbstats' sequential engine and survives peeking.

Cases are carried from GrowthBook's stats engine (``packages/stats/tests``), each citing
its source file and test. Expected numbers are compared at the precision the source
rounds them to: ``round(ours, 5) == expected`` for ``frequentist/test_tests.py``,
``round(ours, 9)`` for ``test_gbstats.py``.

One deliberate difference: gbstats finds a one-sided sequential p-value by bisection and
returns the midpoint after its last step, which can sit up to one bracket width (about
1.2e-4 in ``TestSequentialOneSidedGreaterTTest::test_one_sided_ttest_absolute``) from the
root; furima solves the same equation in closed form. That case checks the defining
property (the bound touches zero at ``alpha = p``) and agreement within gbstats' bracket.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._frequentist import welch_test
from furima.experiments._results import Effect
from furima.experiments._sequential import _one_sided_halfwidth, mixture_rho, sequential_test
from furima.experiments._statistics import AdjustedStats, MeanStats, ProportionStats

from .test_frequentist import RATIO_RA_CONTROL, RATIO_RA_TREATMENT

STAT_A = MeanStats(sum=1396.87, sum_squares=52377.9767, n=3000)
STAT_B = MeanStats(sum=2422.7, sum_squares=134698.29, n=3461)


def rounded(effect: Effect, decimals: int = 5) -> tuple[float | None, ...]:
    """(estimate, ci_low, ci_high, standard_error, p_value) rounded like gbstats' tests."""
    values = (effect.estimate, effect.ci_low, effect.ci_high, effect.standard_error)
    p = None if effect.p_value is None else round(effect.p_value, decimals)
    return (*(v if math.isinf(v) else round(v, decimals) for v in values), p)


# gbstats tests/frequentist/test_tests.py::TestSequentialTTest::test_sequential_test_runs
def test_two_sided_mean() -> None:
    effect = sequential_test(STAT_A, STAT_B, tuning=1000)
    assert rounded(effect) == (0.50336, -0.55844, 1.56516, 0.33341, 1.0)
    assert effect.method == "sequential"


# gbstats tests/frequentist/test_tests.py::TestSequentialTTest::test_sequential_test_runs_prop
def test_two_sided_proportion() -> None:
    effect = sequential_test(ProportionStats(sum=1396, n=3000), ProportionStats(sum=2422, n=3461))
    assert rounded(effect) == (0.50386, 0.40098, 0.60675, 0.03386, 0.0)


# gbstats tests/frequentist/test_tests.py::TestSequentialTTest::test_sequential_test_runs_ra
def test_two_sided_cuped() -> None:
    control = AdjustedStats(
        n=3000,
        post=STAT_A,
        pre=MeanStats(sum=16.87, sum_squares=527.9767, n=3000),
        sum_of_products=1,
    )
    treatment = AdjustedStats(
        n=3461,
        post=STAT_B,
        pre=MeanStats(sum=22.7, sum_squares=1348.29, n=3461),
        sum_of_products=1,
    )
    effect = sequential_test(control, treatment)
    assert rounded(effect) == (0.50338, -0.50969, 1.51646, 0.33341, 1.0)


# gbstats tests/frequentist/test_tests.py::TestSequentialTTest::test_sequential_test_runs_ratio_ra
def test_two_sided_cuped_ratio() -> None:
    effect = sequential_test(RATIO_RA_CONTROL, RATIO_RA_TREATMENT)
    assert rounded(effect) == (-0.0007, -0.02063, 0.01923, 0.00391, 1.0)


# gbstats tests/frequentist/test_tests.py::TestSequentialTTest
#     ::test_sequential_test_tuning_as_expected
def test_tuning_near_the_sample_size_gives_the_narrowest_interval() -> None:
    below, near, above = (sequential_test(STAT_A, STAT_B, tuning=t) for t in (10, 6461, 10000))
    assert below.ci_low < above.ci_low and below.ci_high > above.ci_high
    assert below.ci_low < near.ci_low and below.ci_high > near.ci_high
    assert above.ci_low < near.ci_low and above.ci_high > near.ci_high


# gbstats tests/frequentist/test_tests.py::TestSequentialOneSidedGreaterTTest::test_one_sided_ttest
def test_one_sided_greater_relative() -> None:
    effect = sequential_test(STAT_A, STAT_B, alternative="greater")
    assert rounded(effect) == (0.50336, -0.42356, math.inf, 0.33341, 0.4999)


# gbstats tests/frequentist/test_tests.py::TestSequentialOneSidedGreaterTTest
#     ::test_one_sided_ttest_absolute
def test_one_sided_greater_absolute() -> None:
    effect = sequential_test(STAT_A, STAT_B, difference="absolute", alternative="greater")
    assert rounded(effect)[:4] == (0.23438, -0.12657, math.inf, 0.12983)
    assert effect.p_value is not None
    assert abs(effect.p_value - 0.46316491943359384) < 0.4999 / 2**12  # gbstats' bracket
    # the one-sided bound touches zero at alpha = p, rho held at its alpha = 0.05 value
    rho = mixture_rho(0.05, 5000.0, two_sided=False)
    unit_variance = effect.standard_error**2 * 6461
    halfwidth = _one_sided_halfwidth(unit_variance, 6461, rho, effect.p_value)
    assert halfwidth == pytest.approx(effect.estimate, rel=1e-12)


# gbstats tests/frequentist/test_tests.py::TestSequentialOneSidedLesserTTest::test_one_sided_ttest
def test_one_sided_less_relative() -> None:
    effect = sequential_test(STAT_A, STAT_B, alternative="less")
    assert rounded(effect) == (0.50336, -math.inf, 1.43029, 0.33341, 0.4999)


# gbstats tests/frequentist/test_tests.py::TestSequentialOneSidedLesserTTest
#     ::test_one_sided_ttest_absolute
def test_one_sided_less_absolute() -> None:
    effect = sequential_test(STAT_A, STAT_B, difference="absolute", alternative="less")
    assert rounded(effect) == (0.23438, -math.inf, 0.59532, 0.12983, 0.4999)


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfSequential::test_analyze_metric_df_sequential
def test_gbstats_engine_sequential() -> None:
    control = MeanStats(n=100, sum=270, sum_squares=848.79)
    treatment = MeanStats(n=120, sum=300, sum_squares=869)
    effect = sequential_test(control, treatment, tuning=600)
    assert round(effect.estimate, 9) == -0.074074074
    assert effect.p_value is not None and round(effect.p_value, 9) == 0.892332229
    assert round(effect.ci_low, 9) == -0.233322085
    bad_tuning = sequential_test(control, treatment, tuning=1)
    assert effect.ci_low > bad_tuning.ci_low


def test_one_sided_p_value_clips_at_gbstats_bounds() -> None:
    strong = MeanStats.from_values(np.arange(1000) % 7 + 3.0)
    base = MeanStats.from_values(np.arange(1000) % 7 + 0.0)
    assert sequential_test(base, strong, alternative="greater").p_value == 1e-5
    assert sequential_test(base, strong, alternative="less").p_value == 0.4999


def test_sequential_interval_contains_the_fixed_horizon_one() -> None:
    fixed = welch_test(STAT_A, STAT_B)
    sequential = sequential_test(STAT_A, STAT_B)
    assert sequential.estimate == fixed.estimate
    assert sequential.ci_low < fixed.ci_low and sequential.ci_high > fixed.ci_high


def test_peeking_keeps_the_false_positive_rate() -> None:
    """A/A tests read after every 5% of units: the naive t-test stops on noise far more
    often than alpha, the sequential test stays at or below it."""
    rng = np.random.default_rng(7)
    simulations, units, looks = 200, 2000, 20
    values = rng.exponential(1.0, size=(simulations, 2, units))
    sums, squares = np.cumsum(values, axis=2), np.cumsum(values**2, axis=2)
    naive = sequential = 0
    for sim in range(simulations):
        naive_hit = sequential_hit = False
        for look in np.linspace(units / looks, units, looks).astype(int):
            arms = [
                MeanStats(
                    n=int(look),
                    sum=sums[sim, arm, look - 1],
                    sum_squares=squares[sim, arm, look - 1],
                )
                for arm in (0, 1)
            ]
            naive_hit |= welch_test(*arms).significant
            sequential_hit |= sequential_test(*arms, tuning=2 * units).significant
        naive += naive_hit
        sequential += sequential_hit
    assert sequential / simulations <= 0.05
    assert naive / simulations >= 0.1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ExperimentConfigError, match="tuning"):
        sequential_test(STAT_A, STAT_B, tuning=0)
    with pytest.raises(ExperimentConfigError, match=r"below 0\.5"):
        sequential_test(STAT_A, STAT_B, alternative="greater", alpha=0.5)
    with pytest.raises(ExperimentDataError, match="zero variance in treatment"):
        sequential_test(STAT_A, MeanStats.from_values([2.0, 2.0, 2.0]))
