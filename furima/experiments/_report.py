"""The experiment report: one self-contained HTML file, and the analysis as JSON beside it.

The page reads in the order of trust: the sample-ratio check first (when it fails nothing
below should be believed, and the page says so in red), then the decision, then each
metric's effect with its interval (a table and a forest plot), the effects per segment, the
sequential paths over time (the confidence sequence beside the naive interval) and, when a
``PowerSummary`` is given, the power curve of the plan. Charts are Plotly figures with
plotly.js inlined once, so the file opens offline; every piece of user text is escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from furima._artifacts import write_file_atomically
from furima._charts import REPORT_CSS
from furima.experiments._outcome import describe_effect

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from furima.experiments._outcome import ExperimentAnalysis, MetricResult
    from furima.experiments._paths import SequentialPoint
    from furima.experiments._power import PowerSummary

__all__ = ["render_report", "write_report"]

_MAX_PATH_CHARTS = 12

_CSS = (
    REPORT_CSS
    + """
.box{padding:.6rem .9rem;border-radius:6px;margin:.5rem 0}
.ok{background:#e8f5e9;border:1px solid #a5d6a7}
.fail{background:#ffebee;border:1px solid #ef9a9a;color:#b71c1c;font-weight:600}
.decision{background:#e3f2fd;border:1px solid #90caf9;font-size:1.05rem}
.better{color:#1b5e20;font-weight:600}.worse{color:#b71c1c;font-weight:600}
.unsupported{color:#666;font-style:italic}
"""
)


def write_report(
    analysis: ExperimentAnalysis,
    path: Path | str,
    *,
    power: PowerSummary | None = None,
    title: str = "Experiment report",
) -> Path:
    """Write the HTML report to ``path`` and the analysis as JSON beside it (``.json``).

    Both files are written atomically: a reader never sees half a file. Returns ``path``.
    """
    path = Path(path)
    payload = analysis.to_dict()
    if power is not None:
        payload["power"] = power.to_dict()
    data = json.dumps(payload, indent=2, allow_nan=False).encode("utf-8")
    page = render_report(analysis, power=power, title=title).encode("utf-8")
    write_file_atomically(path.with_suffix(".json"), lambda out: out.write(data))
    return write_file_atomically(path, lambda out: out.write(page))


def render_report(
    analysis: ExperimentAnalysis,
    *,
    power: PowerSummary | None = None,
    title: str = "Experiment report",
) -> str:
    """The report's HTML, one self-contained page."""
    from furima._charts import plotly_script

    sections = [
        f"<h1>{_e(title)}</h1>",
        _facts(analysis),
        _srm_section(analysis),
        f'<h2>Decision</h2><div class="box decision">{_e(analysis.decision)}</div>',
        _effects_section(analysis),
        _segments_section(analysis),
        _paths_section(analysis),
        _power_section(power) if power is not None else "",
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style>{plotly_script()}</head>\n<body>\n"
        + "\n".join(section for section in sections if section)
        + "\n</body></html>\n"
    )


def _facts(analysis: ExperimentAnalysis) -> str:
    units = ", ".join(
        f"{_e(variant)}: {count:,}"
        for variant, count in zip(analysis.variants, analysis.srm.observed, strict=True)
    )
    facts = {
        "Control": _e(analysis.control),
        "Units": units,
        "Test": _e(analysis.method),
        "Difference": _e(analysis.difference),
        "Interval level": f"{1 - analysis.alpha:.0%}",
        "Correction": _e(analysis.correction),
    }
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts.items())
    return f'<dl class="facts">{rows}</dl>'


def _srm_section(analysis: ExperimentAnalysis) -> str:
    srm = analysis.srm
    status = "passed" if srm.ok else "FAILED: do not trust the results below"
    rows = "".join(
        f'<tr><td>{_e(variant)}</td><td class="num">{observed:,}</td>'
        f'<td class="num">{expected:,.1f}</td></tr>'
        for variant, observed, expected in zip(
            analysis.variants, srm.observed, srm.expected, strict=True
        )
    )
    return (
        f'<h2>Sample-ratio check</h2><div class="box {"ok" if srm.ok else "fail"}">'
        f"Sample-ratio check {status}: {_e(srm.message)} (chi-square {srm.chi2:.3g})</div>"
        "<table><tr><th>Variant</th><th class=num>Units</th><th class=num>Expected</th></tr>"
        f"{rows}</table>"
    )


def _effects_section(analysis: ExperimentAnalysis) -> str:
    table = _results_table(analysis.overall, analysis)
    chart = _forest_chart(analysis)
    return f"<h2>Effects (each variant against {_e(analysis.control)})</h2>{table}{chart}"


def _segments_section(analysis: ExperimentAnalysis) -> str:
    segmented = [result for result in analysis.results if result.segment is not None]
    if not segmented:
        return ""
    return (
        "<h2>Effects per segment</h2><p class=note>Descriptive: segments are not corrected "
        "for multiple testing and do not enter the decision.</p>"
        + _results_table(segmented, analysis)
    )


def _results_table(results: list[MetricResult], analysis: ExperimentAnalysis) -> str:
    bayesian = analysis.method == "bayesian"
    evidence = "Chance to win" if bayesian else "p-value (adjusted)"
    head = (
        "<tr><th>Metric</th><th>Variant</th><th>Segment</th><th>Effect and interval</th>"
        f"<th class=num>{evidence}</th><th>Test</th><th>Verdict</th></tr>"
    )
    return f"<table>{head}{''.join(_result_row(result) for result in results)}</table>"


def _result_row(result: MetricResult) -> str:
    role = " <span class=note>(guardrail)</span>" if result.guardrail else ""
    cells = [f"{_e(result.metric)}{role}", _e(result.variant), _e(result.segment or "all")]
    effect = result.effect
    if effect is None:
        why = f'<span class="unsupported">{_e(result.unsupported)}</span>'
        cells += [why, "", "", '<span class="unsupported">unsupported</span>']
    else:
        cells += [_e(describe_effect(effect)), _evidence(result), _e(effect.method)]
        cells.append(f'<span class="{result.verdict}">{_e(result.verdict)}</span>')
    classes = ["", "", "", "", ' class="num"', "", ""]
    return (
        "<tr>"
        + "".join(f"<td{cls}>{cell}</td>" for cls, cell in zip(classes, cells, strict=True))
        + "</tr>"
    )


def _evidence(result: MetricResult) -> str:
    effect = result.effect
    assert effect is not None
    if effect.chance_to_win is not None:
        return f"{effect.chance_to_win:.1%}"
    if effect.p_value is None:
        return ""
    adjusted = result.adjusted_p_value
    return f"{effect.p_value:.3g}" + (f" ({adjusted:.3g})" if adjusted is not None else "")


def _forest_chart(analysis: ExperimentAnalysis) -> str:
    """One row per metric: each variant's (and segment's) estimate with its interval."""
    from plotly.subplots import make_subplots

    from furima._charts import figure_html, style

    measured = [result for result in analysis.results if result.effect is not None]
    metrics = list(dict.fromkeys(result.metric for result in measured))
    if not metrics:
        return '<p class="note">No metric could be analysed, so there is nothing to plot.</p>'
    fig = make_subplots(rows=len(metrics), cols=1, subplot_titles=[_e(m) for m in metrics])
    scale = 100.0 if analysis.difference == "relative" else 1.0
    for row, metric in enumerate(metrics, start=1):
        points = [result for result in measured if result.metric == metric]
        fig.add_trace(_forest_trace(points, scale), row=row, col=1)
        fig.add_vline(x=0, line={"color": "#999", "dash": "dot"}, row=row, col=1)
    unit = "lift, %" if scale == 100.0 else "difference, in the metric's units"
    style(fig, title=f"Effect against {_e(analysis.control)} ({unit})")
    fig.update_layout(showlegend=False)
    height = 140 + 110 * len(metrics)
    return f'<div class="chart">{figure_html(fig, height=height)}</div>'


def _forest_trace(points: list[MetricResult], scale: float) -> go.Scatter:
    import plotly.graph_objects as go

    labels, estimates, above, below = [], [], [], []
    for result in points:
        effect = result.effect
        assert effect is not None
        labels.append(_e(f"{result.variant} · {result.segment or 'all units'}"))
        estimates.append(effect.estimate * scale)
        above.append((effect.ci_high - effect.estimate) * scale)
        below.append((effect.estimate - effect.ci_low) * scale)
    return go.Scatter(
        x=estimates,
        y=labels,
        mode="markers",
        marker={"size": 9},
        error_x={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
    )


def _paths_section(analysis: ExperimentAnalysis) -> str:
    if not analysis.sequential_paths:
        return ""
    from furima._charts import figure_html

    pairs = list(dict.fromkeys((p.metric, p.variant) for p in analysis.sequential_paths))
    charts = [
        figure_html(_path_figure(analysis, metric, variant), height=320)
        for metric, variant in pairs[:_MAX_PATH_CHARTS]
    ]
    more = len(pairs) - _MAX_PATH_CHARTS
    note = f'<p class="note">{more} more paths are in the JSON.</p>' if more > 0 else ""
    return (
        "<h2>Sequential paths</h2><p class=note>The effect on the units exposed so far. The "
        "confidence sequence (shaded) stays valid however often one looks; the naive interval "
        "(dashed) is valid only once, at a planned end, and peeking at it finds effects that "
        "are not there.</p>"
        + "".join(f'<div class="chart">{chart}</div>' for chart in charts)
        + note
    )


def _path_figure(analysis: ExperimentAnalysis, metric: str, variant: str) -> go.Figure:
    import plotly.graph_objects as go

    from furima._charts import style

    points = [p for p in analysis.sequential_paths if (p.metric, p.variant) == (metric, variant)]
    scale = 100.0 if analysis.difference == "relative" else 1.0
    steps = [p.at for p in points]
    fig = go.Figure()
    fig.add_trace(_line(steps, points, "ci_high", scale, "confidence sequence", fill=False))
    fig.add_trace(_line(steps, points, "ci_low", scale, "confidence sequence", fill=True))
    fig.add_trace(_line(steps, points, "naive_high", scale, "naive interval", dash=True))
    fig.add_trace(_line(steps, points, "naive_low", scale, "naive interval", dash=True))
    fig.add_trace(_line(steps, points, "estimate", scale, "estimate"))
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot"})
    unit = " (%)" if scale == 100.0 else ""
    style(fig, title=_e(f"{metric}: {variant} against {analysis.control}{unit}"))
    fig.update_xaxes(type="category", title="exposed by")
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top"})
    return fig


def _line(
    steps: list[str],
    points: list[SequentialPoint],
    field: str,
    scale: float,
    name: str,
    *,
    fill: bool = False,
    dash: bool = False,
) -> go.Scatter:
    import plotly.graph_objects as go

    from furima._charts import PALETTE

    first_of_pair = field in ("ci_high", "naive_high", "estimate")
    color = {"confidence sequence": PALETTE[0], "naive interval": "#888"}.get(name, PALETTE[4])
    return go.Scatter(
        x=steps,
        y=[getattr(point, field) * scale for point in points],
        name=name,
        legendgroup=name,
        showlegend=first_of_pair,
        mode="lines+markers" if field == "estimate" else "lines",
        line={
            "dash": "dash" if dash else "solid",
            "width": 1 if field != "estimate" else 2,
            "color": color,
        },
        fill="tonexty" if fill else None,
        fillcolor="rgba(76,120,168,0.18)" if fill else None,
    )


def _power_section(power: PowerSummary) -> str:
    from furima._charts import figure_html

    return (
        f"<h2>Power</h2><p>{_e(power.text)}</p>"
        f'<div class="chart">{figure_html(_power_figure(power), height=340)}</div>'
    )


def _power_figure(power: PowerSummary) -> go.Figure:
    """Power against total units at the plan's effect, the plan marked."""
    import numpy as np
    import plotly.graph_objects as go

    from furima._charts import style
    from furima.experiments._power import power as power_at

    sizes = sorted({max(4, int(n)) for n in np.linspace(power.n_total / 10, power.n_total * 3, 60)})
    plan: dict[str, Any] = {
        "mean": power.mean,
        "std": power.std,
        "mde": power.mde,
        "relative": power.relative,
        "alpha": power.alpha,
        "treatment_share": power.treatment_share,
        "alternative": power.alternative,
        "test": power.test,
    }
    curve = [power_at(n_total=n, **plan) for n in sizes]
    fig = go.Figure(go.Scatter(x=sizes, y=curve, mode="lines", name="power"))
    fig.add_trace(
        go.Scatter(
            x=[power.n_total], y=[power.power], mode="markers", name="plan", marker={"size": 10}
        )
    )
    effect = f"{power.mde:+.2%}" if power.relative else f"{power.mde:+.4g}"
    style(fig, title=f"Power to find {effect} against total units")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_xaxes(title="total units")
    return fig


def _e(value: object) -> str:
    return html.escape(str(value))
