"""The Bayesian test against GrowthBook's stats engine (gbstats) reference numbers.

Every case carries its numbers (never its code) from gbstats, cited beside it:
``tests/bayesian/test_tests.py`` (rounded to 5 decimals there: we assert
``round(ours, 5) == expected``, or ``abs(ours - expected) <= 5e-6`` at a rounding boundary),
its quantile cases (printed to 16 digits: we agree to 1e-12), and the Bayesian cases of
``tests/test_gbstats.py`` (rounded to 9 decimals: ``round(ours, 9) == expected``).

Reproduced: 14 reference cases. From ``tests/bayesian/test_tests.py``: binomial, Gaussian,
Gaussian with an informative prior, the quantile effect test (5 prior/difference
configurations, 10 values, and its risk against a 10-million-draw simulation), the
relative-versus-absolute prior check, the three ``get_risk`` numerical cases, and the two
``test_missing_data`` cases. From ``tests/test_gbstats.py::TestAnalyzeMetricDfBayesian``:
``test_get_metric_dfs_new``, ``_bayesian_ratio``, ``_inverse``, ``_zero_val``,
``_ratio_zero_denom``.

Deliberate difference: where gbstats returns an uninformative result (chance to win 0.5,
expected 0) for empty arms, one unit, or a zero denominator (``test_missing_data``,
``_zero_val``, ``_ratio_zero_denom``), we raise ``ExperimentDataError`` saying why, so no
analysis reports a number the data cannot support.

Not applicable: bandits (``gbstats/bayesian/bandits.py``, ``TestBandit*`` in
``tests/test_gbstats.py``: furima does not reweight traffic), post-stratification
(``post_stratify=True``), the ``"scaled"`` difference type (daily-traffic impact), and the
frequentist, sequential and CUPED cases of ``tests/test_gbstats.py`` (they belong to the
Welch and sequential tests).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from furima.exceptions import ExperimentDataError
from furima.experiments._bayesian import GaussianPrior, Posterior, bayesian_test
from furima.experiments._frequentist import welch_test
from furima.experiments._quantile import QuantileStats
from furima.experiments._statistics import MeanStats, ProportionStats, RatioStats


def _rounded(effect: Any, decimals: int = 5) -> dict[str, Any]:
    """The fields gbstats' ``round_results_dict`` compares, rounded as it rounds them."""
    assert effect.risk is not None and effect.chance_to_win is not None
    return {
        "expected": round(effect.estimate, decimals),
        "ci": (round(effect.ci_low, decimals), round(effect.ci_high, decimals)),
        "stddev": round(effect.standard_error, decimals),
        "chance_to_win": round(effect.chance_to_win, decimals),
        "risk": [round(effect.risk[0], decimals), round(effect.risk[1], decimals)],
    }


# --- gbstats tests/bayesian/test_tests.py ---------------------------------------------------


def test_binomial() -> None:
    # gbstats tests/bayesian/test_tests.py::TestBinom::test_bayesian_binomial_ab_test
    effect = bayesian_test(ProportionStats(n=100, sum=49), ProportionStats(n=100, sum=51))
    assert effect.method == "bayesian" and effect.p_value is None
    assert _rounded(effect) == {
        "expected": 0.04082,
        "ci": (-0.24779, 0.32943),
        "stddev": 0.14725,
        "chance_to_win": 0.60918,
        "risk": [0.0814, 0.04058],
    }


NORM_CONTROL = MeanStats(n=10, sum=100, sum_squares=1002.25)
NORM_TREATMENT = MeanStats(n=10, sum=105, sum_squares=1111.5)


def test_gaussian_flat_prior() -> None:
    # gbstats tests/bayesian/test_tests.py::TestNorm::test_bayesian_gaussian_ab_test
    effect = bayesian_test(NORM_CONTROL, NORM_TREATMENT)
    assert _rounded(effect) == {
        "expected": 0.05,
        "ci": (-0.02, 0.12),
        "stddev": 0.03572,
        "chance_to_win": 0.91923,
        "risk": [0.05131, 0.00131],
    }


