"""``analyze``: an experiment's units in, a result a data scientist can trust out.

The order is the order of trust. The data are checked first (nothing is computed on a frame
with a missing column or a unit in two variants). The sample-ratio-mismatch check comes
next and is always reported: when the split is off, every effect is still computed but the
decision says the results cannot be trusted. Then each metric against control, with the
test ``method`` names; a metric the data cannot support (zero variance, too few units)
becomes a result that says why instead of stopping the others. The p-values of the primary
(non-guardrail) metrics are corrected together (Holm or Benjamini-Hochberg); guardrails are
not, so harm is flagged as early as possible. Segments and the sequential paths over time
are descriptive and leave the decision alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from furima.exceptions import ExperimentDataError
from furima.experiments._metrics import (
    AnyStats,
    Metric,
    arm_order,
    as_metrics,
    check_options,
    check_segments,
    check_units,
    design_weights,
    metric_stats,
)
from furima.experiments._outcome import (
    Correction,
    ExperimentAnalysis,
    Method,
    MetricResult,
    decide,
)
from furima.experiments._paths import SequentialPoint, check_time, sequential_paths
from furima.experiments._quantile import QuantileStats, quantile_test
from furima.experiments._results import Difference, Effect
from furima.experiments._srm import SrmCheck, srm_check

if TYPE_CHECKING:
    import pandas as pd

    from furima.experiments._bayesian import GaussianPrior

__all__ = ["analyze", "analyze_summary"]

Tester = Callable[[AnyStats, AnyStats, Metric], Effect]


def analyze(
    data: pd.DataFrame,
    metrics: Sequence[Metric | str],
    *,
    variant: str = "variant",
    control: str | None = None,
    unit: str | None = None,
    method: Method = "welch",
    difference: Difference = "relative",
    alpha: float = 0.05,
    correction: Correction = "holm",
    weights: Sequence[float] | Mapping[str, float] | None = None,
    segments: Sequence[str] = (),
    time: str | None = None,
    sequential_tuning: float = 5000.0,
    prior: GaussianPrior | None = None,
) -> ExperimentAnalysis:
    """Analyse an experiment from one row per unit.

    Args:
        data: One row per unit: the ``variant`` column, each metric's columns, and the
            optional ``unit``, ``segments`` and ``time`` columns.
        metrics: ``Metric``s, or column names for mean metrics.
        control: The control variant; ``"control"`` when there is one, else the first
            variant in the data. The others are compared with it in sorted order.
        unit: The unit id column: checks that no unit is in two variants or two rows.
        method: ``"welch"`` (fixed horizon), ``"sequential"`` (valid under continuous
            peeking) or ``"bayesian"``.
        correction: Multiple-testing correction of the primary metrics' p-values.
        weights: The design's traffic shares (control first, then the others in sorted
            order, or a mapping variant -> share); equal when ``None``.
        segments: Columns to split the effects by (country, platform).
        time: Each unit's first exposure (datetime or number): the sequential paths.
        sequential_tuning: Total units where the confidence sequence is tightest.
        prior: The Bayesian test's prior on the effect (flat when ``None``).

    Raises:
        ExperimentDataError: data an analysis cannot use (the message says what to fix).
        ExperimentConfigError: options that cannot work together.
    """
    metric_list = as_metrics(metrics)
    check_options(method, difference, alpha, correction, sequential_tuning)
    extra = [*segments, *([time] if time is not None else [])]
    check_units(data, metric_list, variant=variant, unit=unit, extra_columns=extra)
    labels = data[variant].astype(str)
    arms = arm_order(list(dict.fromkeys(labels)), control)
    check_segments(data, segments)
    if time is not None:
        check_time(data[time])
    groups = {arm: data[labels == arm] for arm in arms}
    srm = srm_check([len(groups[arm]) for arm in arms], design_weights(weights, arms))
    test = _tester(method, difference, alpha, sequential_tuning, prior)
    results = [
        result
        for metric in metric_list
        for result in _compare(_arm_stats(groups, metric), metric, arms, test)
    ]
    results = _corrected(results, correction)
    results += _segment_results(data, labels, metric_list, arms, test, segments)
    paths: list[SequentialPoint] = []
    if time is not None:
        paths = sequential_paths(
            data,
            labels,
            metric_list,
            arms,
            time=time,
            alpha=alpha,
            difference=difference,
            tuning=sequential_tuning,
        )
    return _finished(arms, method, difference, alpha, correction, srm, results, paths)


def analyze_summary(
    stats: Mapping[str, AnyStats] | Mapping[str, Mapping[str, AnyStats]],
    *,
    metrics: Sequence[Metric | str] = (),
    control: str | None = None,
    method: Method = "welch",
    difference: Difference = "relative",
    alpha: float = 0.05,
    correction: Correction = "holm",
    weights: Sequence[float] | Mapping[str, float] | None = None,
    units: Mapping[str, int] | None = None,
    sequential_tuning: float = 5000.0,
    prior: GaussianPrior | None = None,
) -> ExperimentAnalysis:
    """Analyse an experiment from summary statistics (totals an SQL query returned).

    Args:
        stats: ``{variant: stats}`` for one metric (named by ``metrics[0]``, else
            ``"metric"``), or ``{metric: {variant: stats}}`` for several.
        metrics: ``Metric``s that say which metrics are guardrails and which direction is
            better; metrics not named here are primary, higher is better.
        units: Units per variant for the SRM check; the first metric's ``n`` when ``None``.

    The other arguments are those of ``analyze``.
    """
    check_options(method, difference, alpha, correction, sequential_tuning)
    table = _summary_table(stats, as_metrics(metrics) if metrics else [])
    first = next(iter(table.values()))
    arms = arm_order(list(first[1]), control)
    for metric, by_arm in table.values():
        _check_summary_arms(metric, by_arm, arms)
    counts = units if units is not None else {arm: first[1][arm].n for arm in arms}
    missing = [arm for arm in arms if arm not in counts]
    if missing:
        raise ExperimentDataError(f"units gives no count for variants {missing}.")
    srm = srm_check([int(counts[arm]) for arm in arms], design_weights(weights, arms))
    test = _tester(method, difference, alpha, sequential_tuning, prior)
    results = [
        result
        for metric, by_arm in table.values()
        for result in _compare(by_arm.__getitem__, metric, arms, test)
    ]
    results = _corrected(results, correction)
    return _finished(arms, method, difference, alpha, correction, srm, results, [])


def _finished(
    arms: list[str],
    method: Method,
    difference: Difference,
    alpha: float,
    correction: Correction,
    srm: SrmCheck,
    results: list[MetricResult],
    paths: list[SequentialPoint],
) -> ExperimentAnalysis:
    analysis = ExperimentAnalysis(
        control=arms[0],
        variants=arms,
        method=method,
        difference=difference,
        alpha=alpha,
        correction=correction,
        srm=srm,
        results=results,
        sequential_paths=paths,
    )
    return replace(analysis, decision=decide(analysis))


def _tester(
    method: Method,
    difference: Difference,
    alpha: float,
    tuning: float,
    prior: GaussianPrior | None,
) -> Tester:
    """The test ``method`` names, as one function of two arms' statistics and the metric."""
    common: dict[str, Any] = {"difference": difference, "alpha": alpha}

    def run(control: AnyStats, treatment: AnyStats, metric: Metric) -> Effect:
        if method == "bayesian":
            from furima.experiments._bayesian import bayesian_test

            return bayesian_test(
                control,
                treatment,
                higher_is_better=metric.higher_is_better,
                metric=metric.name,
                prior=prior,
                **common,
            )
        if isinstance(control, QuantileStats) or isinstance(treatment, QuantileStats):
            if not (isinstance(control, QuantileStats) and isinstance(treatment, QuantileStats)):
                raise ExperimentDataError("one arm summarises a quantile, the other does not.")
            sequential = tuning if method == "sequential" else None
            return quantile_test(control, treatment, sequential_tuning=sequential, **common)
        if method == "sequential":
            from furima.experiments._sequential import sequential_test

            return sequential_test(control, treatment, tuning=tuning, metric=metric.name, **common)
        from furima.experiments._frequentist import welch_test

        return welch_test(control, treatment, metric=metric.name, **common)

    return run


