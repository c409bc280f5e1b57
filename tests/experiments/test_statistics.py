"""Summary statistics agree with gbstats' statistic models and with numpy on raw values.

Cases are carried from GrowthBook's stats engine (``packages/stats/tests``), each citing
its source file and test; their expected numbers are rounded as the source states
(``round(ours, 5)`` for 5 decimals, 9 decimals for ``test_gbstats.py``).

Not applicable here (features furima does not build, or that live elsewhere):
- ``test_shared_models.py::TestSumStats::test_quantile_*`` and
  ``TestQuantileStatisticZeroVariance``: quantile metrics are ``_quantile.py``'s, not
  summary statistics;
- ``test_gbstats.py::TestVariationStatisticBuilder`` / ``TestGetMetricDf``: gbstats' SQL-row
  parsing, which furima does not have.
"""

from __future__ import annotations

import numpy as np
import pytest

from furima.exceptions import ExperimentDataError
from furima.experiments._frequentist import require_testable
from furima.experiments._statistics import (
    AdjustedRatioStats,
    AdjustedStats,
    MeanStats,
    ProportionStats,
    RatioStats,
)

N = 4
METRIC_1 = np.array([0.3, 0.5, 0.9, 22])
METRIC_2 = np.array([1, 1, 1])
METRIC_3 = np.array([2, 1, 5, 3])


def mean_stats(values: np.ndarray, n: int = N) -> MeanStats:
    return MeanStats(n=n, sum=float(values.sum()), sum_squares=float((values**2).sum()))


def adjusted(post: np.ndarray, pre: np.ndarray, theta: float | None, n: int = N) -> AdjustedStats:
    return AdjustedStats(
        n=n,
        post=mean_stats(post, n),
        pre=mean_stats(pre, n),
        sum_of_products=float((pre * post).sum()),
        theta=theta,
    )


# gbstats tests/test_shared_models.py::TestSampleMeanStatistic::test_sample_mean_statistic
def test_sample_mean_matches_numpy() -> None:
    stats = mean_stats(METRIC_1)
    assert stats.mean == np.mean(METRIC_1)
    assert stats.variance == pytest.approx(np.var(METRIC_1, ddof=1), rel=1e-15)
    assert stats.unadjusted_mean == stats.mean
    assert MeanStats.from_values(METRIC_1) == stats


# gbstats tests/test_shared_models.py::TestSampleMeanStatistic::test_sample_mean_statistic_low_n
def test_sample_mean_variance_is_zero_below_two_units() -> None:
    assert mean_stats(METRIC_1, n=1).variance == 0


# gbstats tests/test_shared_models.py::TestProportionStatistic::test_proportion_statistic
def test_proportion_mean_and_bernoulli_variance() -> None:
    stats = ProportionStats(sum=float(METRIC_2.sum()), n=N)
    assert stats.sum_squares == stats.sum
    assert stats.mean == 3 / N
    assert stats.variance == 3 / N * (1 - 3 / N)
    assert stats.unadjusted_mean == stats.mean


# gbstats tests/test_shared_models.py::TestRatioStatistic::test_ratio_statistic_statistic_covariance
def test_ratio_covariance_matches_numpy() -> None:
    stats = RatioStats(
        n=N,
        numerator=mean_stats(METRIC_1),
        denominator=mean_stats(METRIC_3),
        sum_of_products=float(np.sum(METRIC_1 * METRIC_3)),
    )
    assert stats.covariance == pytest.approx(np.cov(METRIC_1, METRIC_3)[0, 1], abs=1e-7)
    assert stats.mean == stats.unadjusted_mean == METRIC_1.sum() / METRIC_3.sum()
    assert RatioStats.from_values(METRIC_1, METRIC_3) == stats


# gbstats tests/test_shared_models.py::TestRatioStatistic::test_ratio_denom_zero
def test_ratio_variance_is_zero_when_denominator_sums_to_zero() -> None:
    denominator = MeanStats(n=N, sum=0, sum_squares=float((METRIC_3**2).sum()))
    stats = RatioStats(
        n=N,
        numerator=mean_stats(METRIC_1),
        denominator=denominator,
        sum_of_products=float(np.sum(METRIC_1 * METRIC_3)),
    )
    assert stats.variance == 0
    with pytest.raises(ExperimentDataError, match="denominator that sums to 0 in control"):
        require_testable(stats, arm="control", metric="revenue per visit")


