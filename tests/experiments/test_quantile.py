"""Quantile metrics: gbstats' quantile reference case, its zero-variance rules, and coverage.

The reference numbers come from GrowthBook's stats engine (``packages/stats/tests``),
rounded there to 5 decimals or given in full; we assert ``round(ours, 5) ==
round(expected, 5)``. gbstats tests its quantile statistic through the Bayesian engine; with
an improper flat prior the posterior is the normal approximation of the data, which is
exactly our fixed-horizon quantile test, so its interval is ours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from furima.exceptions import ExperimentDataError
from furima.experiments._quantile import QuantileStats, quantile_test

# gbstats tests/bayesian/test_tests.py::TestEffectBayesianABTest::test_bayesian_effect_ab_test
# (also tests/test_shared_models.py::TestSumStats setUp): p90, two arms.
CONTROL = QuantileStats(
    n=11054,
    n_star=11054,
    level=0.9,
    estimate=7.157987489967789,
    lower=7.098780136176828,
    upper=7.217194843758751,
)
TREATMENT = QuantileStats(
    n=10861,
    n_star=10861,
    level=0.9,
    estimate=7.694499927525767,
    lower=7.64180598628119,
    upper=7.747193868770344,
)


def test_absolute_difference_matches_gbstats_improper_flat_prior() -> None:
    effect = quantile_test(CONTROL, TREATMENT, difference="absolute")
    # b_improper_flat.expected and b_improper_flat.ci in the gbstats test above.
    assert round(effect.estimate, 5) == round(0.5365124375579775, 5)
    assert round(effect.ci_low, 5) == round(0.4572559589115422, 5)
    assert round(effect.ci_high, 5) == round(0.6157689162044128, 5)
    assert effect.method == "quantile"
    assert effect.p_value is not None and effect.p_value < 1e-30


def test_relative_difference_matches_gbstats_flat_prior() -> None:
    effect = quantile_test(CONTROL, TREATMENT, difference="relative")
    # b_relative_flat (prior variance 1e6, as good as flat at 5 decimals).
    assert round(effect.estimate, 5) == round(0.07495297222736319, 5)
    assert round(effect.ci_low, 5) == round(0.06341005842481906, 5)
    assert round(effect.ci_high, 5) == round(0.08649588602990732, 5)


def test_variance_is_gbstats_variance_init() -> None:
    # gbstats/models/statistics.py QuantileStatistic.variance_init, written out.
    z = 1.959963984540054
    expected = (11054 - 1) * ((7.217194843758751 - 7.098780136176828) / (2 * z)) ** 2
    assert math.isclose(CONTROL.variance, expected, rel_tol=1e-12)
    assert math.isclose(CONTROL.standard_error, math.sqrt(expected / 11054), rel_tol=1e-12)


# gbstats tests/test_shared_models.py::TestQuantileStatisticZeroVariance
@pytest.mark.parametrize(
    ("n", "lower", "upper", "testable"),
    [
        (60_000_000, 5.0, 5.0, False),  # test_collapsed_bounds_large_n_has_zero_variance
        (999, 5.0, 5.0, False),  # test_collapsed_bounds_small_n_has_zero_variance
        (60_000_000, 4.99, 5.01, True),  # test_distinct_bounds_no_zero_variance
        (34, 4.0, 6.0, False),  # n <= z^2 * 0.9 / 0.1 = 34.57: the interval leaves [0, 1]
        (35, 4.0, 6.0, True),
    ],
)
def test_untestable_quantiles_follow_gbstats(
    n: int, lower: float, upper: float, testable: bool
) -> None:
    stats = QuantileStats(n=n, n_star=n, level=0.9, estimate=5.0, lower=lower, upper=upper)
    assert (stats.untestable_reason() is None) == testable


def test_untestable_quantile_raises_with_the_reason() -> None:
    flat = QuantileStats(n=999, n_star=999, level=0.9, estimate=5.0, lower=5.0, upper=5.0)
    with pytest.raises(ExperimentDataError, match="many equal values"):
        quantile_test(flat, TREATMENT)
    few = QuantileStats(n=20, n_star=20, level=0.9, estimate=5.0, lower=4.0, upper=6.0)
    with pytest.raises(ExperimentDataError, match="needs at least 35 units"):
        quantile_test(CONTROL, few)


def test_from_values_uses_the_order_statistic_interval() -> None:
    values = np.arange(1.0, 1001.0)
    stats = QuantileStats.from_values(values[::-1], 0.9)
    half = 1.959963984540054 * math.sqrt(0.9 * 0.1 / 1000)
    assert stats.n == 1000
    assert stats.estimate == pytest.approx(np.quantile(values, 0.9))
    assert stats.lower == pytest.approx(np.quantile(values, 0.9 - half))
    assert stats.upper == pytest.approx(np.quantile(values, 0.9 + half))


def test_from_values_refuses_bad_input() -> None:
    with pytest.raises(ExperimentDataError, match="between 0 and 1"):
        QuantileStats.from_values([1.0, 2.0], 1.5)
    with pytest.raises(ExperimentDataError, match="empty"):
        QuantileStats.from_values([], 0.5)
    with pytest.raises(ExperimentDataError, match="1 missing"):
        QuantileStats.from_values([1.0, float("nan")], 0.5)


def test_relative_lift_of_zero_control_quantile_is_refused() -> None:
    zero = QuantileStats(n=500, n_star=500, level=0.5, estimate=0.0, lower=-1.0, upper=1.0)
    with pytest.raises(ExperimentDataError, match="difference='absolute'"):
        quantile_test(zero, zero, difference="relative")


def test_interval_covers_the_true_p90_difference() -> None:
    """Seeded simulation: exponential delivery times, treatment 20% slower; the 95% interval
    of the p90 difference covers the true one about 95% of the time."""
    rng = np.random.default_rng(37)
    truth = -math.log(0.1) * (1.2 - 1.0)
    covered = []
    for _ in range(400):
        control = QuantileStats.from_values(rng.exponential(1.0, 600), 0.9)
        treatment = QuantileStats.from_values(rng.exponential(1.2, 600), 0.9)
        effect = quantile_test(control, treatment, difference="absolute")
        covered.append(effect.ci_low <= truth <= effect.ci_high)
    assert 0.92 <= float(np.mean(covered)) <= 0.98


def test_confidence_sequence_is_wider_than_the_fixed_interval() -> None:
    fixed = quantile_test(CONTROL, TREATMENT, difference="absolute")
    sequence = quantile_test(CONTROL, TREATMENT, difference="absolute", sequential_tuning=5000)
    assert sequence.method == "quantile-sequential"
    assert sequence.estimate == fixed.estimate
    assert sequence.ci_low < fixed.ci_low and sequence.ci_high > fixed.ci_high
    assert sequence.p_value is not None and fixed.p_value is not None
    assert sequence.p_value >= fixed.p_value
