"""The HTML report of an AutoML run: one self-contained file, inline CSS and SVG, no scripts.

The report is read by a person deciding whether to trust the chosen model, so it leads with
what was chosen and why, then shows the evidence: the optimisation history, which parameters
mattered, the leaderboard and, for multi-objective runs, the score/latency Pareto front.
Charts are drawn here as plain SVG so the file opens offline and never fetches anything.
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
from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from optuna.trial import FrozenTrial

__all__ = ["LEADERBOARD_COLUMNS", "render_report", "write_report"]

LEADERBOARD_COLUMNS = ("rank", "trial", "family", "score", "fit_s", "predict_ms", "params")
_CHOSEN_KEYS = ("metric", "direction", "members", "why")
_TOP_ROWS = 20
_FAMILY_COLOURS = {"linear": "#4c78a8", "lightgbm": "#f58518", "mlp": "#54a24b"}
_SPARE_COLOURS = ("#b279a2", "#e45756", "#72b7b2", "#9d755d", "#bab0ac")
_W, _H = 880, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 12, 44

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:960px;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin:0 0 .5rem}
h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}
dt{color:#666}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
table.members{width:auto;min-width:40%}
th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
tr.member td{background:#fff8e1}
code{font-size:.8rem;color:#444;word-break:break-word}
svg{width:100%;height:auto;display:block}svg text{font-size:11px;fill:#555}
.grid{stroke:#eee}.frame{stroke:#999;fill:none}
.best{fill:none;stroke:#222;stroke-width:1.5}.front{fill:none;stroke:#d62728;stroke-width:1.5}
.bar{fill:#4c78a8}
.legend{font-size:.85rem;color:#444}.legend span{margin-right:1rem;white-space:nowrap}
.legend i{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.3rem;
vertical-align:middle}
.legend i.line{border-radius:0;height:2px;background:#222}
.legend i.ring{background:none;border:2px solid #d62728;width:.5rem;height:.5rem}
.note{color:#666;font-style:italic}
"""


@dataclass(frozen=True)
class _Run:
    """The facts the report draws from a study, read once."""

    completed: list[FrozenTrial]
    pruned: int
    repeats: int
    """Pruned trials that drew the settings of a finished one (nothing was trained)."""
    failed: int
    total: int
    minimize: bool
    multi: bool
    metric: str


