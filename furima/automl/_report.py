"""The HTML report of an AutoML run: one self-contained file that opens offline.

The report is read by a person deciding whether to trust the chosen model, so it leads with
what was chosen and why, then shows the evidence: the optimisation history, which parameters
mattered, the leaderboard and, for multi-objective runs, the score/latency Pareto front.
The charts are Optuna's own Plotly figures (:mod:`furima.automl._report_charts`); plotly.js
is inlined once, so the file needs no network and fetches nothing. The rest is plain HTML.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from furima._artifacts import write_file_atomically
from furima._charts import REPORT_CSS, plotly_script
from furima.automl._report_charts import (
    CHART_CLASS,
    history_html,
    importances_html,
    note_html,
    pareto_html,
)
from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from optuna.trial import FrozenTrial

__all__ = ["LEADERBOARD_COLUMNS", "render_report", "write_report"]

LEADERBOARD_COLUMNS = ("rank", "trial", "family", "score", "fit_s", "predict_ms", "params")
_CHOSEN_KEYS = ("metric", "direction", "members", "why")
_TOP_ROWS = 20
_CSS = (
    REPORT_CSS
    + """
table.members{width:auto;min-width:40%}
tr.member td{background:#fff8e1}
code{font-size:.8rem;color:#444;word-break:break-word}
"""
)


@dataclass(frozen=True)
class _Run:
    """The facts the report draws from a study, read once."""

    completed: list[FrozenTrial]
    pruned: int
    repeats: int
    """Pruned trials that drew the settings of a finished one (nothing was trained)."""
    failed: int
    total: int
    multi: bool
    metric: str


def write_report(
    study: optuna.Study,
    leaderboard: pd.DataFrame,
    chosen: Mapping[str, Any],
    path: str | Path,
    *,
    title: str = "furima AutoML report",
) -> Path:
    """Write the HTML report of an AutoML run to ``path``, atomically, and return the path.

    Args:
        study: The run's Optuna study: one objective (the model's score), or two (the score,
            then predict latency in ms per row, minimised). Trials carry the user attributes
            ``family``, ``fit_s`` and ``predict_ms``.
        leaderboard: One row per completed trial, best first, with the columns
            :data:`LEADERBOARD_COLUMNS` (``params`` holds a dict per row).
        chosen: What was chosen and why: ``metric``, ``direction``, ``members`` (dicts with
            ``trial``, ``family``, ``weight``) and ``why`` are required; ``ensemble_score``,
            ``best_single_score``, ``budget_s``, ``elapsed_s``, ``sampler``, ``pruner``,
            ``task`` and ``rows`` are shown when present.
        path: Where to write the file; missing parent folders are created.
        title: The page title.

    Raises:
        SchemaError: The leaderboard lacks a column.
        DataError: ``chosen`` lacks a key or names an unknown direction, or the study has more
            than two objectives.
    """
    text = render_report(study, leaderboard, chosen, title=title)
    return write_file_atomically(Path(path), lambda out: out.write(text.encode("utf-8")))


def render_report(
    study: optuna.Study,
    leaderboard: pd.DataFrame,
    chosen: Mapping[str, Any],
    *,
    title: str = "furima AutoML report",
) -> str:
    """Return the report as one HTML document; :func:`write_report` documents the arguments."""
    _check_inputs(study, leaderboard, chosen)
    metric = str(chosen["metric"])
    run = _read_run(study, metric)
    sections = [
        _header_html(run, chosen, title),
        _chosen_html(chosen),
        _section("history", "Optimisation history", history_html(study, metric)),
        _section("importances", "Parameter importances", importances_html(study, metric)),
        _leaderboard_html(leaderboard, chosen),
    ]
    if run.multi:
        sections.append(_section("pareto", "Pareto front", pareto_html(study, metric)))
    body = "\n".join(sections)
    # plotly.js once, inline, before the first chart; a report without charts goes without.
    script = plotly_script() if CHART_CLASS in body else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style>{script}</head>\n<body>\n"
        f"{body}\n</body></html>\n"
    )


def _check_inputs(
    study: optuna.Study, leaderboard: pd.DataFrame, chosen: Mapping[str, Any]
) -> None:
    missing = [c for c in LEADERBOARD_COLUMNS if c not in leaderboard.columns]
    if missing:
        raise SchemaError(
            f"The leaderboard must have the columns {list(LEADERBOARD_COLUMNS)}, but {missing} "
            "are missing. Build it with one row per completed trial, best first."
        )
    absent = [key for key in _CHOSEN_KEYS if key not in chosen]
    if absent:
        raise DataError(
            f"`chosen` must have the keys {list(_CHOSEN_KEYS)}, but {absent} are missing."
        )
    if chosen["direction"] not in ("minimize", "maximize"):
        raise DataError(
            "`chosen['direction']` must be 'minimize' or 'maximize', "
            f"but got {chosen['direction']!r}."
        )
    if len(study.directions) > 2:
        raise DataError(
            "The report draws studies with one objective (score) or two (score, predict_ms), "
            f"but the study has {len(study.directions)}."
        )


def _read_run(study: optuna.Study, metric: str) -> _Run:
    trials = study.get_trials(deepcopy=False)
    states = [t.state.name for t in trials]
    return _Run(
        completed=[t for t in trials if t.state.name == "COMPLETE" and t.values],
        pruned=states.count("PRUNED"),
        repeats=sum("repeat_of" in t.user_attrs for t in trials),
        failed=states.count("FAIL"),
        total=len(trials),
        multi=len(study.directions) > 1,
        metric=metric,
    )


# --- sections -------------------------------------------------------------------------------


def _header_html(run: _Run, chosen: Mapping[str, Any], title: str) -> str:
    completed = len(run.completed)
    repeats = f" ({run.repeats} of them repeats of earlier settings)" if run.repeats else ""
    facts = {
        "Task": f"{chosen.get('task', '—')} ({_fmt(chosen.get('rows'))} rows)",
        "Metric": f"{chosen['metric']} ({chosen['direction']})",
        "Time": f"{_seconds(chosen.get('elapsed_s'))} of a {_seconds(chosen.get('budget_s'))} "
        "budget",
        "Trials": f"{run.total}: {completed} completed, {run.pruned} pruned{repeats}, "
        f"{run.failed} failed",
        "Search": f"{chosen.get('sampler', '—')} sampler, {chosen.get('pruner', '—')} pruner",
    }
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts.items())
    return f'<header><h1>{_e(title)}</h1><dl class="facts">{rows}</dl></header>'


def _trained_on(refit: bool | None) -> str:
    if refit is None:  # a `chosen` summary from an older furima, without the flag
        return "—"
    return "training + validation rows" if refit else "training rows (no time to refit)"


def _chosen_html(chosen: Mapping[str, Any]) -> str:
    members = list(chosen["members"])
    head = _row(("Trial", "Family", "Weight", "Trained on"), "th", numeric=(0, 2))
    body = "".join(
        _row(
            (m.get("trial"), m.get("family"), m.get("weight"), _trained_on(m.get("refit"))),
            "td",
            numeric=(0, 2),
        )
        for m in members
    )
    table = (
        f'<table class="members">{head}{body}</table>'
        if members
        else note_html("No model was chosen.")
    )
    return (
        '<section id="chosen"><h2>What was chosen and why</h2>'
        f'<p class="why">{_e(chosen["why"])}</p>{_scores_html(chosen)}{table}</section>'
    )


def _scores_html(chosen: Mapping[str, Any]) -> str:
    ensemble, single = chosen.get("ensemble_score"), chosen.get("best_single_score")
    if ensemble is None or single is None:
        return ""
    better = "lower" if chosen["direction"] == "minimize" else "higher"
    return (
        f"<p>Ensemble {_e(chosen['metric'])} <b>{_e(_fmt(ensemble))}</b> vs best single trial "
        f"<b>{_e(_fmt(single))}</b> ({better} is better).</p>"
    )


def _leaderboard_html(leaderboard: pd.DataFrame, chosen: Mapping[str, Any]) -> str:
    members = {m.get("trial") for m in chosen["members"]}
    columns = ("Rank", "Trial", "Family", "Score", "Fit s", "Predict ms", "Params")
    numeric = (0, 1, 3, 4, 5)
    rows = [_row(columns, "th", numeric=numeric)]
    for record in leaderboard.head(_TOP_ROWS).to_dict("records"):
        cells = [record[c] for c in LEADERBOARD_COLUMNS[:-1]]
        cells.append(_compact_params(record["params"]))
        css = ' class="member"' if record["trial"] in members else ""
        rows.append(_row(cells, "td", numeric=numeric, css=css))
    shown = min(len(leaderboard), _TOP_ROWS)
    caption = f"Top {shown} of {len(leaderboard)} completed trials; chosen members highlighted."
    return (
        '<section id="leaderboard"><h2>Leaderboard</h2>'
        f'<p class="note">{_e(caption)}</p><table>{"".join(rows)}</table></section>'
    )


# --- formatting -----------------------------------------------------------------------------


def _row(cells: Sequence[object], tag: str, *, numeric: Sequence[int], css: str = "") -> str:
    tds = "".join(
        f"<{tag}{' class=num' if i in numeric else ''}>{_e(_fmt(c))}</{tag}>"
        for i, c in enumerate(cells)
    )
    return f"<tr{css}>{tds}</tr>"


def _compact_params(params: object) -> str:
    """``k=v`` pairs, numbers to 4 significant digits: ``lr=0.01235, leaves=31``."""
    if not isinstance(params, Mapping):
        return _fmt(params)
    return ", ".join(f"{key}={_fmt(value)}" for key, value in params.items())


def _fmt(value: object) -> str:
    """Plain text for a cell: integers as is, other numbers to 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool | numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return "—" if math.isnan(number) else f"{number:.4g}"
    return str(value)


def _seconds(value: object) -> str:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return "—"
    seconds = float(value)
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _e(value: object) -> str:
    return html.escape(str(value))


def _section(name: str, heading: str, content: str) -> str:
    return f'<section id="{name}"><h2>{_e(heading)}</h2>{content}</section>'
