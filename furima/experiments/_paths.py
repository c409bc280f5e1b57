"""Sequential paths: how each effect and its intervals moved as units arrived.

Units enter in the order of their first exposure. At each step (a calendar day for a
datetime column, one of up to ``MAX_STEPS`` evenly filled steps for a number) the units seen
so far are analysed twice: with the confidence sequence (valid however often one looks)
and with the fixed-horizon interval (valid only once, at a planned end). Drawn together they
show why peeking at the naive interval finds effects that are not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import ExperimentDataError
from furima.experiments._metrics import Metric, metric_stats
from furima.experiments._quantile import QuantileStats, quantile_test
from furima.experiments._results import Difference, Effect

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_STEPS", "SequentialPoint", "check_time", "sequential_paths"]

MAX_STEPS = 30


@dataclass(frozen=True)
class SequentialPoint:
    """One metric's effect on the units exposed up to ``at``.

    ``ci_low``/``ci_high`` are the confidence sequence; ``naive_low``/``naive_high`` the
    fixed-horizon interval, which is not valid when looked at repeatedly.
    """

    metric: str
    variant: str
    at: str
    control_n: int
    treatment_n: int
    estimate: float
    ci_low: float
    ci_high: float
    naive_low: float
    naive_high: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sequential_paths(
    data: pd.DataFrame,
    labels: pd.Series,
    metrics: Sequence[Metric],
    arms: Sequence[str],
    *,
    time: str,
    alpha: float,
    difference: Difference,
    tuning: float,
) -> list[SequentialPoint]:
    """The paths of every metric and treatment arm, step by step (steps too early for a
    test, such as one unit per arm, are left out)."""
    moments = data[time]
    points: list[SequentialPoint] = []
    for cut, label in _steps(moments):
        seen = (moments <= cut).to_numpy()
        groups = {arm: data[seen & (labels == arm).to_numpy()] for arm in arms}
        for metric in metrics:
            for arm in arms[1:]:
                point = _point(groups, metric, arms[0], arm, label, alpha, difference, tuning)
                if point is not None:
                    points.append(point)
    return points


def check_time(moments: pd.Series) -> None:
    """Raise ``ExperimentDataError`` unless ``moments`` are complete datetimes or numbers."""
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    if moments.isna().any():
        raise ExperimentDataError(
            f"time column {moments.name!r} has {int(moments.isna().sum())} missing first-"
            "exposure times; fill or drop those units."
        )
    usable = is_datetime64_any_dtype(moments) or (
        is_numeric_dtype(moments) and not is_bool_dtype(moments)
    )
    if not usable:
        raise ExperimentDataError(
            f"time column {moments.name!r} must hold datetimes or numbers (first exposure), "
            f"got dtype {moments.dtype}; convert it with pd.to_datetime."
        )


def _steps(moments: pd.Series) -> list[tuple[Any, str]]:
    """``(cut, label)`` pairs: units with a time ``<= cut`` have been exposed by the step."""
    import pandas as pd
    from pandas.api.types import is_datetime64_any_dtype

    if is_datetime64_any_dtype(moments):
        days = sorted(moments.dt.floor("D").unique())
        chosen = [days[i] for i in _spread(len(days))]
        one_day = pd.Timedelta(days=1) - pd.Timedelta(1, unit="ns")
        return [(day + one_day, pd.Timestamp(day).date().isoformat()) for day in chosen]
    cuts = np.unique(np.quantile(moments.to_numpy(dtype=float), np.linspace(0, 1, 21)[1:]))
    return [(float(cut), f"{cut:g}") for cut in cuts]


def _spread(count: int) -> list[int]:
    """At most ``MAX_STEPS`` indices from ``0..count-1``, evenly spread, the last included."""
    if count <= MAX_STEPS:
        return list(range(count))
    return sorted({round(float(i)) for i in np.linspace(0, count - 1, MAX_STEPS)})


def _point(
    groups: dict[str, pd.DataFrame],
    metric: Metric,
    control: str,
    arm: str,
    label: str,
    alpha: float,
    difference: Difference,
    tuning: float,
) -> SequentialPoint | None:
    if groups[control].empty or groups[arm].empty:
        return None
    try:
        sequence, naive = _both_intervals(groups, metric, control, arm, alpha, difference, tuning)
    except ExperimentDataError:
        return None
    return SequentialPoint(
        metric=metric.name,
        variant=arm,
        at=label,
        control_n=sequence.control_n,
        treatment_n=sequence.treatment_n,
        estimate=sequence.estimate,
        ci_low=sequence.ci_low,
        ci_high=sequence.ci_high,
        naive_low=naive.ci_low,
        naive_high=naive.ci_high,
    )


def _both_intervals(
    groups: dict[str, pd.DataFrame],
    metric: Metric,
    control: str,
    arm: str,
    alpha: float,
    difference: Difference,
    tuning: float,
) -> tuple[Effect, Effect]:
    """The confidence-sequence effect and the fixed-horizon effect on the same units."""
    from furima.experiments._frequentist import welch_test
    from furima.experiments._sequential import sequential_test

    before = metric_stats(groups[control], metric)
    after = metric_stats(groups[arm], metric)
    if isinstance(before, QuantileStats) and isinstance(after, QuantileStats):
        common: dict[str, Any] = {"difference": difference, "alpha": alpha}
        return (
            quantile_test(before, after, sequential_tuning=tuning, **common),
            quantile_test(before, after, **common),
        )
    assert not isinstance(before, QuantileStats) and not isinstance(after, QuantileStats)
    return (
        sequential_test(before, after, difference=difference, alpha=alpha, tuning=tuning),
        welch_test(before, after, difference=difference, alpha=alpha),
    )
