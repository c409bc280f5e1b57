"""The AutoML HTML report: sections, chart values, escaping, self-containment, atomic writes.

The charts are Plotly figures inside the file; :func:`_figures` reads each figure's data and
layout back from its ``Plotly.newPlot`` call, so the tests assert on the values drawn.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

from furima._charts import PLOTLY_JS, plotly_script
from furima.automl._report import LEADERBOARD_COLUMNS, render_report, write_report
from furima.exceptions import DataError, SchemaError

optuna.logging.set_verbosity(optuna.logging.WARNING)

_OFFSET = {"linear": 0.5, "lightgbm": 0.0, "mlp": 0.2}
_LATENCY = {"linear": 0.001, "lightgbm": 0.02, "mlp": 0.2}
_WHY = "Greedy selection improved rmsle <0.42 & kept 2 members"
_HEADINGS = (
    "What was chosen and why",
    "Optimisation history",
    "Parameter importances",
    "Leaderboard",
)


def _suggest(trial: optuna.Trial) -> tuple[str, float]:
    family = str(trial.suggest_categorical("family", list(_OFFSET)))
    x = trial.suggest_float("x", -3.0, 3.0)
    trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    trial.set_user_attr("family", family)
    trial.set_user_attr("fit_s", 0.1 + abs(x))
    trial.set_user_attr("predict_ms", _LATENCY[family] * (1 + abs(x)))
    if trial.number == 3:
        raise ValueError("boom")  # one FAIL, caught by optimize
    if trial.number % 5 == 4:
        raise optuna.TrialPruned()
    return family, x


def _single(trial: optuna.Trial) -> float:
    family, x = _suggest(trial)
    return (x - 1.0) ** 2 + _OFFSET[family]


def _multi(trial: optuna.Trial) -> tuple[float, float]:
    family, x = _suggest(trial)
    return (x - 1.0) ** 2 + _OFFSET[family], float(trial.user_attrs["predict_ms"])


@pytest.fixture(scope="module")
def single_study() -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(_single, n_trials=15, catch=(ValueError,))
    return study


@pytest.fixture(scope="module")
def multi_study() -> optuna.Study:
    sampler = optuna.samplers.NSGAIISampler(seed=0, population_size=6)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(_multi, n_trials=15, catch=(ValueError,))
    return study


def _leaderboard(study: optuna.Study) -> pd.DataFrame:
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    done.sort(key=lambda t: t.values[0])
    rows = [
        {
            "rank": rank,
            "trial": t.number,
            "family": t.user_attrs["family"],
            "score": t.values[0],
            "fit_s": t.user_attrs["fit_s"],
            "predict_ms": t.user_attrs["predict_ms"],
            "params": dict(t.params),
        }
        for rank, t in enumerate(done, start=1)
    ]
    return pd.DataFrame(rows)


def _chosen(leaderboard: pd.DataFrame) -> dict[str, Any]:
    top = leaderboard.head(2)
    return {
        "metric": "rmsle",
        "direction": "minimize",
        "members": [
            {
                "trial": int(top.trial.iloc[0]),
                "family": top.family.iloc[0],
                "weight": 0.6,
                "refit": True,
            },
            {
                "trial": int(top.trial.iloc[1]),
                "family": top.family.iloc[1],
                "weight": 0.4,
                "refit": False,
            },
        ],
        "ensemble_score": 0.41,
        "best_single_score": 0.42,
        "why": _WHY,
        "budget_s": 300,
        "elapsed_s": 290.1,
        "sampler": "TPESampler",
        "pruner": "HyperbandPruner",
        "task": "regression",
        "rows": 10000,
    }


Report = tuple[str, pd.DataFrame]
"""A report's HTML text and the leaderboard it was written from."""


def _report(study: optuna.Study, tmp_path: Path) -> Report:
    board = _leaderboard(study)
    out = write_report(study, board, _chosen(board), tmp_path / "deep" / "report.html")
    return out.read_text(encoding="utf-8"), board


