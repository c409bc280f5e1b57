"""The Plotly figures of the credit and fraud reports, in furima's house look.

Each function takes numbers already computed (the reports compute and test them) and returns
a styled figure; nothing here reads a model. Long curves are thinned to at most
:data:`MAX_POINTS` points so a report on a million transactions stays a small file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "MAX_POINTS",
    "bar_figure",
    "bins_figure",
    "calibration_figure",
    "cost_figure",
    "daily_precision_figure",
    "histogram_figure",
    "ks_figure",
    "pr_figure",
    "psi_figure",
    "roc_figure",
    "thin",
]

MAX_POINTS = 1500
"""Most points drawn per curve."""
GREY = "#999"
LABEL_CHARS = 28
"""Longest bin label drawn on an axis (the hover shows it whole)."""


def thin(*columns: np.ndarray) -> list[np.ndarray]:
    """Every column cut to at most :data:`MAX_POINTS` evenly spaced rows, ends kept."""
    size = len(columns[0])
    if size <= MAX_POINTS:
        return list(columns)
    keep = np.unique(np.linspace(0, size - 1, MAX_POINTS).round().astype(int))
    return [column[keep] for column in columns]


def histogram_figure(
    groups: Mapping[str, np.ndarray], *, title: str, x_title: str, log_y: bool = False
) -> go.Figure:
    """Overlaid histograms on shared bins: shares of each group, or counts on a log axis."""
    import plotly.graph_objects as go

    from furima._charts import style

    everything = np.concatenate(list(groups.values()))
    edges = np.histogram_bin_edges(everything, bins=40)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for name, values in groups.items():
        counts, _ = np.histogram(values, bins=edges)
        heights = counts if log_y else counts / max(len(values), 1)
        fig.add_trace(go.Bar(x=centres, y=heights, name=f"{name} ({len(values):,})", opacity=0.6))
    style(fig, title=title)
    fig.update_layout(barmode="overlay", bargap=0.02)
    fig.update_xaxes(title=x_title)
    if log_y:
        fig.update_yaxes(type="log", dtick=1, title="transactions (log scale)")
    else:
        fig.update_yaxes(title="share of the group", tickformat=".0%")
    return fig


def calibration_figure(
    predicted: np.ndarray, observed: np.ndarray, counts: np.ndarray
) -> go.Figure:
    """Mean predicted probability against the observed rate per bin, the diagonal for
    reference; the hover gives each bin's size."""
    import plotly.graph_objects as go

    from furima._charts import PALETTE, style

    top = float(max(predicted.max(), observed.max(), 0.05)) * 1.05
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect", line={"color": GREY})
    )
    fig.add_trace(
        go.Scatter(
            x=predicted,
            y=observed,
            mode="lines+markers",
            name="bins",
            line={"color": PALETTE[0]},
            customdata=counts,
            hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}<br>%{customdata} rows",
        )
    )
    style(fig, title="Observed bad rate against predicted PD")
    fig.update_xaxes(title="mean predicted probability of default", tickformat=".0%")
    fig.update_yaxes(title="observed bad rate", tickformat=".0%")
    return fig


def roc_figure(false_positive: np.ndarray, true_positive: np.ndarray, auc: float) -> go.Figure:
    """The ROC curve with the chance diagonal."""
    import plotly.graph_objects as go

    from furima._charts import PALETTE, style

    fpr, tpr = thin(false_positive, true_positive)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"color": GREY}))
    model = f"model (AUC {auc:.3f})"
    fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=model, line={"color": PALETTE[0]}))
    style(fig, title="ROC curve")
    fig.update_xaxes(title="false positive rate (goods flagged)", range=[0, 1])
    fig.update_yaxes(title="true positive rate (bads flagged)", range=[0, 1])
    return fig


def ks_figure(
    scores: np.ndarray, bads: np.ndarray, goods: np.ndarray, at: float, gap: float
) -> go.Figure:
    """Cumulative shares of bads and goods at or below each score, the widest gap marked."""
    import plotly.graph_objects as go

    from furima._charts import style

    x, bad, good = thin(scores, bads, goods)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=bad, mode="lines", name="bads"))
    fig.add_trace(go.Scatter(x=x, y=good, mode="lines", name="goods"))
    fig.add_vline(x=at, line={"color": GREY, "dash": "dot"})
    fig.add_annotation(x=at, y=1.0, text=f"KS {gap:.3f} at {at:.4g}", showarrow=False)
    style(fig, title="Cumulative shares by score")
    fig.update_xaxes(title="score")
    fig.update_yaxes(title="share at or below the score", tickformat=".0%", range=[0, 1.05])
    return fig


