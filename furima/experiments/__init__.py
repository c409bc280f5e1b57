"""Experiments: assignment, A/B analysis a data scientist can trust, interleaving for rankers,
and off-policy estimates from logged data before any user sees a change.

    from furima.experiments import Metric, analyze, write_report

    result = analyze(units, [Metric("orders", pre_column="orders_before")], method="sequential")
    result.srm.ok, result.decision, [row.to_dict() for row in result.results]
    write_report(result, "report.html")   # and report.json beside it

The statistics agree with GrowthBook's open stats engine (gbstats) and statsmodels' power
tests on their published cases; see docs/experiments.md.
"""

from furima.experiments._analysis import analyze, analyze_summary
from furima.experiments._assignment import (
    DEFAULT_LAYER,
    Experiment,
    ExperimentPlan,
    Layer,
    unit_position,
)
from furima.experiments._bayesian import GaussianPrior, Posterior, bayesian_test
from furima.experiments._cupac import predicted_covariate
from furima.experiments._exposure import (
    Event,
    ExperimentCounts,
    Exposure,
    ExposureLog,
    Mixed,
    Moment,
)
from furima.experiments._frequentist import EffectMoments, effect_moments, welch_test
from furima.experiments._interleaving import (
    Interleaved,
    InterleavingMethod,
    InterleavingResult,
    Outcome,
    balanced,
    credit,
    credit_counts,
    evaluate_interleaved,
    interleave,
    interleaving_test,
    replay_interleaving,
    replay_outcomes,
    team_draft,
)
from furima.experiments._metrics import Metric
from furima.experiments._ope import ESTIMATORS, Estimator, LoggedBandit, PolicyValue, estimate
from furima.experiments._open_bandit import open_bandit_log, thompson_sampling_action_probs
from furima.experiments._outcome import ExperimentAnalysis, MetricResult
from furima.experiments._paths import SequentialPoint
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
from furima.experiments._quantile import QuantileStats, quantile_test
from furima.experiments._report import render_report, write_report
from furima.experiments._results import Effect
from furima.experiments._reward_model import RewardModel
from furima.experiments._sequential import sequential_test
from furima.experiments._srm import SrmCheck, srm_check
from furima.experiments._statistics import (
    AdjustedRatioStats,
    AdjustedStats,
    MeanStats,
    ProportionStats,
    RatioStats,
    Stats,
)

__all__ = [
    "DEFAULT_LAYER",
    "ESTIMATORS",
    "AdjustedRatioStats",
    "AdjustedStats",
    "Effect",
    "EffectMoments",
    "Estimator",
    "Event",
    "Experiment",
    "ExperimentAnalysis",
    "ExperimentCounts",
    "ExperimentPlan",
    "Exposure",
    "ExposureLog",
    "GaussianPrior",
    "Interleaved",
    "InterleavingMethod",
    "InterleavingResult",
    "Layer",
    "LoggedBandit",
    "MeanStats",
    "Metric",
    "MetricResult",
    "Mixed",
    "Moment",
    "Outcome",
    "PolicyValue",
    "Posterior",
    "PowerSummary",
    "ProportionStats",
    "QuantileStats",
    "RatioStats",
    "RewardModel",
    "SequentialPoint",
    "SrmCheck",
    "Stats",
    "additional_units_needed",
    "analyze",
    "analyze_summary",
    "balanced",
    "bayesian_test",
    "credit",
    "credit_counts",
    "effect_moments",
    "estimate",
    "evaluate_interleaved",
    "interleave",
    "interleaving_test",
    "midexperiment_power",
    "minimum_detectable_effect",
    "open_bandit_log",
    "power",
    "power_summary",
    "predicted_covariate",
    "quantile_test",
    "render_report",
    "replay_interleaving",
    "replay_outcomes",
    "sample_size",
    "sequential_power",
    "sequential_test",
    "srm_check",
    "team_draft",
    "thompson_sampling_action_probs",
    "unit_position",
    "welch_test",
    "write_report",
]
