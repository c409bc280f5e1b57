"""The charts of the AutoML report: Optuna's own plots in furima's house look.

``optuna.visualization`` draws the optimisation history, the parameter importances and the
score/latency Pareto front as Plotly figures; :mod:`furima._charts` styles each one and turns
it into a div (the report inlines plotly.js once). Points are coloured by model family where
that helps the reader see which family wins. A chart that cannot be drawn (no completed trial,
too few to compare, a single parameter, an estimate that fails) becomes a sentence that says
why, so the report never fails because of a chart.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from furima._charts import PALETTE, figure_html, style

if TYPE_CHECKING:
    import optuna
    import plotly.graph_objects as go
    from optuna.trial import FrozenTrial

__all__ = ["CHART_CLASS", "history_html", "importances_html", "note_html", "pareto_html"]

_FAMILY_COLOURS = {"linear": PALETTE[0], "lightgbm": PALETTE[1], "mlp": PALETTE[2]}
_SPARE_COLOURS = PALETTE[3:]
_LATENCY = "predict latency, ms per row"
_BEST = "Best Value"  # optuna's name for its best-so-far line
CHART_CLASS = 'class="chart"'
"""Marks the wrapper of every drawn chart: a page holding one needs plotly.js."""


def note_html(text: str) -> str:
    """A sentence in place of a chart (or a table) that could not be drawn."""
    return f'<p class="note">{html.escape(text)}</p>'


def history_html(study: optuna.Study, metric: str) -> str:
    """Each completed trial's score by trial number, coloured by family, and the best so far."""
    done = [t for t in _completed(study) if math.isfinite(score(t))]
    if not done:
        return note_html("No trial completed, so there is no history to draw.")
    figure = functools.partial(_history_figure, study, done, metric)
    return _drawn("The optimisation history could not be drawn", figure, 360)


def importances_html(study: optuna.Study, metric: str) -> str:
    """How much each parameter explains of the score's variance (fANOVA, seeded), or why not."""
    done = [t for t in _completed(study) if math.isfinite(score(t))]
    reason = _no_importances_reason(done)
    if reason:
        return note_html(reason)
    height = 140 + 30 * len(_varying_params(done))
    figure = functools.partial(_importances_figure, study, metric)
    return _drawn("Parameter importances could not be estimated", figure, height)


def pareto_html(study: optuna.Study, metric: str) -> str:
    """Score against predict latency for every completed trial, Pareto-optimal ones marked."""
    done = [t for t in _completed(study) if math.isfinite(score(t) + _latency(t))]
    if not done:
        return note_html("No trial completed, so there is no front to draw.")
    figure = functools.partial(_pareto_figure, study, done, metric)
    return _drawn("The Pareto front could not be drawn", figure, 420)


def score(trial: FrozenTrial) -> float:
    """Objective 0, the model's score (NaN for a trial without values)."""
    return float(trial.values[0]) if trial.values else math.nan


def family(trial: FrozenTrial) -> str:
    """The model family a trial trained (``"unknown"`` when it did not say)."""
    return str(trial.user_attrs.get("family", "unknown"))


def _drawn(failure: str, figure: Callable[[], go.Figure], height: int) -> str:
    """The chart ``figure()`` draws, or ``failure`` and the error when drawing it fails."""
    try:
        return f"<div {CHART_CLASS}>{figure_html(figure(), height=height)}</div>"
    except Exception as error:  # the report must not fail on one chart
        return note_html(f"{failure} ({type(error).__name__}: {error}).")


def _completed(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.values]


# --- optimisation history -------------------------------------------------------------------


def _history_figure(study: optuna.Study, done: Sequence[FrozenTrial], metric: str) -> go.Figure:
    from optuna.visualization import plot_optimization_history

    multi = len(study.directions) > 1
    target = score if multi else None
    fig = plot_optimization_history(study, target=target, target_name=metric)
    kept = [trace for trace in fig.data if trace.name not in (metric, "Infeasible Trial")]
    fig.data = tuple(kept)  # optuna's one-colour points, replaced by one trace per family
    for trace in _family_traces(done):
        fig.add_trace(trace)
    if multi:  # optuna draws no best-so-far line for a custom target
        fig.add_trace(_best_so_far(done, minimize=study.directions[0].name == "MINIMIZE"))
    fig.update_traces(selector={"name": _BEST}, line={"color": "#222", "width": 1.5})
    style(fig, title=f"{metric} of each completed trial, and the best so far")
    fig.update_layout(xaxis_title="trial number", yaxis_title=metric)
    if max(t.number for t in done) <= 10:
        fig.update_xaxes(dtick=1)  # whole trial numbers, not 0.2 steps
    return fig