def _compare(
    stats_of: Callable[[str], AnyStats],
    metric: Metric,
    arms: list[str],
    test: Tester,
    segment: str | None = None,
) -> list[MetricResult]:
    """Each treatment arm against control; what the data cannot support says why."""
    common: dict[str, Any] = {
        "metric": metric.name,
        "segment": segment,
        "guardrail": metric.guardrail,
        "higher_is_better": metric.higher_is_better,
    }
    results = []
    for arm in arms[1:]:
        try:
            effect = test(stats_of(arms[0]), stats_of(arm), metric)
        except ExperimentDataError as error:
            results.append(MetricResult(variant=arm, unsupported=str(error), **common))
            continue
        results.append(
            MetricResult(variant=arm, effect=replace(effect, metric=metric.name), **common)
        )
    return results


def _corrected(results: list[MetricResult], correction: Correction) -> list[MetricResult]:
    """Primary metrics' p-values corrected together (across metrics and variants)."""
    family = [
        index
        for index, result in enumerate(results)
        if not result.guardrail and result.effect is not None and result.effect.p_value is not None
    ]
    raw = [results[index].effect.p_value for index in family]  # type: ignore[union-attr]
    adjusted = _adjust([float(p) for p in raw if p is not None], correction)
    corrected = list(results)
    for index, value in zip(family, adjusted, strict=True):
        corrected[index] = replace(results[index], adjusted_p_value=value)
    return corrected


