"""Welch's test agrees with gbstats' frequentist engine case for case.

Cases are carried from GrowthBook's stats engine (``packages/stats/tests``), each citing
its source file and test. Expected numbers are compared at the precision the source
rounds them to: ``round(ours, 5) == expected`` for ``frequentist/test_tests.py`` and
``test_shared_models.py`` (5 decimals; 7 where the source uses ``assertAlmostEqual``),
``round(ours, 9)`` for ``test_gbstats.py`` (9 decimals). Where gbstats returns an empty
result with an error message (too few units, zero or negative variance) furima raises
``ExperimentDataError``; those cases check that.

Not applicable here:
- ``frequentist/test_post_strat.py`` (post-stratification), the ``scaled`` difference type
  (multi-period "ScaledImpact") and bandits (``test_gbstats.py::TestBandit*``,
  ``create_bandit_statistics``): furima does not build them;
- ``test_gbstats.py::TestUseCovariateAsResponse`` (a gbstats reporting switch that tests
  the pre-period as the metric), ``TestProcessAnalysis``, ``TestDetectVariations``,
  ``TestReduceDimensionality``, ``TestGetMetricDf`` (gbstats' SQL-row and dimension
  plumbing; ``analyze`` has its own);
- ``test_gbstats.py::TestAnalyzeMetricDfBayesian``, ``bayesian/test_tests.py`` and
  ``test_utils.py::TestTruncatedNormalMean`` (``test_bayesian.py``);
  ``test_utils.py::TestMultinomial`` (post-stratification).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._frequentist import effect_moments, welch_test
from furima.experiments._results import Difference, Effect
from furima.experiments._statistics import (
    AdjustedRatioStats,
    AdjustedStats,
    MeanStats,
    ProportionStats,
    RatioStats,
)

STAT_A = MeanStats(sum=1396.87, sum_squares=52377.9767, n=3407)
STAT_B = MeanStats(sum=2422.7, sum_squares=134698.29, n=3461)
STAT_A_3000 = MeanStats(sum=1396.87, sum_squares=52377.9767, n=3000)


def rounded(effect: Effect, decimals: int = 5) -> tuple[float | None, ...]:
    """(estimate, ci_low, ci_high, standard_error, p_value) rounded like gbstats' tests."""
    values = (effect.estimate, effect.ci_low, effect.ci_high, effect.standard_error)
    p = None if effect.p_value is None else round(effect.p_value, decimals)
    return (*(v if math.isinf(v) else round(v, decimals) for v in values), p)


# gbstats tests/frequentist/test_tests.py::TestTwoSidedTTest::test_two_sided_ttest
def test_two_sided_relative() -> None:
    effect = welch_test(STAT_A, STAT_B)
    assert rounded(effect) == (0.70732, -0.03526, 1.44989, 0.37879, 0.06191)
    assert effect.method == "welch"
    assert (effect.control_mean, effect.treatment_mean) == (0.41, 0.7)


# gbstats tests/frequentist/test_tests.py::TestTwoSidedTTest::test_two_sided_ttest_absolute
def test_two_sided_absolute() -> None:
    effect = welch_test(STAT_A, STAT_B, difference="absolute")
    assert rounded(effect) == (round(0.7 - 0.41, 5), 0.04538, 0.53462, 0.12478, 0.02016)


# gbstats tests/frequentist/test_tests.py::TestTwoSidedTTest::test_two_sided_ttest_binom
def test_two_sided_proportions() -> None:
    effect = welch_test(ProportionStats(sum=14, n=28), ProportionStats(sum=16, n=30))
    expected = round((16 / 30 - 0.5) / 0.5, 5)
    assert rounded(effect) == (expected, -0.47767, 0.61101, 0.2717, 0.80707)


# gbstats tests/frequentist/test_tests.py::TestTwoSidedTTest::test_two_sided_ttest_missing_variance
def test_two_units_with_impossible_sums_have_no_variance() -> None:
    control = MeanStats(sum=1396.87, sum_squares=52377.9767, n=2)
    with pytest.raises(ExperimentDataError, match="zero or negative variance in control"):
        welch_test(control, STAT_B)


