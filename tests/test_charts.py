"""furima._charts: plotly.js inlined for offline files, chart divs, the house look."""

from __future__ import annotations

import re
from pathlib import Path

import plotly
import plotly.graph_objects as go

from furima import _charts
from furima._charts import PALETTE, PLOTLY_JS, figure_html, plotly_script, style


def _figure() -> go.Figure:
    return go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, 0.25, 0.125], name="loss"))


def test_plotly_js_is_the_installed_packages_file() -> None:
    assert PLOTLY_JS.name == "plotly.min.js"
    assert PLOTLY_JS.parent == Path(plotly.__file__).parent / "package_data"
    assert PLOTLY_JS.stat().st_size > 1_000_000


def test_script_inlines_plotly_js_and_fetches_nothing() -> None:
    script = plotly_script()
    assert script.startswith("<script>") and script.endswith("</script>")
    assert script.count("<script") == 1 and script.count("</script") == 1
    head = PLOTLY_JS.read_text(encoding="utf-8")[:200]
    assert re.search(r"plotly\.js v\d+\.\d+\.\d+", head)
    assert head in script  # the file's own text, not a link to it
    assert not re.search(r"<script[^>]*\bsrc\s*=", script)
    assert not re.search(r"https?://cdn\.plot\.ly/plotly[-\w.]*\.js", script)
    assert len(script) > PLOTLY_JS.stat().st_size * 0.99


def test_script_text_is_read_once() -> None:
    assert plotly_script() == plotly_script()
    assert _charts._plotly_js_text.cache_info().currsize == 1


def test_figure_html_is_a_div_that_expects_plotly_loaded() -> None:
    html = figure_html(_figure())
    assert html.lstrip().startswith("<div")
    assert not re.search(r"<script[^>]*\bsrc\s*=", html)
    assert "Plotly.newPlot" in html
    assert "plotly.js v" not in html  # the library itself is not repeated per chart
    assert '"displaylogo": false' in html and '"responsive": true' in html
    assert "plot.ly" not in html and "https://" not in html
    assert '"y":[0.5,0.25,0.125]' in html


def test_figure_html_is_reproducible_and_leaves_the_figure_alone() -> None:
    fig = _figure()
    first = figure_html(fig, height=320)
    assert first == figure_html(_figure(), height=320)
    ids = re.findall(r'id="(chart-[0-9a-f]{12})"', first)
    assert len(ids) == 1
    assert '"height":320' in first and "height:320px" in first
    assert fig.layout.height is None
    assert figure_html(fig) != first
    assert 'id="mine"' in figure_html(fig, div_id="mine")


def test_style_gives_the_house_look() -> None:
    fig = _figure()
    assert style(fig, title="History") is fig
    layout = fig.layout
    assert layout.title.text == "History"
    assert layout.font.family.startswith("system-ui")
    assert tuple(layout.colorway) == PALETTE
    assert layout.template.layout.paper_bgcolor == "white"
    assert (layout.margin.l, layout.margin.r) == (64, 16)


def test_style_keeps_an_existing_title_when_none_is_given() -> None:
    fig = _figure().update_layout(title="Optuna's own")
    style(fig)
    assert fig.layout.title.text == "Optuna's own"
