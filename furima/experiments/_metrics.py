"""What an analysis measures (``Metric``), the checks of per-unit data, and its summaries.

``analyze`` takes one row per unit. Everything that can be wrong with such a frame (a
missing column, text where numbers belong, gaps in a pre-period column, a unit in two
variants) is checked here, all of it before any test runs, so an analysis either starts on
clean data or stops with a message that says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

import numpy as np

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._quantile import QuantileStats
from furima.experiments._statistics import (
    AdjustedRatioStats,
    AdjustedStats,
    MeanStats,
    ProportionStats,
    RatioStats,
    Stats,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AnyStats",
    "Metric",
    "arm_order",
    "as_metrics",
    "check_options",
    "check_segments",
    "check_units",
    "design_weights",
    "metric_stats",
]

AnyStats: TypeAlias = Stats | QuantileStats
MetricKind = Literal["mean", "proportion", "ratio", "quantile"]

MAX_SEGMENT_VALUES = 50


@dataclass(frozen=True)
class Metric:
    """One metric of an experiment and how to read it from per-unit data.

    Attributes:
        name: The name results carry.
        column: The per-unit column (the numerator for a ratio); defaults to ``name``.
        kind: ``"mean"`` (revenue per user), ``"proportion"`` (0/1: converted),
            ``"ratio"`` (``sum(column) / sum(denominator)``: clicks per impression, by the
            delta method) or ``"quantile"`` (``quantile`` of the column: p90 delivery time).
        denominator: The ratio's denominator column.
        pre_column: A pre-period covariate (the same metric before the experiment, or a
            CUPAC prediction from ``predicted_covariate``): CUPED variance reduction. For a
            ratio metric, the pre-period numerator (with ``pre_denominator``).
        quantile: The level of a quantile metric (``0.9`` for p90).
        guardrail: A metric that must not get worse; it is not corrected for multiple
            testing (so harm is flagged sooner) and any harm blocks shipping.
        higher_is_better: ``False`` for metrics such as latency or delivery time.
        pre_denominator: A ratio metric's pre-period denominator: CUPED adjusts the ratio
            by the same ratio before the experiment.
    """

    name: str
    column: str | None = None
    kind: MetricKind = "mean"
    denominator: str | None = None
    pre_column: str | None = None
    quantile: float | None = None
    guardrail: bool = False
    higher_is_better: bool = True
    pre_denominator: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("mean", "proportion", "ratio", "quantile"):
            raise ExperimentConfigError(
                f"metric {self.name!r}: kind must be 'mean', 'proportion', 'ratio' or "
                f"'quantile', got {self.kind!r}."
            )
        if (self.kind == "ratio") != (self.denominator is not None):
            raise ExperimentConfigError(
                f"metric {self.name!r}: a ratio metric needs a denominator column, and only "
                "a ratio metric takes one (kind='ratio', denominator='visits')."
            )
        if self.kind == "quantile" and not (self.quantile and 0.0 < self.quantile < 1.0):
            raise ExperimentConfigError(
                f"metric {self.name!r}: a quantile metric needs quantile between 0 and 1 "
                f"(0.9 for p90), got {self.quantile!r}."
            )
        if self.pre_column is not None and self.kind == "quantile":
            raise ExperimentConfigError(
                f"metric {self.name!r}: a pre-period covariate (CUPED) works for mean, "
                "proportion and ratio metrics, not quantile metrics; drop pre_column."
            )
        ratio_cuped = self.kind == "ratio" and self.pre_column is not None
        if ratio_cuped != (self.pre_denominator is not None):
            raise ExperimentConfigError(
                f"metric {self.name!r}: CUPED on a ratio metric needs both the pre-period "
                "numerator (pre_column) and denominator (pre_denominator); only a ratio "
                "metric with a pre_column takes a pre_denominator."
            )

    @property
    def value_column(self) -> str:
        return self.column or self.name

    @property
    def columns(self) -> list[str]:
        """Every column the metric reads."""
        optional = (self.denominator, self.pre_column, self.pre_denominator)
        return [self.value_column, *(column for column in optional if column is not None)]


def as_metrics(metrics: Sequence[Metric | str]) -> list[Metric]:
    """Metrics from names or ``Metric``s; names must be unique."""
    if isinstance(metrics, str | Metric):
        metrics = [metrics]
    result = [item if isinstance(item, Metric) else Metric(name=item) for item in metrics]
    if not result:
        raise ExperimentConfigError("name at least one metric to analyse.")
    names = [metric.name for metric in result]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ExperimentConfigError(f"metric names must be unique; named twice: {twice}.")
    return result


def check_units(
    data: pd.DataFrame,
    metrics: Sequence[Metric],
    *,
    variant: str,
    unit: str | None,
    extra_columns: Sequence[str],
) -> None:
    """Raise ``ExperimentDataError`` for anything in ``data`` an analysis cannot use."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise ExperimentDataError(
            f"analyze takes a pandas DataFrame with one row per unit, got {type(data).__name__}."
        )
    if data.empty:
        raise ExperimentDataError("the data has no rows: there is nothing to analyse.")
    _require_columns(data, [variant], what="variant column", hint="pass variant='...'")
    _require_columns(data, list(extra_columns), what="column", hint="check the column names")
    missing_variant = int(data[variant].isna().sum())
    if missing_variant:
        raise ExperimentDataError(
            f"{missing_variant} rows have no variant in column {variant!r}; drop them or "
            "label them before the analysis."
        )
    for metric in metrics:
        _check_metric(data, metric)
    if unit is not None:
        _check_unit_column(data, unit, variant)