def test_gaussian_informative_prior() -> None:
    # gbstats tests/bayesian/test_tests.py::TestNorm::test_bayesian_gaussian_ab_test_informative
    prior = GaussianPrior(mean=0.1, variance=0.1, proper=True)
    effect = bayesian_test(NORM_CONTROL, NORM_TREATMENT, prior=prior)
    assert _rounded(effect) == {
        "expected": 0.05063,
        "ci": (-0.01893, 0.12019),
        "stddev": 0.03549,
        "chance_to_win": 0.92315,
        "risk": [0.05186, 0.00123],
    }


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        # gbstats tests/bayesian/test_tests.py::TestBinom::test_missing_data
        (ProportionStats(n=0, sum=0), ProportionStats(n=0, sum=0)),
        # gbstats tests/bayesian/test_tests.py::TestNorm::test_missing_data
        (MeanStats(n=0, sum=0, sum_squares=0), MeanStats(n=0, sum=0, sum_squares=0)),
    ],
)
def test_missing_data_raises_instead_of_an_uninformative_answer(
    control: Any, treatment: Any
) -> None:
    # gbstats answers chance to win 0.5 and expected 0; we say why there is no answer.
    with pytest.raises(ExperimentDataError, match="unit"):
        bayesian_test(control, treatment)


# gbstats tests/bayesian/test_tests.py::TestEffectBayesianABTest::test_bayesian_effect_ab_test
QUANTILE_ARGS = {
    "control": {"n": 11054, "estimate": 7.157987489967789},
    "treatment": {"n": 10861, "estimate": 7.694499927525767},
}
QUANTILE_BOUNDS = {
    "control": (7.098780136176828, 7.217194843758751),
    "treatment": (7.64180598628119, 7.747193868770344),
}


def _quantile(arm: str, half_width: float | None = None) -> QuantileStats:
    args = QUANTILE_ARGS[arm]
    n, estimate = int(args["n"]), float(args["estimate"])
    lower, upper = QUANTILE_BOUNDS[arm]
    if half_width is not None:
        lower, upper = estimate - half_width, estimate + half_width
    return QuantileStats(n=n, level=0.9, estimate=estimate, lower=lower, upper=upper, n_star=n)


FLAT = GaussianPrior(variance=1e6, proper=True)
INFORMATIVE = GaussianPrior(variance=1.0, proper=True)


@pytest.mark.parametrize(
    ("difference", "prior", "expected", "ci"),
    [
        # b_improper_flat
        (
            "absolute",
            GaussianPrior(proper=False),
            0.5365124375579775,
            (0.4572559589115422, 0.6157689162044128),
        ),
        # b_flat
        ("absolute", FLAT, 0.536512437540855, (0.4572559588956844, 0.6157689161860256)),
        # b_relative_flat
        ("relative", FLAT, 0.07495297222736319, (0.06341005842481906, 0.08649588602990732)),
        # b_informative
        ("absolute", INFORMATIVE, 0.536495315442269, (0.4572401014910488, 0.6157505293934892)),
        # b_relative_informative
        (
            "relative",
            INFORMATIVE,
            0.07495037261804469,
            (0.06340765898986044, 0.08649308624622894),
        ),
    ],
)
def test_quantile_effect_with_priors(
    difference: Any, prior: GaussianPrior, expected: float, ci: tuple[float, float]
) -> None:
    # gbstats tests/bayesian/test_tests.py::TestEffectBayesianABTest::test_bayesian_effect_ab_test
    # (a relative prior, gbstats' default prior_type, is rescaled for the absolute test)
    effect = bayesian_test(
        _quantile("control"), _quantile("treatment"), difference=difference, prior=prior
    )
    assert effect.estimate == pytest.approx(expected, rel=1e-12)
    assert effect.ci_low == pytest.approx(ci[0], rel=1e-12)
    assert effect.ci_high == pytest.approx(ci[1], rel=1e-12)


def test_quantile_risk_matches_simulation() -> None:
    # gbstats tests/bayesian/test_tests.py::TestEffectBayesianABTest::test_bayesian_effect_ab_test
    # ("adding another test for risk": quantile bounds at +-1, flat proper prior, risk
    # against 1e7 posterior draws with seed 20240329, decimal=3)
    effect = bayesian_test(
        _quantile("control", 1.0), _quantile("treatment", 1.0), difference="absolute", prior=FLAT
    )
    assert effect.risk is not None
    mean = effect.estimate
    std = (effect.ci_high - effect.ci_low) / (2 * 1.959963984540054)
    np.random.seed(20240329)
    draws = std * np.random.normal(size=int(1e7)) + mean
    risk_treatment = -np.mean(draws[draws < 0]) * np.mean(draws < 0)
    risk_control = np.mean(draws[draws > 0]) * np.mean(draws > 0)
    np.testing.assert_almost_equal(effect.risk[0], risk_control, decimal=3)
    np.testing.assert_almost_equal(effect.risk[1], risk_treatment, decimal=3)