def _family_traces(done: Sequence[FrozenTrial]) -> list[go.Scatter]:
    import plotly.graph_objects as go

    families = sorted({family(t) for t in done})
    return [
        go.Scatter(
            x=[t.number for t in done if family(t) == name],
            y=[score(t) for t in done if family(t) == name],
            mode="markers",
            name=name,
            marker={"color": _colour(name), "size": 8, "opacity": 0.85},
            hovertemplate="trial %{x}<br>%{y:.4g}<extra>" + html.escape(name) + "</extra>",
        )
        for name in families
    ]


def _best_so_far(done: Sequence[FrozenTrial], *, minimize: bool) -> go.Scatter:
    import plotly.graph_objects as go

    ordered = sorted(done, key=lambda t: t.number)
    best: list[float] = []
    for trial in ordered:
        value = score(trial)
        if best:
            value = min(best[-1], value) if minimize else max(best[-1], value)
        best.append(value)
    numbers = [t.number for t in ordered]
    return go.Scatter(x=numbers, y=best, mode="lines", name=_BEST)


# --- parameter importances ------------------------------------------------------------------


def _no_importances_reason(done: Sequence[FrozenTrial]) -> str | None:
    if len(done) < 2:
        return (
            "Parameter importances need at least 2 completed trials to compare; this run "
            f"completed {len(done)}."
        )
    varying = _varying_params(done)
    if not varying:
        return (
            "No parameter was sampled, from more than one value, in every completed trial, "
            "so none could be ranked."
        )
    if len(varying) == 1:
        return (
            f"Only one parameter, {varying[0]}, was searched in every completed trial, "
            "so there is nothing to rank it against."
        )
    if len({score(t) for t in done}) == 1:
        return "Every completed trial scored the same, so no parameter explains any difference."
    return None


def _varying_params(done: Sequence[FrozenTrial]) -> list[str]:
    """Parameters every completed trial sampled from a range of more than one value."""
    from optuna.search_space import intersection_search_space

    space = intersection_search_space(list(done))
    return [name for name, distribution in space.items() if not distribution.single()]


def _importances_figure(study: optuna.Study, metric: str) -> go.Figure:
    import optuna.visualization
    from optuna.importance import FanovaImportanceEvaluator

    fig = optuna.visualization.plot_param_importances(
        study,
        evaluator=FanovaImportanceEvaluator(seed=0),  # seeded: the same run, the same report
        target=score if len(study.directions) > 1 else None,
        target_name=metric,
    )
    style(fig, title=f"Share of the variance in {metric} each parameter explains (fANOVA)")
    fig.update_traces(marker_color=PALETTE[0])
    fig.update_layout(showlegend=False, xaxis_title="importance", yaxis_title=None)
    return fig


# --- Pareto front ---------------------------------------------------------------------------


def _pareto_figure(study: optuna.Study, done: Sequence[FrozenTrial], metric: str) -> go.Figure:
    from optuna.visualization import plot_pareto_front

    fig = plot_pareto_front(
        study, target_names=[_LATENCY, metric], targets=lambda t: (_latency(t), score(t))
    )
    latencies = [_latency(t) for t in done]
    log = min(latencies) > 0 and max(latencies) >= 100 * min(latencies)
    style(fig, title=f"{metric} against predict latency; the Pareto-optimal trials in red")
    fig.update_layout(
        xaxis={"type": "log" if log else "linear", "title": _LATENCY + (" (log scale)" * log)},
        yaxis_title=metric,
    )
    return fig


def _latency(trial: FrozenTrial) -> float:
    """Objective 1 of a multi-objective trial: predict latency in ms per row."""
    values = trial.values or []
    return float(values[1]) if len(values) > 1 else math.nan


def _colour(name: str) -> str:
    if name in _FAMILY_COLOURS:
        return _FAMILY_COLOURS[name]
    return _SPARE_COLOURS[sum(name.encode()) % len(_SPARE_COLOURS)]