def _adjust(p_values: list[float], correction: Correction) -> list[float]:
    if not p_values or correction == "none":
        return p_values
    from statsmodels.stats.multitest import multipletests

    method = {"holm": "holm", "bh": "fdr_bh"}[correction]
    return [float(value) for value in multipletests(p_values, method=method)[1]]


def _segment_results(
    data: pd.DataFrame,
    labels: pd.Series,
    metrics: list[Metric],
    arms: list[str],
    test: Tester,
    segments: Sequence[str],
) -> list[MetricResult]:
    results: list[MetricResult] = []
    for column in segments:
        keys = data[column].astype(object).where(data[column].notna(), "(missing)").astype(str)
        for value in sorted(keys.unique()):
            inside = keys == value
            groups = {arm: data[inside & (labels == arm)] for arm in arms}
            name = f"{column}={value}"
            for metric in metrics:
                stats_of = _arm_stats(groups, metric, f" in segment {name}")
                results += _compare(stats_of, metric, arms, test, segment=name)
    return results


def _arm_stats(
    groups: Mapping[str, pd.DataFrame], metric: Metric, where: str = ""
) -> Callable[[str], AnyStats]:
    """Each arm's statistics of ``metric``, computed when a test asks for them."""

    def stats_of(arm: str) -> AnyStats:
        if groups[arm].empty:
            raise ExperimentDataError(f"variant {arm!r} has no units{where}.")
        return metric_stats(groups[arm], metric)

    return stats_of


def _summary_table(
    stats: Mapping[str, AnyStats] | Mapping[str, Mapping[str, AnyStats]],
    metrics: list[Metric],
) -> dict[str, tuple[Metric, Mapping[str, AnyStats]]]:
    """``{metric name: (Metric, {variant: stats})}`` from either shape of ``stats``."""
    if not stats:
        raise ExperimentDataError("no summary statistics given: pass {variant: stats}.")
    described = {metric.name: metric for metric in metrics}
    if not any(isinstance(value, Mapping) for value in stats.values()):
        metric = metrics[0] if metrics else Metric(name="metric")
        return {metric.name: (metric, stats)}  # type: ignore[dict-item]
    unknown = sorted(set(described) - set(stats))
    if unknown:
        raise ExperimentDataError(f"metrics {unknown} have no summary statistics.")
    table: dict[str, tuple[Metric, Mapping[str, AnyStats]]] = {}
    for name, by_arm in stats.items():
        if not isinstance(by_arm, Mapping):
            raise ExperimentDataError(f"stats[{name!r}] must map each variant to its statistics.")
        table[name] = (described.get(name, Metric(name=name)), by_arm)
    return table


def _check_summary_arms(metric: Metric, by_arm: Mapping[str, AnyStats], arms: list[str]) -> None:
    if set(by_arm) != set(arms):
        raise ExperimentDataError(
            f"metric {metric.name!r} has statistics for {sorted(by_arm)}, but the experiment's "
            f"variants are {sorted(arms)}; give every metric the same variants."
        )
    empty = [arm for arm in arms if by_arm[arm].n <= 0]
    if empty:
        raise ExperimentDataError(
            f"metric {metric.name!r} has no units in variants {empty}: empty groups cannot "
            "be compared."
        )
