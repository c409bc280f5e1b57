"""The building blocks of the risk reports: one self-contained HTML page, written atomically.

A report is a list of sections (headline facts, tables, Plotly charts) joined into one page
that inlines plotly.js once (:func:`furima._charts.plotly_script`), so the file opens offline.
Every piece of text from the data (column names, categories, reasons) is escaped. Numbers are
written for people: thousands separators, shares as percentages, three significant digits.
The checks here refuse bad input with :mod:`furima.exceptions` errors before any scoring.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import write_file_atomically
from furima._charts import REPORT_CSS
from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = [
    "chart",
    "check_columns",
    "check_rows",
    "e",
    "facts",
    "finite_or_refuse",
    "number",
    "records",
    "render_page",
    "share",
    "stability_section",
    "table",
    "whole",
    "write_page",
]

_CSS = (
    REPORT_CSS
    + """
.flag{color:#b71c1c;font-weight:600}.fine{color:#1b5e20}
details{margin:.3rem 0}summary{cursor:pointer;color:#333}
ul.reasons{margin:0;padding-left:1.1rem}
table{display:block;overflow-x:auto}.chart{overflow:hidden}body{overflow-wrap:break-word}
"""
)


def e(value: object) -> str:
    """``value`` as HTML-escaped text."""
    return html.escape(str(value))


def whole(value: float) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{int(value):,}"


def share(value: float, digits: int = 1) -> str:
    """A share as a percentage: ``0.1234`` -> ``12.3%``; ``n/a`` when not a number."""
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}%}"


def number(value: float, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, thousands separated: ``0.762``, ``1,234``."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts from column name to value, index left out."""
    names = [str(column) for column in frame.columns]
    return [
        dict(zip(names, values, strict=True)) for values in frame.itertuples(index=False, name=None)
    ]


def facts(items: Mapping[str, str]) -> str:
    """The headline facts as a definition list (values are HTML already)."""
    rows = "".join(f"<dt>{e(name)}</dt><dd>{value}</dd>" for name, value in items.items())
    return f'<dl class="facts">{rows}</dl>'


def table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; the cells are HTML already, the columns at ``numeric`` right-aligned."""

    def cell(tag: str, index: int, text: str) -> str:
        align = ' class="num"' if index in numeric else ""
        return f"<{tag}{align}>{text}</{tag}>"

    head = "".join(cell("th", i, e(name)) for i, name in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def chart(figure: go.Figure, height: int = 360) -> str:
    """One Plotly chart's div (plotly.js comes once, from :func:`render_page`)."""
    from furima._charts import figure_html

    return f'<div class="chart">{figure_html(figure, height=height)}</div>'


def render_page(title: str, sections: Sequence[str]) -> str:
    """The whole page: head with styles and inline plotly.js, then the non-empty sections."""
    from furima._charts import plotly_script

    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_CSS}</style>{plotly_script()}</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n"
        + "\n".join(section for section in sections if section)
        + "\n</body></html>\n"
    )


def write_page(path: Path | str, page: str) -> Path:
    """Write ``page`` to ``path`` through a temp file and a rename: never half a file."""
    data = page.encode("utf-8")
    return write_file_atomically(Path(path), lambda out: out.write(data))


def check_rows(frame: object, name: str) -> None:
    """Refuse anything but a pandas DataFrame with at least one row."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"the {name} must be a pandas DataFrame, but got {type(frame).__name__}")
    if len(frame) == 0:
        raise DataError(f"the {name} has no rows; pass a labelled sample with at least one row")


def check_columns(frame: pd.DataFrame, names: Sequence[str], name: str, hint: str) -> None:
    """Refuse a table that lacks any of ``names``; ``hint`` says how to fix it."""
    absent = [column for column in names if column not in frame.columns]
    if absent:
        raise SchemaError(
            f"the {name} has no column {', '.join(map(repr, absent))} (its columns: "
            f"{list(map(str, frame.columns))}); {hint}"
        )


def stability_section(report: pd.DataFrame, intro: str) -> str:
    """PSI per feature and of the score (from :func:`~furima.risk.stability_report`): a bar
    chart with the watch and shifted bands marked, and the table with missing shares."""
    from furima.risk._report_charts import psi_figure

    ordered = report.sort_values("psi", ascending=False, kind="stable")
    rows = [
        [
            e(row["column"])
            + (" <span class=note>(score)</span>" if row["kind"] == "score" else ""),
            number(float(row["psi"])),
            _band(str(row["band"])),
            share(float(row["missing_development"])),
            share(float(row["missing_recent"])),
        ]
        for row in records(ordered)
    ]
    score_rows = report[report["kind"] == "score"]
    headline = ""
    if len(score_rows):
        psi = float(score_rows["psi"].iloc[0])
        headline = f"<p>Score PSI {number(psi)}: {_band(str(score_rows['band'].iloc[0]))}.</p>"
    figure = psi_figure(ordered["column"].astype(str).tolist(), ordered["psi"].to_numpy())
    header = ["Column", "PSI", "Band", "Missing (development)", "Missing (recent)"]
    return (
        f"<h2>Stability</h2><p class=note>{e(intro)} Bands: under 0.1 stable, 0.1 to 0.25 "
        "watch, above 0.25 shifted.</p>"
        + headline
        + chart(figure, height=max(260, 120 + 22 * len(ordered)))
        + table(header, rows, numeric=(1, 3, 4))
    )


SCORE_NOTE = " <span class=note>(score)</span>"


def _band(band: str) -> str:
    css = {"stable": "fine", "watch": "note", "shifted": "flag"}.get(band, "")
    return f'<span class="{css}">{e(band)}</span>'


def finite_or_refuse(values: np.ndarray, what: str) -> np.ndarray:
    """Refuse missing or infinite model outputs (they would silently break every metric)."""
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise DataError(f"the model gave {bad} missing or infinite {what}; check its inputs")
    return values