# gbstats tests/frequentist/test_tests.py::TestOneSidedGreaterTTest::test_one_sided_ttest
def test_one_sided_greater_relative() -> None:
    effect = welch_test(STAT_A_3000, STAT_B, alternative="greater")
    assert rounded(effect) == (0.50336, -0.04514, math.inf, 0.33341, 0.06558)


# gbstats tests/frequentist/test_tests.py::TestOneSidedGreaterTTest::test_one_sided_ttest_absolute
def test_one_sided_greater_absolute() -> None:
    effect = welch_test(STAT_A_3000, STAT_B, difference="absolute", alternative="greater")
    assert rounded(effect) == (0.23438, 0.02079, math.inf, 0.12983, 0.03554)


# gbstats tests/frequentist/test_tests.py::TestOneSidedLesserTTest::test_one_sided_ttest
def test_one_sided_less_relative() -> None:
    effect = welch_test(STAT_A_3000, STAT_B, alternative="less")
    assert rounded(effect) == (0.50336, -math.inf, 1.05186, 0.33341, 0.93442)


# gbstats tests/frequentist/test_tests.py::TestOneSidedLesserTTest::test_one_sided_ttest_absolute
def test_one_sided_less_absolute() -> None:
    effect = welch_test(STAT_A_3000, STAT_B, difference="absolute", alternative="less")
    assert rounded(effect) == (0.23438, -math.inf, 0.44796, 0.12983, 0.96446)


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfFrequentist::test_get_metric_dfs_frequentist
def test_gbstats_engine_count_metric() -> None:
    control = MeanStats(n=100, sum=270, sum_squares=848.79)
    treatment = MeanStats(n=120, sum=300, sum_squares=869)
    effect = welch_test(control, treatment)
    assert (round(effect.control_mean, 9), round(effect.treatment_mean, 9)) == (2.7, 2.5)
    assert round(effect.estimate, 9) == -0.074074074
    assert effect.p_value is not None and round(effect.p_value, 9) == 0.145219005


RATIO_CONTROL = RatioStats(
    n=100,
    numerator=MeanStats(n=100, sum=270, sum_squares=848.79),
    denominator=MeanStats(n=100, sum=510, sum_squares=810),
    sum_of_products=-900,
)
RATIO_TREATMENT = RatioStats(
    n=120,
    numerator=MeanStats(n=120, sum=300, sum_squares=869),
    denominator=MeanStats(n=120, sum=500, sum_squares=800),
    sum_of_products=-905,
)


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfFrequentist
#     ::test_get_metric_dfs_frequentist_ratio
def test_gbstats_engine_ratio_metric() -> None:
    effect = welch_test(RATIO_CONTROL, RATIO_TREATMENT)
    assert round(effect.control_mean, 9) == 0.529411765
    assert round(effect.treatment_mean, 9) == 0.6
    assert round(effect.estimate, 9) == 0.133333333
    assert effect.p_value is not None and round(effect.p_value, 9) == 0.610663339
    assert effect.method == "ratio"


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfFrequentist::test_get_metric_dfs_zero_val
def test_gbstats_engine_one_unit_is_refused() -> None:
    control = MeanStats(n=3, sum=20, sum_squares=443)
    treatment = MeanStats(n=1, sum=1, sum_squares=1)
    with pytest.raises(ExperimentDataError, match="has 1 unit\\(s\\) in treatment"):
        welch_test(control, treatment, metric="count_metric")


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfFrequentist
#     ::test_get_metric_dfs_ratio_zero_denom
def test_gbstats_engine_zero_denominator_is_refused() -> None:
    control = replace(
        RATIO_CONTROL, denominator=MeanStats(n=100, sum=0, sum_squares=0), sum_of_products=0
    )
    with pytest.raises(ExperimentDataError, match="denominator that sums to 0 in control"):
        welch_test(control, RATIO_TREATMENT)


