"""``analyze`` and ``analyze_summary``: values on seeded experiments, and every refusal.

The synthetic experiments are seeded, so every number asserted here is reproducible; the
injected effects are known, so the tests check that the intervals recover them. The cases
carried from GrowthBook's stats engine (``packages/stats/tests``, cited beside each) are
rounded there to 5 decimals: we assert ``round(ours, 5) == expected``.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._analysis import analyze, analyze_summary
from furima.experiments._bayesian import GaussianPrior
from furima.experiments._frequentist import welch_test
from furima.experiments._metrics import Metric
from furima.experiments._statistics import MeanStats


def experiment(
    n: int = 6000, lift: float = 0.5, seed: int = 0, treated: float = 0.5
) -> pd.DataFrame:
    """Units with revenue (a pre-period covariate correlated with it), a conversion, clicks
    per visit, delivery days and latency; ``lift`` is added to treated units' revenue."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < treated, "treatment", "control")
    pre = rng.gamma(2.0, 5.0, n)
    visits = rng.poisson(3, n) + 1
    return pd.DataFrame(
        {
            "user": np.arange(n),
            "variant": arm,
            "pre_revenue": pre,
            "revenue": 0.8 * pre + rng.normal(0, 3, n) + np.where(arm == "treatment", lift, 0.0),
            "converted": (rng.random(n) < 0.1).astype(int),
            "visits": visits,
            "clicks": rng.binomial(visits, 0.3),
            "delivery_days": rng.exponential(3.0, n),
            "latency": rng.normal(100, 10, n),
            "country": rng.choice(["jp", "us"], n),
            "exposed": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 7, n), "D"),
        }
    )


def test_recovers_the_injected_lift_and_cuped_narrows_the_interval() -> None:
    data = experiment()
    plain = analyze(data, ["revenue"], difference="absolute")
    cuped = analyze(data, [Metric("revenue", pre_column="pre_revenue")], difference="absolute")
    welch, adjusted = plain.results[0].effect, cuped.results[0].effect
    assert welch is not None and adjusted is not None
    assert welch.method == "welch" and adjusted.method == "cuped"
    assert welch.ci_low < 0.5 < welch.ci_high
    assert adjusted.ci_low < 0.5 < adjusted.ci_high
    assert abs(adjusted.estimate - 0.5) < 0.15
    # pre explains most of revenue's variance: CUPED's interval is far narrower.
    assert (adjusted.ci_high - adjusted.ci_low) < 0.5 * (welch.ci_high - welch.ci_low)
    assert cuped.srm.ok
    assert cuped.decision.startswith("Ship treatment: revenue (+0.")


def test_results_equal_the_summary_statistics_test() -> None:
    data = experiment()
    result = analyze(data, ["revenue"], difference="relative").results[0]
    arms = {
        str(arm): MeanStats.from_values(rows["revenue"]) for arm, rows in data.groupby("variant")
    }
    expected = welch_test(arms["control"], arms["treatment"], metric="revenue")
    assert result.effect == replace(expected, metric="revenue")
    summary = analyze_summary(arms, metrics=[Metric("revenue")])
    assert summary.results[0].effect == result.effect
    assert summary.srm == analyze(data, ["revenue"]).srm