def test_relative_and_absolute_priors_agree_on_chance_to_win() -> None:
    # gbstats tests/bayesian/test_tests.py::TestGaussianEffectRelativeAbsolutePriors
    control = MeanStats(n=100, sum=1000, sum_squares=200000)
    treatment = MeanStats(n=100, sum=1100, sum_squares=200005)
    prior = GaussianPrior(mean=1, variance=1, proper=True)
    absolute = bayesian_test(control, treatment, difference="absolute", prior=prior)
    relative = bayesian_test(control, treatment, difference="relative", prior=prior)
    assert absolute.chance_to_win is not None and relative.chance_to_win is not None
    assert round(absolute.chance_to_win - relative.chance_to_win, 2) == 0


@pytest.mark.parametrize(
    ("mean", "std", "expected"),
    [
        # ::TestGetRiskNumericalStability::test_extreme_mu_over_sigma_no_overflow
        (0.01, 4.5e-9, (0.01, 0.0)),
        (-0.01, 4.5e-9, (0.0, 0.01)),
    ],
)
def test_risk_at_extreme_precision(mean: float, std: float, expected: tuple[float, float]) -> None:
    # gbstats tests/bayesian/test_tests.py (exact equality there)
    assert Posterior(mean=mean, std=std).expected_losses() == expected


def test_risk_in_the_normal_regime() -> None:
    # gbstats tests/bayesian/test_tests.py::TestGetRiskNumericalStability::
    # test_normal_inputs_bit_exact_regression (rounded to 10 decimals there)
    risk = Posterior(mean=0.1, std=0.05).expected_losses()
    expected = [round(x, 10) for x in (0.1004245351308, 0.0004245351308414)]
    assert [round(x, 10) for x in risk] == expected


# --- gbstats tests/test_gbstats.py::TestAnalyzeMetricDfBayesian ----------------------------

# dimension "one" of QUERY_OUTPUT: variation "zero" is control, "one" is treatment
COUNT_CONTROL = MeanStats(n=100, sum=270, sum_squares=848.79)
COUNT_TREATMENT = MeanStats(n=120, sum=300, sum_squares=869)


def test_count_metric() -> None:
    # gbstats tests/test_gbstats.py::TestAnalyzeMetricDfBayesian::test_get_metric_dfs_new
    effect = bayesian_test(COUNT_CONTROL, COUNT_TREATMENT)
    assert effect.risk is not None and effect.chance_to_win is not None
    assert round(effect.control_mean, 9) == 2.7
    assert round(effect.treatment_mean, 9) == 2.5
    assert round(effect.risk[1], 9) == 0.075691131
    assert round(effect.estimate, 9) == -0.074074074
    assert round(effect.chance_to_win, 9) == 0.071834168


def test_count_metric_where_lower_is_better() -> None:
    # gbstats tests/test_gbstats.py::TestAnalyzeMetricDfBayesian::test_get_metric_dfs_inverse
    effect = bayesian_test(COUNT_CONTROL, COUNT_TREATMENT, higher_is_better=False)
    assert effect.risk is not None and effect.chance_to_win is not None
    assert round(effect.risk[1], 9) == 0.001617057
    assert round(effect.estimate, 9) == -0.074074074
    assert round(effect.chance_to_win, 9) == round(1 - 0.071834168, 9)


def _ratio(n: int, num: tuple[float, float], den: tuple[float, float], sop: float) -> RatioStats:
    return RatioStats(
        n=n,
        numerator=MeanStats(n=n, sum=num[0], sum_squares=num[1]),
        denominator=MeanStats(n=n, sum=den[0], sum_squares=den[1]),
        sum_of_products=sop,
    )


def test_ratio_metric() -> None:
    # gbstats tests/test_gbstats.py::TestAnalyzeMetricDfBayesian::test_get_metric_dfs_bayesian_ratio
    control = _ratio(100, (270, 848.79), (510, 810), -900)
    treatment = _ratio(120, (300, 869), (500, 800), -905)
    effect = bayesian_test(control, treatment)
    assert effect.risk is not None and effect.chance_to_win is not None
    assert round(effect.control_mean, 9) == 0.529411765
    assert round(effect.treatment_mean, 9) == 0.6
    assert round(effect.risk[1], 9) == 0.050934045
    assert round(effect.estimate, 9) == 0.133333333
    assert round(effect.chance_to_win, 9) == 0.694926359