# gbstats tests/test_shared_models.py::TestRegressionAdjustedStatistic
#     ::test_regression_adjusted_statistic
def test_adjusted_mean_and_variance_follow_theta() -> None:
    stats = adjusted(METRIC_3, METRIC_1, theta=0)
    assert stats.mean == np.mean(METRIC_3)
    assert stats.variance == stats.post.variance
    tilted = AdjustedStats(
        n=N, post=stats.post, pre=stats.pre, sum_of_products=stats.sum_of_products, theta=0.23
    )
    assert tilted.mean != tilted.unadjusted_mean
    assert tilted.variance != tilted.post.variance
    assert tilted.unadjusted_mean == np.mean(METRIC_3) == tilted.post.mean


# gbstats tests/test_shared_models.py::TestRegressionAdjustedStatistic
#     ::test_regression_adjusted_small_n
def test_adjusted_variance_is_zero_below_two_units() -> None:
    assert adjusted(METRIC_3, METRIC_1, theta=0.3, n=1).variance == 0


# gbstats tests/test_shared_models.py::TestComputeTheta::test_returns_0_no_variance
def test_pooled_theta() -> None:
    arm = adjusted(METRIC_3, METRIC_1, theta=999)
    assert round(AdjustedStats.pooled_theta(arm, arm), 5) == 0.01864
    flat_pre = AdjustedStats(
        n=N, post=mean_stats(METRIC_3), pre=MeanStats(n=N, sum=0, sum_squares=0),
        sum_of_products=0, theta=999,
    )  # fmt: skip
    assert AdjustedStats.pooled_theta(flat_pre, flat_pre) == 0


# gbstats tests/test_shared_models.py::TestSumStats::test_sum_correct
def test_pooling_adds_sums() -> None:
    periods = [
        MeanStats(n=500, sum=10, sum_squares=75),
        MeanStats(n=500, sum=40, sum_squares=73),
        MeanStats(n=500, sum=10, sum_squares=75),
        MeanStats(n=500, sum=40, sum_squares=73),
    ]
    pooled = periods[0] + periods[1] + periods[2] + periods[3]
    assert pooled == MeanStats(n=2000, sum=100, sum_squares=296)


def _three_armed() -> dict[str, AdjustedStats]:
    # gbstats tests/test_gbstats.py::THREE_ARMED_CUPED_DF
    rows = {
        "zero": (3001, 300, 600, 210, 415, -20),
        "one": (3000, 222, 555, 120, 405, -10),
        "two": (4000, 450, 900, 300, 600, -30),
    }
    return {
        name: AdjustedStats(
            n=n,
            post=MeanStats(n=n, sum=s, sum_squares=ss),
            pre=MeanStats(n=n, sum=cs, sum_squares=css),
            sum_of_products=sp,
        )
        for name, (n, s, ss, cs, css, sp) in rows.items()
    }


# gbstats tests/test_gbstats.py::TestThreeArmedCuped
#     ::test_three_armed_cuped_baseline_stats_hardcoded
# (and ::test_three_armed_cuped_baseline_stats_same_as_0_vs_2: gbstats reports the
# baseline with the theta of its last comparison, 0 vs 2)
def test_three_armed_cuped_standard_deviations() -> None:
    arms = _three_armed()
    zero_vs_one = AdjustedStats.with_pooled_theta(arms["zero"], arms["one"])
    zero_vs_two = AdjustedStats.with_pooled_theta(arms["zero"], arms["two"])
    assert round(zero_vs_two[0].variance ** 0.5, 9) == 0.434288923
    assert round(zero_vs_one[1].variance ** 0.5, 9) == 0.423529598
    assert round(zero_vs_two[1].variance ** 0.5, 9) == 0.458953951
    assert round(zero_vs_two[0].unadjusted_mean, 9) == 0.099966678
    assert zero_vs_one[1].unadjusted_mean == 0.074
    assert zero_vs_two[1].unadjusted_mean == 0.1125