def _ra(n: int, post: float, post_sq: float, pre: float, pre_sq: float, sp: float) -> AdjustedStats:
    return AdjustedStats(
        n=n,
        post=MeanStats(n=n, sum=post, sum_squares=post_sq),
        pre=MeanStats(n=n, sum=pre, sum_squares=pre_sq),
        sum_of_products=sp,
    )


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfRegressionAdjustment::test_analyze_metric_df_ra
def test_gbstats_engine_cuped() -> None:
    control = _ra(3001, 300, 600, 210, 415, -20)
    treatment = _ra(3000, 222, 555, 120, 405, -10)
    effect = welch_test(control, treatment)
    assert round(effect.control_mean, 9) == 0.099966678
    assert round(effect.treatment_mean, 9) == 0.074
    assert round(effect.estimate, 9) == -0.281707154
    assert effect.p_value is not None and round(effect.p_value, 9) == 0.003732549
    assert effect.method == "cuped"
    assert round(effect.estimate, 3) != round((0.074 - 0.110963012) / 0.110963012, 3)


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfRegressionAdjustment
#     ::test_analyze_metric_df_ra_proportion
# (repeated as TestUseCovariateAsResponse::test_analyze_metric_df_ra_proportion)
def test_gbstats_engine_cuped_proportions() -> None:
    control = AdjustedStats(
        n=3001, post=ProportionStats(n=3001, sum=300), pre=ProportionStats(n=3001, sum=210),
        sum_of_products=-20,
    )  # fmt: skip
    treatment = AdjustedStats(
        n=3000, post=ProportionStats(n=3000, sum=222), pre=ProportionStats(n=3000, sum=120),
        sum_of_products=-10,
    )  # fmt: skip
    effect = welch_test(control, treatment)
    assert round(effect.control_mean, 9) == 0.099966678
    assert round(effect.estimate, 9) == -0.31620216
    assert effect.p_value is not None and round(effect.p_value, 9) == 0.000000353


# gbstats tests/test_shared_models.py::TestEffectMomentsResult::test_negative_variance
def test_negative_variance_is_refused() -> None:
    control = AdjustedStats(
        n=4, post=ProportionStats(n=4, sum=-7), pre=ProportionStats(n=4, sum=0),
        sum_of_products=0,
    )  # fmt: skip
    treatment = AdjustedStats(
        n=3, post=ProportionStats(n=3, sum=1), pre=ProportionStats(n=3, sum=1),
        sum_of_products=1,
    )  # fmt: skip
    with pytest.raises(ExperimentDataError, match="zero or negative variance in control"):
        welch_test(control, treatment, difference="absolute")


def _moments_with_means(
    mean_a: float, mean_b: float, difference: Difference
) -> tuple[float, float]:
    n = 1000
    stats = [MeanStats(n=n, sum=m * n, sum_squares=(m**2 + 4) * n) for m in (mean_a, mean_b)]
    moments = effect_moments(stats[0], stats[1], difference=difference)
    return moments.estimate, moments.standard_error


# gbstats tests/test_shared_models.py::TestEffectMomentsNegativeBaseline
#     ::test_relative_sign_matches_absolute_sign
# gbstats tests/test_utils.py::TestFrequentistDiff::test_absolute_is_plain_difference,
#     ::test_relative_positive_baseline, ::test_relative_negative_baseline_keeps_direction
@pytest.mark.parametrize(
    ("mean_a", "mean_b", "absolute", "relative"),
    [(-10, -5, 5, 0.5), (-10, -15, -5, -0.5), (-2, 3, 5, 2.5), (10, 15, 5, 0.5), (10, 5, -5, -0.5)],
)
def test_relative_lift_keeps_the_direction_of_the_change(
    mean_a: float, mean_b: float, absolute: float, relative: float
) -> None:
    assert _moments_with_means(mean_a, mean_b, "absolute")[0] == pytest.approx(absolute)
    assert _moments_with_means(mean_a, mean_b, "relative")[0] == pytest.approx(relative)


# gbstats tests/test_shared_models.py::TestEffectMomentsNegativeBaseline
#     ::test_relative_magnitude_scaled_by_baseline_magnitude
def test_relative_lift_on_a_negative_baseline() -> None:
    estimate, standard_error = _moments_with_means(-10, -5, "relative")
    assert round(estimate, 7) == 0.5
    assert standard_error > 0