def test_one_user_and_zero_denominator_raise() -> None:
    # gbstats tests/test_gbstats.py::TestAnalyzeMetricDfBayesian::test_get_metric_dfs_zero_val
    # (treatment has 1 unit) and ::test_get_metric_dfs_ratio_zero_denom: gbstats answers
    # chance to win 0.5; we say why there is no answer.
    with pytest.raises(ExperimentDataError, match="1 unit"):
        bayesian_test(
            MeanStats(n=3, sum=20, sum_squares=443),
            MeanStats(n=1, sum=1, sum_squares=1),
            higher_is_better=False,
        )
    with pytest.raises(ExperimentDataError, match="denominator"):
        bayesian_test(
            _ratio(100, (270, 848.79), (0, 0), 0), _ratio(120, (300, 869), (500, 800), -905)
        )


# --- our own checks ------------------------------------------------------------------------


def test_flat_prior_keeps_the_welch_estimate_with_a_normal_interval() -> None:
    control = MeanStats.from_values(np.arange(50.0))
    treatment = MeanStats.from_values(np.arange(50.0) + 3)
    bayes = bayesian_test(control, treatment, difference="absolute", alpha=0.1)
    welch = welch_test(control, treatment, difference="absolute", alpha=0.1)
    assert bayes.estimate == welch.estimate and bayes.standard_error == welch.standard_error
    half = 1.6448536269514722 * welch.standard_error
    assert bayes.ci_low == pytest.approx(welch.estimate - half)
    assert bayes.ci_high == pytest.approx(welch.estimate + half)
    assert (bayes.control_n, bayes.treatment_n, bayes.alpha) == (50, 50, 0.1)
    assert bayes.to_dict()["risk"] == list(bayes.risk or ())


def test_risk_is_the_expected_loss_of_each_choice() -> None:
    posterior = Posterior(mean=0.02, std=0.03)
    draws = np.random.default_rng(0).normal(0.02, 0.03, 2_000_000)
    control_loss, treatment_loss = posterior.expected_losses()
    assert control_loss == pytest.approx(np.maximum(draws, 0).mean(), rel=2e-3)
    assert treatment_loss == pytest.approx(np.maximum(-draws, 0).mean(), rel=5e-3)
    # E[max(x, 0)] - E[max(-x, 0)] = E[x]
    assert control_loss - treatment_loss == pytest.approx(0.02, abs=1e-15)


def test_absolute_prior_is_rescaled_for_a_relative_test() -> None:
    prior = GaussianPrior(mean=0.5, variance=0.25, proper=True, scale="absolute")
    as_lift = prior.rescaled("relative", control_mean=-10.0)
    assert (as_lift.mean, as_lift.scale) == (0.05, "relative")
    assert as_lift.variance == pytest.approx(0.0025)
    assert prior.rescaled("absolute", control_mean=10.0) is prior
    assert GaussianPrior().rescaled("absolute", control_mean=0.0) == GaussianPrior()


def test_a_strong_prior_pulls_the_posterior_to_it() -> None:
    prior = GaussianPrior(mean=-0.2, variance=1e-8, proper=True)
    effect = bayesian_test(NORM_CONTROL, NORM_TREATMENT, prior=prior)
    assert effect.estimate == pytest.approx(-0.2, abs=1e-4)
    assert effect.chance_to_win is not None and effect.chance_to_win < 1e-6


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"variance": 0.0, "proper": True}, ExperimentDataError, "variance must be positive"),
        ({"variance": math.inf}, ExperimentDataError, "variance must be positive"),
        ({"mean": math.nan}, ExperimentDataError, "mean must be finite"),
        ({"scale": "lift"}, ExperimentDataError, "scale must be"),
    ],
)
def test_bad_priors_raise(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        GaussianPrior(**kwargs)


def test_bad_inputs_raise_a_clear_error() -> None:
    zero = MeanStats(n=10, sum=0, sum_squares=10)
    with pytest.raises(ExperimentDataError, match="control mean of 0"):
        bayesian_test(zero, NORM_TREATMENT)
    with pytest.raises(ExperimentDataError, match="control mean is 0"):
        bayesian_test(
            zero,
            NORM_TREATMENT,
            difference="absolute",
            prior=GaussianPrior(mean=0.1, variance=0.1, proper=True),
        )
    with pytest.raises(ExperimentDataError, match="quantile"):
        bayesian_test(_quantile("control"), NORM_TREATMENT)
    with pytest.raises(ValueError, match="alpha"):
        bayesian_test(NORM_CONTROL, NORM_TREATMENT, alpha=1.5)
