"""Charts for furima's HTML reports and pages: Plotly figures, one house look, offline files.

Every chart furima draws is a Plotly figure. A page loads plotly.js once (inline with
:func:`plotly_script` in a report file, so it opens offline and fetches nothing; from
``/static/plotly.min.js`` on the server, which serves :data:`PLOTLY_JS`) and then holds one
:func:`figure_html` div per chart. :func:`style` gives every figure the same fonts, margins and
colours, so the reports of different subpackages look like one product.

plotly is imported inside the functions: ``import furima`` stays fast.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "FONT",
    "PALETTE",
    "PLOTLY_JS",
    "REPORT_CSS",
    "figure_html",
    "plotly_script",
    "style",
]

REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1000px;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin:0 0 .5rem}
h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}
dt{color:#666}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.chart{margin:.5rem 0}.note{color:#666;font-style:italic}
"""
"""The look of furima's offline HTML reports (AutoML, experiments); each adds its own rules."""


def _plotly_js_path() -> Path:
    """Where the installed plotly package keeps its minified plotly.js (found, not imported)."""
    spec = importlib.util.find_spec("plotly")
    package = Path(spec.origin).parent if spec and spec.origin else Path("plotly")
    return package / "package_data" / "plotly.min.js"


PLOTLY_JS: Path = _plotly_js_path()
"""plotly.min.js of the installed plotly package: inlined in report files, served by the app."""

PALETTE = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#b279a2",
    "#e45756",
    "#72b7b2",
    "#9d755d",
    "#bab0ac",
)
"""Trace colours, in order (the AutoML report's model families take the first three)."""

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
"""The font stack of furima's report pages, used by the charts too."""

_CONFIG = {"displaylogo": False, "responsive": True}


@functools.cache
def _plotly_js_text() -> str:
    if not PLOTLY_JS.is_file():
        raise FileNotFoundError(
            f"plotly.js was not found at {PLOTLY_JS}. Install furima's dependencies "
            "(`pip install furima`), which include plotly."
        )
    # A literal "</script" inside the code would end the inline tag early; escape it.
    return PLOTLY_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")


def plotly_script() -> str:
    """One inline ``<script>`` holding plotly.js, to put once in a self-contained HTML file.

    The file then draws its charts offline: nothing is fetched from a CDN or anywhere else.
    """
    return (
        f"<script>window.PlotlyConfig = {{MathJaxConfig: 'local'}};\n{_plotly_js_text()}</script>"
    )


def figure_html(fig: go.Figure, *, height: int | None = None, div_id: str | None = None) -> str:
    """The HTML of one chart: a ``<div>`` and the inline call that draws it, no plotly.js.

    The page must load plotly.js once before it (:func:`plotly_script`, or a ``<script
    src="/static/plotly.min.js">`` on the server). The div id defaults to a hash of the
    figure, so the same figure gives the same HTML (reports stay byte-for-byte reproducible);
    pass ``div_id`` when one page shows the same figure twice.

    Args:
        fig: The figure.
        height: The chart's height in pixels (``fig`` is left unchanged); by default the
            figure's own layout height, else the height of its container.
        div_id: The id of the div.
    """
    import plotly.io as pio

    spec = fig.to_dict()
    if height is not None:
        spec.setdefault("layout", {})["height"] = height
    # ``spec`` came from a figure, so it is valid already: skip plotly's re-validation.
    text = pio.to_json(spec, validate=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    html: str = pio.to_html(
        spec,
        full_html=False,
        include_plotlyjs=False,
        config=_CONFIG,
        div_id=div_id or f"chart-{digest}",
        validate=False,
    )
    return html


def style(fig: go.Figure, *, title: str | None = None) -> go.Figure:
    """Give ``fig`` furima's house look, in place, and return it.

    A white template, the report pages' system font, the :data:`PALETTE` colours, the title
    at the top left and a horizontal legend between it and the plot; ``title`` replaces the
    figure's title when given.
    """
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT, "size": 12, "color": "#222"},
        colorway=list(PALETTE),
        margin={"l": 64, "r": 16, "t": 80, "b": 48},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    # The title at the very top, the legend between it and the plot: they never overlap.
    place = {"x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "yref": "container"}
    text = {} if title is None else {"text": title}
    fig.update_layout(title={**place, **text, "font": {"size": 14}})
    return fig