# gbstats tests/test_utils.py::TestFrequentistDiff::test_relative_uses_unadjusted_baseline_magnitude
def test_relative_cuped_lift_divides_by_the_unadjusted_baseline() -> None:
    def arm(post_mean: float) -> AdjustedStats:
        n = 10
        return AdjustedStats(
            n=n,
            post=MeanStats(n=n, sum=post_mean * n, sum_squares=(post_mean**2 + 1) * n),
            pre=MeanStats(n=n, sum=n, sum_squares=2 * n),
            sum_of_products=post_mean * n + 3,
            theta=-1.0,
        )

    moments = effect_moments(arm(-10), arm(-5))  # adjusted means -9 and -4
    assert (moments.control.mean, moments.treatment.mean) == (-9, -4)
    assert moments.estimate == pytest.approx(0.5)


def test_cuped_narrows_the_interval_on_correlated_data() -> None:
    rng = np.random.default_rng(1)
    pre = rng.gamma(2.0, 2.0, size=(2, 400))
    post = pre + rng.normal(0, 1, size=(2, 400))
    post[1] *= 1.05
    plain = welch_test(MeanStats.from_values(post[0]), MeanStats.from_values(post[1]))
    cuped = welch_test(
        AdjustedStats.from_values(post[0], pre[0]), AdjustedStats.from_values(post[1], pre[1])
    )
    assert cuped.method == "cuped"
    assert cuped.standard_error < 0.5 * plain.standard_error
    assert cuped.control_mean == plain.control_mean


def test_welch_agrees_with_scipy_on_raw_values() -> None:
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 1.0, 300), rng.normal(1.2, 2.0, 200)
    effect = welch_test(MeanStats.from_values(a), MeanStats.from_values(b), difference="absolute")
    reference = ttest_ind(b, a, equal_var=False)
    assert effect.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((low, high), rel=1e-9)


def test_bad_input_is_refused_with_a_reason() -> None:
    ratio = RatioStats.from_values([1, 2, 3], [1, 1, 2])
    with pytest.raises(ExperimentDataError, match="control is summarised as a mean but treatment"):
        welch_test(MeanStats.from_values([1, 2, 3]), ratio)
    zero = MeanStats.from_values([-1, 1, 0])
    with pytest.raises(ExperimentDataError, match=r"control mean of 0.*difference='absolute'"):
        welch_test(zero, MeanStats.from_values([1, 2, 3]), metric="m")
    assert welch_test(zero, MeanStats.from_values([1, 2, 3]), difference="absolute").estimate == 2
    with pytest.raises(ExperimentConfigError, match="alpha"):
        welch_test(STAT_A, STAT_B, alpha=1.5)
    with pytest.raises(ExperimentConfigError, match="difference must be"):
        welch_test(STAT_A, STAT_B, difference="ratio")  # type: ignore[arg-type]
    with pytest.raises(ExperimentDataError, match="summarised as a ratio but treatment as a "):
        welch_test(RATIO_CONTROL, RATIO_RA_TREATMENT)


def _mean(n: int, total: float, squares: float) -> MeanStats:
    return MeanStats(n=n, sum=total, sum_squares=squares)


# gbstats tests/frequentist/test_tests.py (stat_a / stat_b of the ratio-RA cases)
RATIO_RA_CONTROL = AdjustedRatioStats(
    n=100,
    numerator=_mean(100, 485.112236689623, 2715.484666118136),
    denominator=_mean(100, 679.9093275844917, 4939.424001640236),
    pre_numerator=_mean(100, 192.59138069991536, 460.076026390857),
    pre_denominator=_mean(100, 290.1398399750233, 920.9461385038898),
    sum_num_den=3602.146836776702,
    sum_num_pre_num=1113.6215759318352,
    sum_num_pre_den=1559.2878434944676,
    sum_den_pre_num=1460.3181079276983,
    sum_den_pre_den=2130.9404074446747,
    sum_pre_num_pre_den=634.239482353647,
)
RATIO_RA_TREATMENT = AdjustedRatioStats(
    n=100,
    numerator=_mean(100, 514.7757826608777, 2994.897482705013),
    denominator=_mean(100, 705.4090874383759, 5291.36604146392),
    pre_numerator=_mean(100, 206.94157227402536, 514.2903702246757),
    pre_denominator=_mean(100, 302.54389139107326, 994.4506208125663),
    sum_num_den=3918.1561431600717,
    sum_num_pre_num=1237.0953021125997,
    sum_num_pre_den=1701.0287270040265,
    sum_den_pre_num=1604.0759503266522,
    sum_den_pre_den=2292.081739775257,
    sum_pre_num_pre_den=698.4173425817908,
)