# gbstats tests/test_gbstats.py::TestThreeArmedCuped
#     ::test_three_armed_cuped_baseline_stddev_different_from_no_cuped
def test_cuped_changes_the_standard_deviation_not_the_mean() -> None:
    arms = _three_armed()
    control, _ = AdjustedStats.with_pooled_theta(arms["zero"], arms["two"])
    assert round(control.variance**0.5, 9) != round(control.post.variance**0.5, 9)
    assert control.unadjusted_mean == control.post.mean


def test_theta_given_on_both_arms_is_kept() -> None:
    arm = adjusted(METRIC_3, METRIC_1, theta=0.5)
    assert AdjustedStats.with_pooled_theta(arm, arm) == (arm, arm)


def test_pooled_adjusted_stats_forget_theta() -> None:
    arm = adjusted(METRIC_3, METRIC_1, theta=0.5)
    assert (arm + arm).theta is None
    assert (arm + arm).n == 2 * N


def test_proportion_pools_into_a_mean_as_gbstats_does() -> None:
    pooled = ProportionStats(n=10, sum=3) + ProportionStats(n=10, sum=5)
    assert pooled == MeanStats(n=20, sum=8, sum_squares=8)


def test_from_values_refuses_bad_input() -> None:
    with pytest.raises(ExperimentDataError, match="empty"):
        MeanStats.from_values([])
    with pytest.raises(ExperimentDataError, match="1 missing or infinite"):
        MeanStats.from_values([1.0, float("nan")])
    with pytest.raises(ExperimentDataError, match="only 0 and 1"):
        ProportionStats.from_values([0, 1, 2])
    with pytest.raises(
        ExperimentDataError, match="numerator has 3 values but the denominator has 2"
    ):
        RatioStats.from_values([1, 2, 3], [1, 2])
    with pytest.raises(ExperimentDataError, match="pre-period covariate has 2"):
        AdjustedStats.from_values([1, 2, 3], [1, 2])


def test_adjusted_from_values_matches_raw_covariance() -> None:
    rng = np.random.default_rng(0)
    pre = rng.normal(size=50)
    post = pre + rng.normal(size=50)
    stats = AdjustedStats.from_values(post, pre)
    assert stats.covariance == pytest.approx(np.cov(post, pre)[0, 1], rel=1e-12)


def test_require_testable_messages() -> None:
    with pytest.raises(ExperimentDataError) as caught:
        require_testable(MeanStats.from_values([3, 3, 3]), arm="control", metric="x")
    assert str(caught.value) == (
        "metric 'x' has zero variance in control: every unit has the same value, so no "
        "interval can be computed; check the metric column."
    )
    with pytest.raises(ExperimentDataError, match="has 1 unit\\(s\\) in treatment"):
        require_testable(MeanStats.from_values([3]), arm="treatment")
    with pytest.raises(ExperimentDataError, match="zero variance in control"):
        require_testable(ProportionStats(n=10, sum=10), arm="control")
    require_testable(MeanStats.from_values([1, 2]), arm="control")


def test_adjusted_ratio_from_values_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    den, pre_den = rng.poisson(5, 60) + 1.0, rng.poisson(5, 60) + 1.0
    num, pre_num = den * rng.gamma(2, 1, 60), pre_den * rng.gamma(2, 1, 60)
    stats = AdjustedRatioStats.from_values(num, den, pre_num, pre_den)
    covariance = stats.moments_covariance
    assert covariance == pytest.approx(np.cov([num, den, pre_num, pre_den]), rel=1e-9)
    assert stats.unadjusted_mean == stats.post_ratio.mean == num.sum() / den.sum()
    assert stats.variance == pytest.approx(stats.post_ratio.variance, rel=1e-12)  # theta None
    half = AdjustedRatioStats.from_values(num[:30], den[:30], pre_num[:30], pre_den[:30])
    rest = AdjustedRatioStats.from_values(num[30:], den[30:], pre_num[30:], pre_den[30:])
    pooled = half + rest
    assert pooled.n == 60 and pooled.theta is None
    assert pooled.moments_covariance == pytest.approx(covariance, rel=1e-9)
    with pytest.raises(ExperimentDataError, match="pre-period numerator has 59"):
        AdjustedRatioStats.from_values(num, den, pre_num[:59], pre_den[:59])