def bar_figure(
    labels: Sequence[str],
    values: np.ndarray,
    *,
    title: str,
    x_title: str,
    series: Mapping[str, np.ndarray] | None = None,
) -> go.Figure:
    """Horizontal bars in the order given, long labels cut (whole in the hover); ``series``
    gives grouped bars instead."""
    import plotly.graph_objects as go

    from furima._charts import style

    bars = dict(series) if series is not None else {"": values}
    short = [_cut(label, LABEL_CHARS) for label in labels]
    axis = short if len(set(short)) == len(short) else list(labels)
    fig = go.Figure()
    for name, heights in bars.items():
        fig.add_trace(
            go.Bar(
                x=heights,
                y=axis,
                orientation="h",
                name=name,
                hovertext=list(labels),
                hovertemplate="%{hovertext}: %{x:.3g}<extra></extra>",
            )
        )
    style(fig, title=title)
    fig.update_layout(showlegend=series is not None, barmode="group")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title=x_title)
    return fig


def psi_figure(columns: Sequence[str], psi: np.ndarray) -> go.Figure:
    """PSI per column with the watch (0.1) and shifted (0.25) lines."""
    from furima.risk._stability import PSI_SHIFTED, PSI_WATCH

    fig = bar_figure(columns, psi, title="Population stability index", x_title="PSI")
    fig.add_vline(x=PSI_WATCH, line={"color": "#f58518", "dash": "dot"})
    fig.add_vline(x=PSI_SHIFTED, line={"color": "#e45756", "dash": "dot"})
    return fig


def bins_figure(
    labels: Sequence[str], event_rate: np.ndarray, counts: np.ndarray, woe: np.ndarray, title: str
) -> go.Figure:
    """Bad rate per bin (horizontal bars, long labels cut), with each bin's words, size and
    weight of evidence in the hover."""
    import plotly.graph_objects as go

    from furima._charts import style

    short = [_cut(label, LABEL_CHARS) for label in labels]
    fig = go.Figure(
        go.Bar(
            x=event_rate,
            y=[f"{i + 1}. {label}" for i, label in enumerate(short)],
            orientation="h",
            hovertext=[
                f"{label}<br>{count:,} rows<br>WoE {value:.3f}"
                for label, count, value in zip(labels, counts, woe, strict=True)
            ],
            hovertemplate="%{hovertext}<br>bad rate %{x:.1%}<extra></extra>",
        )
    )
    style(fig, title=title)
    fig.update_xaxes(title="bad rate", tickformat=".0%")
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    return fig


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def pr_figure(
    recall: np.ndarray, precision: np.ndarray, auprc: float, budget: tuple[float, float]
) -> go.Figure:
    """The precision-recall curve, the alert budget's (recall, precision) marked."""
    import plotly.graph_objects as go

    from furima._charts import style

    r, p = thin(recall, precision)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=r, y=p, mode="lines", name=f"model (AUPRC {auprc:.3f})"))
    fig.add_trace(
        go.Scatter(
            x=[budget[0]], y=[budget[1]], mode="markers", name="alert budget", marker={"size": 10}
        )
    )
    style(fig, title="Precision and recall")
    fig.update_xaxes(title="recall (share of frauds flagged)", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="precision", range=[0, 1.05], tickformat=".0%")
    return fig


def daily_precision_figure(
    days: Sequence[str], precision: np.ndarray, alerts: np.ndarray
) -> go.Figure:
    """Precision of each day's alerts (bars), the number of alerts in the hover."""
    import plotly.graph_objects as go

    from furima._charts import style

    fig = go.Figure(
        go.Bar(
            x=list(days),
            y=precision,
            customdata=alerts,
            hovertemplate="%{x}<br>precision %{y:.1%}<br>%{customdata} alerts<extra></extra>",
        )
    )
    style(fig, title="Precision of each day's alerts")
    fig.update_yaxes(title="precision", range=[0, 1.05], tickformat=".0%")
    fig.update_xaxes(type="category", title="day")
    return fig


def cost_figure(thresholds: np.ndarray, savings: np.ndarray, best: float) -> go.Figure:
    """Money saved (fraud caught minus review cost) by score threshold, the best marked."""
    import plotly.graph_objects as go

    from furima._charts import style

    x, y = thin(thresholds, savings)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="saving"))
    fig.add_hline(y=0, line={"color": GREY})
    if np.isfinite(best):
        fig.add_vline(x=best, line={"color": "#e45756", "dash": "dot"})
    style(fig, title="Amount caught minus review cost")
    fig.update_xaxes(title="threshold: review scores at or above (log scale)", type="log")
    fig.update_yaxes(title="saving")
    return fig