@pytest.fixture(scope="module")
def single_report(single_study: optuna.Study, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return _report(single_study, tmp_path_factory.mktemp("single"))


@pytest.fixture(scope="module")
def multi_report(multi_study: optuna.Study, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return _report(multi_study, tmp_path_factory.mktemp("multi"))


def _section(text: str, name: str) -> str:
    return text.split(f'<section id="{name}">')[1].split("</section>")[0]


def _figures(text: str) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """(data, layout) of every chart in ``text``, read back from its ``Plotly.newPlot`` call."""
    decoder = json.JSONDecoder()
    figures = []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', text):
        data, end = decoder.raw_decode(text, match.end())
        start = re.compile(r",\s*").match(text, end)
        assert start is not None
        layout, _ = decoder.raw_decode(text, start.end())
        figures.append((data, layout))
    return figures


def _trace(data: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(trace for trace in data if trace.get("name") == name)


def _completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    trials: list[optuna.trial.FrozenTrial] = study.get_trials(
        states=(optuna.trial.TrialState.COMPLETE,)
    )
    return trials


def test_single_objective_report_has_every_section_and_values(
    single_study: optuna.Study, single_report: Report
) -> None:
    text, board = single_report
    for heading in _HEADINGS:
        assert f"<h2>{heading}</h2>" in text
    assert "Pareto front" not in text
    assert len(_figures(_section(text, "history"))) == 1
    assert len(_figures(_section(text, "importances"))) == 1
    assert len(_figures(text)) == 2
    top = board.iloc[0]
    assert f"<td class=num>{top.trial}</td><td>{top.family}</td><td class=num>{top.score:.4g}" in (
        text
    )
    assert f"x={top.params['x']:.4g}" in text
    counts = single_study.trials
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in counts)
    assert f"15: {len(board)} completed, {pruned} pruned, 1 failed" in text
    assert "4 min 50 s of a 5 min budget" in text
    assert "HyperbandPruner pruner" in text
    members = text.split('<table class="members">')[1].split("</table>")[0]
    assert members.count("<td>training + validation rows</td>") == 1
    assert members.count("<td>training rows (no time to refit)</td>") == 1


def test_history_draws_each_family_and_the_best_so_far(
    single_study: optuna.Study, single_report: Report
) -> None:
    text, board = single_report
    [(data, layout)] = _figures(_section(text, "history"))
    assert layout["title"]["text"] == "rmsle of each completed trial, and the best so far"
    assert layout["xaxis"]["title"]["text"] == "trial number"
    assert layout["yaxis"]["title"]["text"] == "rmsle"
    done = _completed(single_study)
    for family in set(board.family):
        trace = _trace(data, family)
        mine = [t for t in done if t.user_attrs["family"] == family]
        assert trace["x"] == [t.number for t in mine]
        assert trace["y"] == pytest.approx([t.value for t in mine])
    best = [v for v in _trace(data, "Best Value")["y"] if v is not None]
    assert best == sorted(best, reverse=True)  # minimised: the best so far never rises
    assert best[-1] == pytest.approx(board.score.min())


def test_importances_rank_every_parameter_with_a_seeded_fanova(
    single_report: Report,
) -> None:
    text, _ = single_report
    [(data, layout)] = _figures(_section(text, "importances"))
    assert "fANOVA" in layout["title"]["text"]
    [bars] = data
    assert bars["type"] == "bar" and bars["orientation"] == "h"
    assert sorted(bars["y"]) == ["family", "learning_rate", "x"]
    assert sum(bars["x"]) == pytest.approx(1.0)
    assert bars["y"][-1] == "x"  # the score is (x - 1)^2 + a family offset: x matters most


def test_the_same_run_gives_the_same_report(single_study: optuna.Study) -> None:
    board = _leaderboard(single_study)
    first = render_report(single_study, board, _chosen(board))
    assert first == render_report(single_study, board, _chosen(board))


def test_members_without_the_refit_flag_say_nothing_about_it(
    single_study: optuna.Study, tmp_path: Path
) -> None:
    board = _leaderboard(single_study)
    chosen = _chosen(board)
    for member in chosen["members"]:
        del member["refit"]
    text = write_report(single_study, board, chosen, tmp_path / "report.html").read_text("utf-8")
    members = text.split('<table class="members">')[1].split("</table>")[0]
    assert members.count("<td>—</td>") == 2 and "rows" not in members


def test_why_text_is_escaped(single_report: Report) -> None:
    text, _ = single_report
    assert html.escape(_WHY) in text
    assert _WHY not in text


def test_report_is_self_contained(multi_report: Report) -> None:
    text, _ = multi_report
    assert text.count(plotly_script()) == 1  # plotly.js inline, once, for three charts
    assert PLOTLY_JS.read_text(encoding="utf-8")[:200] in text
    assert not re.search(r"<script[^>]*\bsrc\s*=", text)
    assert "<link" not in text
    rest = text.replace(plotly_script(), "")
    assert not re.search(r"https?://", rest)  # only plotly.js itself names any address
    assert len(_figures(rest)) == 3


def test_multi_objective_report_draws_the_pareto_front(
    multi_study: optuna.Study, multi_report: Report
) -> None:
    text, board = multi_report
    for heading in (*_HEADINGS, "Pareto front"):
        assert f"<h2>{heading}</h2>" in text
    [(data, layout)] = _figures(_section(text, "pareto"))
    assert layout["title"]["text"].startswith("rmsle against predict latency")
    assert layout["xaxis"]["type"] == "log"  # latencies span 0.001 to 0.8 ms
    assert layout["xaxis"]["title"]["text"] == "predict latency, ms per row (log scale)"
    assert layout["yaxis"]["title"]["text"] == "rmsle"
    points = sorted((x, y) for trace in data for x, y in zip(trace["x"], trace["y"], strict=True))
    assert points == sorted((t.values[1], t.values[0]) for t in _completed(multi_study))
    assert len(points) == len(board)
    [front] = [t for t in data if t["marker"]["colorbar"]["title"]["text"] == "Best Trial"]
    assert sorted(front["marker"]["color"]) == sorted(t.number for t in multi_study.best_trials)


def test_multi_objective_history_still_draws_the_best_score_so_far(
    multi_report: Report,
) -> None:
    text, board = multi_report
    [(data, _)] = _figures(_section(text, "history"))
    best = _trace(data, "Best Value")["y"]
    assert best == sorted(best, reverse=True)
    assert best[-1] == pytest.approx(board.score.min())
    [(bars, _)] = _figures(_section(text, "importances"))
    assert sorted(bars[0]["y"]) == ["family", "learning_rate", "x"]  # of the score


def test_one_completed_trial_explains_missing_importances(tmp_path: Path) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial({"family": "mlp", "x": 0.5, "learning_rate": 0.01})
    study.optimize(_single, n_trials=1)
    board = _leaderboard(study)
    out = write_report(study, board, _chosen(board.loc[[0, 0]]), tmp_path / "one.html")
    text = out.read_text(encoding="utf-8")
    assert "need at least 2 completed trials to compare; this run completed 1." in text
    assert len(_figures(text)) == 1  # the history only


def _one_parameter(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    trial.set_user_attr("family", "linear")
    trial.set_user_attr("fit_s", 0.1)
    trial.set_user_attr("predict_ms", 0.01)
    return float((x - 1.0) ** 2)


def test_a_single_parameter_is_not_ranked_against_nothing(tmp_path: Path) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    study.optimize(_one_parameter, n_trials=6)
    text, _ = _report(study, tmp_path)
    importances = _section(text, "importances")
    assert "Only one parameter, x, was searched in every completed trial" in importances
    assert _figures(importances) == []


def test_equal_scores_explain_why_nothing_is_ranked(tmp_path: Path) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(lambda trial: 0.0 * _single(trial) + 0.5, n_trials=6, catch=(ValueError,))
    text, _ = _report(study, tmp_path)
    assert "Every completed trial scored the same" in _section(text, "importances")
    assert len(_figures(text)) == 1


def test_a_run_without_completed_trials_has_no_charts_and_no_plotly(tmp_path: Path) -> None:
    study = optuna.create_study()
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    study.tell(study.ask(), state=optuna.trial.TrialState.PRUNED)
    board = pd.DataFrame(columns=list(LEADERBOARD_COLUMNS))
    chosen = {"metric": "rmsle", "direction": "minimize", "members": [], "why": "nothing ran"}
    text = render_report(study, board, chosen)
    assert "No trial completed, so there is no history to draw." in text
    assert "this run completed 0." in text
    assert "No model was chosen." in text
    assert "Plotly" not in text and "<script" not in text


def test_write_is_atomic_and_overwrites(single_study: optuna.Study, tmp_path: Path) -> None:
    board = _leaderboard(single_study)
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")
    out = write_report(single_study, board, _chosen(board), str(path), title="Run <7>")
    assert out == path
    assert "<title>Run &lt;7&gt;</title>" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_bad_inputs_name_what_is_wrong(single_study: optuna.Study, tmp_path: Path) -> None:
    board = _leaderboard(single_study)
    with pytest.raises(SchemaError, match=r"\['params'\] are missing"):
        write_report(single_study, board.drop(columns="params"), _chosen(board), tmp_path / "a")
    with pytest.raises(DataError, match="'minimize' or 'maximize'"):
        write_report(single_study, board, {**_chosen(board), "direction": "up"}, tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


def test_importance_error_becomes_a_sentence(
    single_study: optuna.Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> dict[str, float]:
        raise RuntimeError("dynamic <search> space")

    monkeypatch.setattr(optuna.importance, "get_param_importances", fail)
    text, _ = _report(single_study, tmp_path)
    expected = "could not be estimated (RuntimeError: dynamic &lt;search&gt; space)"
    assert expected in _section(text, "importances")
    assert len(_figures(_section(text, "history"))) == 1


_CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(
    not _CHROMIUM.exists(),
    reason="no /usr/bin/chromium: install Debian's chromium (tools/install_browser.sh)",
)
def test_report_draws_its_charts_in_an_offline_browser(
    multi_study: optuna.Study, multi_report: Report, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    text, board = multi_report
    path = tmp_path / "report.html"
    path.write_text(text, encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(_CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_context(offline=True).new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        drawn = "document.querySelectorAll('.plotly-graph-div .main-svg').length"
        page.wait_for_function(f"{drawn} >= 6", timeout=30_000)  # 2 layers a chart
        charts = page.evaluate(
            "[...document.querySelectorAll('.plotly-graph-div')].map(d => ["
            "d.closest('section').id, d.querySelector('.gtitle').textContent,"
            "d.querySelectorAll('.scatterlayer .point').length])"
        )
        browser.close()
    assert requests == [path.as_uri()] and errors == []
    assert [(section, points) for section, _, points in charts] == [
        ("history", len(board)),  # one point a completed trial; the best line has none
        ("importances", 0),
        ("pareto", len(board)),
    ]
    assert charts[2][1] == "rmsle against predict latency; the Pareto-optimal trials in red"