@pytest.mark.parametrize(("correction", "statsmodels_method"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_equal_statsmodels(correction: str, statsmodels_method: str) -> None:
    from statsmodels.stats.multitest import multipletests

    data = experiment(lift=0.2)
    metrics = ["revenue", "converted", "latency", Metric("ctr", "clicks", "ratio", "visits")]
    analysis = analyze(data, metrics, correction=correction)  # type: ignore[arg-type]
    raw = [result.effect.p_value for result in analysis.results if result.effect]
    expected = multipletests(raw, method=statsmodels_method)[1]
    adjusted = [result.adjusted_p_value for result in analysis.results]
    assert adjusted == pytest.approx(list(expected), abs=1e-15)
    assert len(adjusted) == 4


def test_guardrails_are_not_corrected_and_harm_blocks_shipping() -> None:
    data = experiment(lift=1.0)
    data.loc[data["variant"] == "treatment", "latency"] += 3.0
    analysis = analyze(
        data,
        [
            Metric("revenue", pre_column="pre_revenue"),
            Metric("latency", guardrail=True, higher_is_better=False),
        ],
    )
    revenue, latency = analysis.results
    assert revenue.verdict == "better" and revenue.adjusted_p_value is not None
    assert latency.adjusted_p_value is None and latency.verdict == "worse"
    assert analysis.decision.startswith("Don't ship treatment: it harms guardrail latency (+")


def test_sample_ratio_mismatch_is_reported_and_distrusted() -> None:
    data = experiment(n=10000, treated=0.45)
    analysis = analyze(data, [Metric("revenue", pre_column="pre_revenue")])
    assert not analysis.srm.ok
    assert analysis.srm.observed[0] > analysis.srm.observed[1]  # control first
    assert analysis.results[0].effect is not None  # still computed
    assert analysis.decision.startswith("Can't trust these results: the sample-ratio check")
    # the same split matches a 55/45 design
    assert analyze(data, ["revenue"], weights=[55, 45]).srm.ok
    assert analyze(data, ["revenue"], weights={"treatment": 45, "control": 55}).srm.ok


def test_a_metric_without_variance_is_unsupported_and_the_rest_still_run() -> None:
    data = experiment().assign(constant=1.0)
    analysis = analyze(data, ["constant", "revenue"])
    constant, revenue = analysis.results
    assert constant.effect is None and constant.verdict == "unsupported"
    assert constant.unsupported is not None and "zero variance" in constant.unsupported
    assert revenue.effect is not None and revenue.adjusted_p_value == revenue.effect.p_value
    assert analysis.decision.endswith(" constant could not be analysed (the table says why).")
    alone = analyze(data, ["constant", Metric("latency", guardrail=True)])
    assert alone.decision.startswith("No decision for treatment: no primary metric could be")
    unchecked = analyze(data, ["revenue", Metric("constant", guardrail=True)])
    assert (
        "Guardrail constant could not be checked: check it before shipping." in unchecked.decision
    )


def test_no_effect_gives_no_decision_not_a_claim_of_no_effect() -> None:
    data = experiment(lift=0.0, seed=3)
    fixed = analyze(data, ["revenue"])
    assert fixed.results[0].verdict == "inconclusive"
    assert fixed.decision.startswith("No decision for treatment yet")
    assert "not proof of none" in fixed.decision
    sequential = analyze(data, ["revenue"], method="sequential")
    assert sequential.decision.startswith("Keep running treatment")


def test_every_metric_kind_and_method() -> None:
    data = experiment(lift=1.0)
    metrics = [
        Metric("revenue", pre_column="pre_revenue"),
        Metric("converted", kind="proportion"),
        Metric("ctr", column="clicks", kind="ratio", denominator="visits"),
        Metric("p90_days", "delivery_days", "quantile", quantile=0.9, higher_is_better=False),
    ]
    methods = {
        "welch": ["cuped", "welch", "ratio", "quantile"],
        "sequential": ["sequential"] * 3 + ["quantile-sequential"],
        "bayesian": ["bayesian"] * 4,
    }
    for method, names in methods.items():
        analysis = analyze(data, metrics, method=method)  # type: ignore[arg-type]
        assert [r.effect.method for r in analysis.results if r.effect] == names
        assert analysis.results[0].verdict == "better"
    bayesian = analyze(data, metrics, method="bayesian").results
    assert all(r.adjusted_p_value is None and r.effect for r in bayesian)
    assert bayesian[0].effect is not None and bayesian[0].effect.chance_to_win is not None
    assert bayesian[0].effect.chance_to_win > 0.99
    sceptical = GaussianPrior(mean=0.0, variance=0.0001, proper=True)
    shrunk = analyze(data, metrics[:1], method="bayesian", prior=sceptical).results[0].effect
    assert shrunk is not None and 0 < shrunk.estimate < bayesian[0].effect.estimate


def test_segments_and_sequential_paths() -> None:
    data = experiment(lift=1.0)
    analysis = analyze(data, ["revenue"], segments=["country"], time="exposed")
    segments = [r.segment for r in analysis.results]
    assert segments == [None, "country=jp", "country=us"]
    jp = analysis.results[1].effect
    assert jp is not None and jp.control_n + jp.treatment_n == int((data.country == "jp").sum())
    paths = analysis.sequential_paths
    assert [point.at for point in paths] == [f"2026-01-0{day}" for day in range(1, 8)]
    assert [p.control_n + p.treatment_n for p in paths] == list(
        data.groupby("exposed").size().cumsum()
    )
    for point in paths:  # the confidence sequence is always wider than the naive interval
        assert point.ci_low < point.naive_low <= point.naive_high < point.ci_high
    last = analyze(data, ["revenue"], method="sequential").results[0].effect
    assert last is not None and paths[-1].ci_low == pytest.approx(last.ci_low)
    assert json.loads(json.dumps(analysis.to_dict(), allow_nan=False))["srm"]["ok"] is True


def test_numeric_time_gives_at_most_twenty_steps() -> None:
    data = experiment().assign(minute=lambda frame: np.arange(len(frame), dtype=float))
    paths = analyze(data, ["revenue"], time="minute").sequential_paths
    assert len(paths) == 20 and paths[-1].control_n + paths[-1].treatment_n == len(data)


def bad(data: pd.DataFrame, metrics: list[Metric | str], match: str, **options: object) -> None:
    with pytest.raises(ExperimentDataError, match=match):
        analyze(data, metrics, **options)  # type: ignore[arg-type]


def test_bad_data_is_refused_before_any_computation() -> None:
    data = experiment(n=400)
    bad(data.iloc[:0], ["revenue"], "no rows")
    bad(data, ["revenue"], "no variant column 'arm'", variant="arm")
    bad(data.assign(variant="control"), ["revenue"], "at least two variants")
    bad(data, ["revenue"], "control 'ctl' is not one of the variants", control="ctl")
    bad(data, ["profit"], "no column for metric 'profit' 'profit'")
    bad(data.assign(revenue="x"), ["revenue"], "not numeric")
    nan_revenue = data.assign(revenue=data["revenue"].where(data.index % 50 != 0))
    bad(nan_revenue, ["revenue"], "has 8 missing values out of 400; fill them")
    no_pre = data.assign(pre_revenue=data["pre_revenue"].where(data.index % 100 != 0))
    bad(
        no_pre,
        [Metric("revenue", pre_column="pre_revenue")],
        r"pre-period column 'pre_revenue' of metric 'revenue' has 4 missing values out of 400; "
        r"fill them with 0 .*fillna\(0\).*or drop those units",
    )
    bad(data.assign(converted=2), [Metric("converted", kind="proportion")], "only 0 and 1")
    bad(data, ["revenue"], "2 variants .* but 3 weights", weights=[1, 1, 1])
    bad(data, ["revenue"], "no unit column 'id'", unit="id")
    bad(data, ["revenue"], "no column 'region'", segments=["region"])
    no_time = data.assign(exposed=data["exposed"].where(data.index > 0))
    bad(no_time, ["revenue"], "1 missing first-exposure times", time="exposed")
    bad(data.assign(exposed="monday"), ["revenue"], "datetimes or numbers", time="exposed")


def test_units_in_two_variants_or_two_rows_are_named() -> None:
    data = experiment(n=400)
    crossed = pd.concat(
        [
            data,
            data.iloc[:3].assign(
                variant=lambda f: f["variant"].map({"control": "treatment", "treatment": "control"})
            ),
        ]
    )
    bad(
        crossed,
        ["revenue"],
        r"3 units appear in more than one variant \(e\.g\. 0, 1, 2\)",
        unit="user",
    )
    twice = pd.concat([data, data.iloc[:2]])
    bad(twice, ["revenue"], r"2 units have more than one row \(e\.g\. 0, 1\).*groupby", unit="user")


def test_bad_definitions_are_refused() -> None:
    data = experiment(n=400)
    with pytest.raises(ExperimentConfigError, match="needs a denominator"):
        Metric("ctr", kind="ratio")
    with pytest.raises(ExperimentConfigError, match="quantile between 0 and 1"):
        Metric("p90", kind="quantile", quantile=90)
    with pytest.raises(ExperimentConfigError, match="not quantile metrics"):
        Metric("p90", kind="quantile", quantile=0.9, pre_column="pre_revenue")
    with pytest.raises(ExperimentConfigError, match="needs both the pre-period numerator"):
        Metric("ctr", kind="ratio", denominator="visits", pre_column="pre_clicks")
    with pytest.raises(ExperimentConfigError, match="unique"):
        analyze(data, ["revenue", "revenue"])
    with pytest.raises(ExperimentConfigError, match="method must be one of"):
        analyze(data, ["revenue"], method="bootstrap")  # type: ignore[arg-type]
    with pytest.raises(ExperimentConfigError, match="alpha must be between 0 and 1"):
        analyze(data, ["revenue"], alpha=5)
    with pytest.raises(ExperimentConfigError, match="segments are for a few groups"):
        analyze(data, ["revenue"], segments=["user"])


def test_summary_input_is_checked() -> None:
    stats = {"control": MeanStats(100, 50.0, 80.0), "treatment": MeanStats(0, 0.0, 0.0)}
    with pytest.raises(ExperimentDataError, match="no units in variants \\['treatment'\\]"):
        analyze_summary(stats)
    with pytest.raises(ExperimentDataError, match="give every metric the same variants"):
        analyze_summary(
            {
                "a": {"control": MeanStats(9, 5.0, 8.0), "b": MeanStats(9, 5.0, 8.0)},
                "b": {"control": MeanStats(9, 5.0, 8.0), "c": MeanStats(9, 5.0, 8.0)},
            }
        )
    with pytest.raises(ExperimentDataError, match="at least two variants"):
        analyze_summary({"control": MeanStats(9, 5.0, 8.0)})


def test_cuped_on_a_ratio_metric_narrows_its_interval() -> None:
    data = experiment(lift=0.0)
    rng = np.random.default_rng(5)
    data["pre_visits"] = data["visits"] + rng.poisson(1, len(data))
    data["pre_clicks"] = np.minimum(
        data["clicks"] + rng.poisson(0.3, len(data)), data["pre_visits"]
    )
    plain = Metric("ctr", "clicks", "ratio", "visits")
    adjusted = Metric(
        "ctr", "clicks", "ratio", "visits", pre_column="pre_clicks", pre_denominator="pre_visits"
    )
    before = analyze(data, [plain]).results[0].effect
    after = analyze(data, [adjusted]).results[0].effect
    assert before is not None and after is not None
    assert before.method == "ratio" and after.method == "cuped"
    assert after.standard_error < 0.8 * before.standard_error
    no_pre = data.assign(pre_visits=data["pre_visits"].where(data.index > 1))
    bad(no_pre, [adjusted], "pre-period column 'pre_visits' of metric 'ctr' has 2 missing")


def test_summary_analysis_reproduces_gbstats_to_five_decimals() -> None:
    """gbstats' expected values are rounded to 5 decimals; ``analyze_summary`` passes its
    inputs straight to the tests, so the numbers come through unchanged."""
    # gbstats tests/frequentist/test_tests.py::TestTwoSidedTTest::test_two_sided_ttest
    arms = {
        "control": MeanStats(n=3407, sum=1396.87, sum_squares=52377.9767),
        "treatment": MeanStats(n=3461, sum=2422.7, sum_squares=134698.29),
    }
    welch = analyze_summary(arms).results[0]
    assert welch.effect is not None and welch.effect.p_value is not None
    assert round(welch.effect.estimate, 5) == 0.70732
    assert (round(welch.effect.ci_low, 5), round(welch.effect.ci_high, 5)) == (-0.03526, 1.44989)
    assert round(welch.effect.p_value, 5) == 0.06191
    # gbstats tests/frequentist/test_tests.py::TestSequentialTTest::test_sequential_test_runs
    arms["control"] = MeanStats(n=3000, sum=1396.87, sum_squares=52377.9767)
    sequential = analyze_summary(
        arms,
        method="sequential",
        sequential_tuning=1000,
        units={"control": 3000, "treatment": 3461},
    ).results[0]
    assert sequential.effect is not None
    assert round(sequential.effect.estimate, 5) == 0.50336
    assert (round(sequential.effect.ci_low, 5), round(sequential.effect.ci_high, 5)) == (
        -0.55844,
        1.56516,
    )
    assert sequential.effect.p_value == 1


def test_three_variants_share_one_correction_and_get_one_sentence_each() -> None:
    data = experiment(n=9000, lift=0.0, seed=11)
    rng = np.random.default_rng(11)
    data["variant"] = rng.choice(["a", "b", "c"], len(data))
    data.loc[data["variant"] == "c", "revenue"] += 1.0
    analysis = analyze(data, [Metric("revenue", pre_column="pre_revenue")], control="a")
    assert analysis.variants == ["a", "b", "c"] and analysis.srm.ok
    assert len(analysis.srm.observed) == 3
    b, c = analysis.results
    assert (b.variant, c.variant) == ("b", "c")
    assert b.effect is not None and c.effect is not None
    assert b.effect.p_value is not None and c.effect.p_value is not None
    smaller, larger = sorted([b.effect.p_value, c.effect.p_value])
    assert min(b.adjusted_p_value or 1, c.adjusted_p_value or 1) == pytest.approx(2 * smaller)
    assert max(b.adjusted_p_value or 0, c.adjusted_p_value or 0) == pytest.approx(
        max(larger, 2 * smaller)
    )
    sentences = analysis.decision.split(". ")
    assert analysis.decision.startswith("No decision for b yet")
    assert any(sentence.startswith("Ship c: revenue (+") for sentence in sentences)