def _require_columns(data: pd.DataFrame, columns: list[str], *, what: str, hint: str) -> None:
    missing = [column for column in columns if column not in data.columns]
    if missing:
        raise ExperimentDataError(
            f"no {what} {missing[0]!r} in the data; it has {list(map(str, data.columns))}; {hint}."
        )


def _check_metric(data: pd.DataFrame, metric: Metric) -> None:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    _require_columns(
        data, metric.columns, what=f"column for metric {metric.name!r}", hint="check Metric"
    )
    for column in metric.columns:
        series = data[column]
        if not (is_numeric_dtype(series) or is_bool_dtype(series)):
            raise ExperimentDataError(
                f"column {column!r} of metric {metric.name!r} is not numeric "
                f"(dtype {series.dtype}); convert it, e.g. data[{column!r}].astype(float)."
            )
        missing = int(series.isna().sum())
        if missing:
            raise ExperimentDataError(_missing_message(metric, column, missing, len(series)))
        if not np.all(np.isfinite(series.to_numpy(dtype=float))):
            raise ExperimentDataError(
                f"column {column!r} of metric {metric.name!r} holds infinite values; "
                "replace or drop them."
            )
    if metric.kind == "proportion":
        values = data[metric.value_column].to_numpy(dtype=float)
        if not np.all((values == 0) | (values == 1)):
            raise ExperimentDataError(
                f"metric {metric.name!r} is a proportion, so column {metric.value_column!r} "
                "must hold only 0 and 1; use kind='mean' for counts or amounts."
            )


def _missing_message(metric: Metric, column: str, missing: int, rows: int) -> str:
    if column in (metric.pre_column, metric.pre_denominator):
        return (
            f"pre-period column {column!r} of metric {metric.name!r} has {missing} missing "
            f"values out of {rows}; fill them with 0 when those units had no pre-period "
            f"activity (data[{column!r}].fillna(0)), or drop those units."
        )
    return (
        f"column {column!r} of metric {metric.name!r} has {missing} missing values out of "
        f"{rows}; fill them (0 for a unit with no events) or drop those units."
    )


def _check_unit_column(data: pd.DataFrame, unit: str, variant: str) -> None:
    _require_columns(data, [unit], what="unit column", hint="pass unit='...'")
    if data[unit].isna().any():
        raise ExperimentDataError(
            f"{int(data[unit].isna().sum())} rows have no unit id in column {unit!r}; drop them."
        )
    variants_per_unit = data.groupby(unit, sort=True)[variant].nunique()
    crossed = variants_per_unit[variants_per_unit > 1]
    if len(crossed):
        named = ", ".join(repr(item) for item in crossed.index[:5].tolist())
        raise ExperimentDataError(
            f"{len(crossed)} unit{'s appear' if len(crossed) > 1 else ' appears'} in more than "
            f"one variant (e.g. {named}); an "
            "assignment must keep each unit in one variant: drop those units and check the "
            "assignment."
        )
    repeated = data[unit].duplicated(keep=False)
    if repeated.any():
        named = ", ".join(repr(item) for item in data.loc[repeated, unit].unique()[:5].tolist())
        raise ExperimentDataError(
            f"{int(data.loc[repeated, unit].nunique())} units have more than one row (e.g. "
            f"{named}); analyze takes one row per unit: aggregate first, e.g. "
            f"data.groupby([{unit!r}, {variant!r}], as_index=False).sum()."
        )