# gbstats tests/frequentist/test_tests.py::TestTwoSidedTTest
#     ::test_two_sided_ttest_test_runs_ratio_ra
def test_two_sided_cuped_ratio() -> None:
    effect = welch_test(RATIO_RA_CONTROL, RATIO_RA_TREATMENT)
    assert rounded(effect) == (-0.0007, -0.00841, 0.007, 0.00391, 0.85771)
    assert effect.method == "cuped"


# gbstats tests/test_gbstats.py::TestAnalyzeMetricDfRegressionAdjustment
#     ::test_analyze_metric_df_ratio_ra
# (repeated as TestUseCovariateAsResponse::test_analyze_metric_df_ratio_ra; RATIO_RA_STATISTICS_DF
# differs from the test_tests.py stats in the last digits of two treatment products)
def test_gbstats_engine_cuped_ratio() -> None:
    treatment = replace(
        RATIO_RA_TREATMENT,
        sum_den_pre_num=1604.075950326651,
        sum_pre_num_pre_den=698.4173425817913,
    )
    effect = welch_test(RATIO_RA_CONTROL, treatment)
    assert round(effect.control_mean, 9) == 0.713495487
    assert round(effect.treatment_mean, 9) == 0.729754963
    assert round(effect.estimate, 9) == -0.000701483
    assert effect.p_value is not None and round(effect.p_value, 9) == 0.857710405


def _cuped_ratio_arm(
    m_post: np.ndarray, d_post: np.ndarray, m_pre: np.ndarray, d_pre: np.ndarray
) -> AdjustedRatioStats:
    return replace(AdjustedRatioStats.from_values(m_post, d_post, m_pre, d_pre), theta=0.5)


# gbstats tests/test_shared_models.py::TestEffectMomentsCupedRatioNegativeBaseline
#     ::test_negating_the_metric_negates_lift_and_keeps_standard_error
@pytest.mark.parametrize(
    ("m_post_b", "lift", "standard_error"),
    [
        ([17.0, 12.0, 23.0, 28.0, 12.0, 22.0, 29.0, 16.0], 0.1039280, 0.0286196),
        ([14.0, 9.0, 17.0, 23.0, 9.0, 18.0, 22.0, 13.0], -0.1372068, 0.0223934),
    ],
)
def test_cuped_ratio_on_a_negated_metric(
    m_post_b: list[float], lift: float, standard_error: float
) -> None:
    def moments(sign: int) -> tuple[float, float]:
        control = _cuped_ratio_arm(
            sign * np.array([12.0, 19.0, 16.0, 24.0, 21.0, 9.0, 14.0, 26.0]),
            np.array([1.0, 2.0, 1.5, 2.5, 2.0, 1.0, 1.5, 2.5]),
            sign * np.array([16.0, 11.0, 21.0, 19.0, 26.0, 11.0, 9.0, 21.0]),
            np.array([1.5, 1.0, 2.0, 2.0, 2.5, 1.0, 1.0, 2.0]),
        )
        treatment = _cuped_ratio_arm(
            sign * np.array(m_post_b),
            np.array([1.5, 1.0, 2.0, 2.5, 1.0, 2.0, 2.5, 1.5]),
            sign * np.array([11.0, 17.0, 22.0, 27.0, 10.0, 27.0, 21.0, 16.0]),
            np.array([1.0, 1.5, 2.0, 2.5, 1.0, 2.5, 2.0, 1.5]),
        )
        result = effect_moments(control, treatment)
        return result.estimate, result.standard_error

    positive, negative = moments(1), moments(-1)
    assert (round(positive[0], 7), round(positive[1], 7)) == (lift, standard_error)
    assert negative[0] == pytest.approx(-positive[0], abs=1e-12)
    assert negative[1] == pytest.approx(positive[1], abs=1e-12)