@dataclass(frozen=True)
class _Scale:
    """A linear (or log10) map from data values to SVG pixels along one axis."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False
    integer: bool = False

    @classmethod
    def fit(
        cls,
        values: Sequence[float],
        start: float,
        end: float,
        *,
        log: bool = False,
        integer: bool = False,
    ) -> _Scale:
        """Fit the scale to ``values`` with 5% padding (half a unit when they are all equal)."""
        data = [math.log10(v) for v in values] if log else list(values)
        lo, hi = min(data), max(data)
        pad = (hi - lo) * 0.05 or max(abs(lo) * 0.1, 0.5)
        return cls(lo - pad, hi + pad, start, end, log=log, integer=integer)

    def __call__(self, value: float) -> float:
        data = math.log10(value) if self.log else value
        return self.start + (data - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self) -> list[float]:
        """Round tick values inside the scale: decades on a log scale, 1-2-2.5-5 steps else."""
        if self.log:
            return [10.0**k for k in range(math.ceil(self.lo), math.floor(self.hi) + 1)]
        return _nice_ticks(self.lo, self.hi, minimum_step=1.0 if self.integer else 0.0)


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
    run = _read_run(study, str(chosen["metric"]))
    sections = [
        _header_html(run, chosen, title),
        _chosen_html(chosen),
        _history_html(run),
        _importances_html(study, run),
        _leaderboard_html(leaderboard, chosen),
    ]
    if run.multi:
        sections.append(_pareto_html(study, run))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
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
        minimize=study.directions[0].name == "MINIMIZE",
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
        f'<table class="members">{head}{body}</table>' if members else _note("No model was chosen.")
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


def _history_html(run: _Run) -> str:
    heading = '<section id="history"><h2>Optimisation history</h2>'
    points = [(float(t.number), _score(t), _family(t)) for t in run.completed]
    points = sorted(p for p in points if math.isfinite(p[1]))
    if not points:
        return heading + _note("No trial completed, so there is no history to draw.") + "</section>"
    x = _Scale.fit([p[0] for p in points], _LEFT, _W - _RIGHT, integer=True)
    y = _Scale.fit([p[1] for p in points], _H - _BOTTOM, _TOP)
    best = _running_best([p[1] for p in points], minimize=run.minimize)
    parts = _frame(x, y, "trial number", run.metric)
    parts.append(_step_path([(x(p[0]), y(b)) for p, b in zip(points, best, strict=True)]))
    parts += [_dot(x(n), y(v), f, f"trial {n:.0f} · {f} · {_fmt(v)}") for n, v, f in points]
    direction = "lowest" if run.minimize else "highest"
    legend = _legend([p[2] for p in points], f"best so far ({direction})", swatch="line")
    return heading + _svg(parts, _H, "optimisation history") + legend + "</section>"


def _importances_html(study: optuna.Study, run: _Run) -> str:
    heading = '<section id="importances"><h2>Parameter importances</h2>'
    if len(run.completed) < 2:
        reason = (
            "Parameter importances need at least 2 completed trials to compare; this run "
            f"completed {len(run.completed)}."
        )
        return heading + _note(reason) + "</section>"
    try:
        importances = _importances(study, multi=run.multi)
    except Exception as error:  # the report must not fail on an importance estimate
        reason = (
            f"Parameter importances could not be estimated ({type(error).__name__}: {error}). "
            "This happens with too few completed trials or parameters that vary in only some."
        )
        return heading + _note(reason) + "</section>"
    if not importances:
        reason = "No parameter was sampled in every completed trial, so none could be ranked."
        return heading + _note(reason) + "</section>"
    return heading + _bars_svg(importances) + "</section>"


def _importances(study: optuna.Study, *, multi: bool) -> dict[str, float]:
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    evaluator = FanovaImportanceEvaluator(seed=0)
    target = _score if multi else None
    found = get_param_importances(study, evaluator=evaluator, target=target)
    return {str(name): float(value) for name, value in found.items()}


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


def _pareto_html(study: optuna.Study, run: _Run) -> str:
    heading = '<section id="pareto"><h2>Pareto front</h2>'
    points = [(*_latency_score(t), _family(t), t.number) for t in run.completed]
    points = [p for p in points if math.isfinite(p[0] + p[1])]
    if not points:
        return heading + _note("No trial completed, so there is no front to draw.") + "</section>"
    latencies = [p[0] for p in points]
    log = min(latencies) > 0 and max(latencies) >= 100 * min(latencies)
    x = _Scale.fit(latencies, _LEFT, _W - _RIGHT, log=log)
    y = _Scale.fit([p[1] for p in points], _H - _BOTTOM, _TOP)
    x_label = "predict latency, ms per row" + (" (log scale)" if log else "")
    parts = _frame(x, y, x_label, run.metric)
    front = sorted(_latency_score(t) for t in study.best_trials)
    parts.append(_line_path([(x(a), y(b)) for a, b in front if math.isfinite(a + b)]))
    on_front = set(front)
    for lat, score, family, number in points:
        label = f"trial {number} · {family} · {_fmt(score)} · {_fmt(lat)} ms"
        parts.append(_dot(x(lat), y(score), family, label, ring=(lat, score) in on_front))
    legend = _legend([p[2] for p in points], "Pareto-optimal", swatch="ring")
    return heading + _svg(parts, _H, "Pareto front") + legend + "</section>"


# --- SVG drawing ----------------------------------------------------------------------------


def _svg(parts: list[str], height: float, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {_W} {height:.0f}" role="img" aria-label="{_e(label)}">'
        + "".join(parts)
        + "</svg>"
    )


def _frame(x: _Scale, y: _Scale, x_label: str, y_label: str) -> list[str]:
    """Plot frame, grid lines, tick labels and axis labels for a chart with scales ``x``/``y``."""
    bottom, right = _H - _BOTTOM, _W - _RIGHT
    size = f'width="{right - _LEFT}" height="{bottom - _TOP}"'
    parts = [f'<rect class="frame" x="{_LEFT}" y="{_TOP}" {size}/>']
    for tick in y.ticks():
        at = y(tick)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{right}" y1="{at:.1f}" y2="{at:.1f}"/>')
        parts.append(_text(_LEFT - 6, at + 4, _fmt(tick), anchor="end"))
    for tick in x.ticks():
        at = x(tick)
        parts.append(f'<line class="grid" x1="{at:.1f}" x2="{at:.1f}" y1="{_TOP}" y2="{bottom}"/>')
        parts.append(_text(at, bottom + 15, _fmt(tick), anchor="middle"))
    parts.append(_text((_LEFT + right) / 2, _H - 6, x_label, anchor="middle"))
    mid = (_TOP + bottom) / 2
    parts.append(
        f'<text x="14" y="{mid:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid:.1f})">{_e(y_label)}</text>'
    )
    return parts


def _text(x: float, y: float, text: str, *, anchor: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{_e(text)}</text>'


def _dot(x: float, y: float, family: str, label: str, *, ring: bool = False) -> str:
    stroke = ' stroke="#d62728" stroke-width="2"' if ring else ""
    radius = 5 if ring else 4
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{_colour(family)}" '
        f'fill-opacity="0.85"{stroke}><title>{_e(label)}</title></circle>'
    )


def _step_path(points: Sequence[tuple[float, float]]) -> str:
    """A step line through ``points``: hold each value until the next point, then jump."""
    (x0, y0), rest = points[0], points[1:]
    steps = "".join(f" H{x:.1f} V{y:.1f}" for x, y in rest)
    return f'<path class="best" d="M{x0:.1f} {y0:.1f}{steps}"/>'


def _line_path(points: Sequence[tuple[float, float]]) -> str:
    if not points:
        return ""
    coords = " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
    return f'<path class="front" d="M{coords}"/>'


def _bars_svg(importances: Mapping[str, float]) -> str:
    """Horizontal bars, most important first, labelled with the share of the total."""
    label_w, bar_h, gap = 200, 18, 8
    height = len(importances) * (bar_h + gap) + gap
    longest = max(max(importances.values()), 1e-12)
    parts = []
    for i, (name, value) in enumerate(importances.items()):
        top = gap + i * (bar_h + gap)
        width = (_W - label_w - 70) * value / longest
        short = name if len(name) <= 30 else name[:29] + "…"
        parts.append(_text(label_w - 8, top + 13, short, anchor="end"))
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{top}" width="{width:.1f}" height="{bar_h}">'
            f"<title>{_e(name)}: {value:.1%}</title></rect>"
        )
        parts.append(_text(label_w + width + 6, top + 13, f"{value:.1%}", anchor="start"))
    return _svg(parts, height, "parameter importances")


def _legend(families: Sequence[str], extra: str, *, swatch: str) -> str:
    """Family colour keys, then ``extra`` with a ``line`` or ``ring`` swatch."""
    keys = "".join(
        f'<span><i style="background:{_colour(f)}"></i>{_e(f)}</span>'
        for f in sorted(set(families))
    )
    return f'<p class="legend">{keys}<span><i class="{swatch}"></i>{_e(extra)}</span></p>'


# --- values and formatting ------------------------------------------------------------------


def _nice_ticks(lo: float, hi: float, *, count: int = 5, minimum_step: float = 0.0) -> list[float]:
    """About ``count`` round values (steps of 1, 2, 2.5 or 5 times a power of ten) in [lo, hi]."""
    raw = (hi - lo) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(step, minimum_step)
    first = math.ceil(lo / step)
    return [k * step for k in range(first, math.floor(hi / step) + 1)]


def _running_best(values: Sequence[float], *, minimize: bool) -> list[float]:
    """The best value seen so far at each position, in the study's direction."""
    best: list[float] = []
    for value in values:
        if not best:
            best.append(value)
        else:
            best.append(min(best[-1], value) if minimize else max(best[-1], value))
    return best


def _score(trial: FrozenTrial) -> float:
    """Objective 0, the model's score (NaN for a trial without values)."""
    return float(trial.values[0]) if trial.values else math.nan


def _latency_score(trial: FrozenTrial) -> tuple[float, float]:
    """Objectives 1 and 0 of a multi-objective trial: predict ms per row, then the score."""
    values = trial.values or [math.nan, math.nan]
    return float(values[1]), float(values[0])


def _family(trial: FrozenTrial) -> str:
    return str(trial.user_attrs.get("family", "unknown"))


def _colour(family: str) -> str:
    if family in _FAMILY_COLOURS:
        return _FAMILY_COLOURS[family]
    return _SPARE_COLOURS[sum(family.encode()) % len(_SPARE_COLOURS)]


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


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'