def metric_stats(rows: pd.DataFrame, metric: Metric) -> AnyStats:
    """The summary statistics of ``metric`` over ``rows`` (one arm, validated data)."""
    values = rows[metric.value_column].to_numpy(dtype=float)
    if metric.kind == "ratio":
        assert metric.denominator is not None
        denominator = rows[metric.denominator].to_numpy(dtype=float)
        if metric.pre_column is not None and metric.pre_denominator is not None:
            before = rows[[metric.pre_column, metric.pre_denominator]].to_numpy(dtype=float)
            return AdjustedRatioStats.from_values(values, denominator, before[:, 0], before[:, 1])
        return RatioStats.from_values(values, denominator)
    if metric.kind == "quantile":
        assert metric.quantile is not None
        return QuantileStats.from_values(values, metric.quantile)
    if metric.pre_column is not None:
        pre = rows[metric.pre_column].to_numpy(dtype=float)
        return AdjustedStats.from_values(values, pre)
    if metric.kind == "proportion":
        return ProportionStats.from_values(values)
    return MeanStats.from_values(values)


def check_options(
    method: str, difference: str, alpha: float, correction: str, tuning: float
) -> None:
    choices = {
        "method": (method, ("welch", "sequential", "bayesian")),
        "difference": (difference, ("absolute", "relative")),
        "correction": (correction, ("holm", "bh", "none")),
    }
    for name, (value, allowed) in choices.items():
        if value not in allowed:
            raise ExperimentConfigError(f"{name} must be one of {list(allowed)}, got {value!r}.")
    if not 0.0 < alpha < 1.0:
        raise ExperimentConfigError(f"alpha must be between 0 and 1 (0.05), got {alpha}.")
    if not tuning > 0:
        raise ExperimentConfigError(f"sequential_tuning must be positive, got {tuning}.")


def arm_order(variants: list[str], control: str | None) -> list[str]:
    """Control first, then the other variants sorted."""
    if len(variants) < 2:
        raise ExperimentDataError(
            f"an experiment needs at least two variants, found {variants}; check the variant "
            "column (is the data filtered to one arm?)."
        )
    chosen = str(control) if control is not None else None
    if chosen is None:
        chosen = "control" if "control" in variants else variants[0]
    if chosen not in variants:
        raise ExperimentDataError(
            f"control {chosen!r} is not one of the variants {sorted(variants)}; pass "
            "control= one of them."
        )
    return [chosen, *sorted(variant for variant in variants if variant != chosen)]


def design_weights(
    weights: Sequence[float] | Mapping[str, float] | None, arms: list[str]
) -> list[float] | None:
    if weights is None:
        return None
    if isinstance(weights, Mapping):
        unknown = sorted(set(map(str, weights)) - set(arms))
        missing = [arm for arm in arms if arm not in weights]
        if unknown or missing:
            raise ExperimentDataError(
                f"weights must name each variant once: missing {missing}, unknown {unknown}."
            )
        return [float(weights[arm]) for arm in arms]
    if len(weights) != len(arms):
        raise ExperimentDataError(
            f"{len(arms)} variants {arms} but {len(weights)} weights; give one weight per "
            "variant (control first, then the others sorted) or a mapping variant -> weight."
        )
    return [float(weight) for weight in weights]


def check_segments(data: pd.DataFrame, segments: Sequence[str]) -> None:
    for column in segments:
        count = int(data[column].nunique(dropna=False))
        if count > MAX_SEGMENT_VALUES:
            raise ExperimentConfigError(
                f"segment column {column!r} has {count} values; segments are for a few groups "
                f"(at most {MAX_SEGMENT_VALUES}: country, platform), not ids."
            )
