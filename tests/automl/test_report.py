"""The AutoML HTML report: sections, values, escaping, self-containment, atomic writes."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

from furima.automl._report import write_report
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


def _report(study: optuna.Study, tmp_path: Path) -> tuple[str, pd.DataFrame]:
    board = _leaderboard(study)
    out = write_report(study, board, _chosen(board), tmp_path / "deep" / "report.html")
    return out.read_text(encoding="utf-8"), board


def test_single_objective_report_has_every_section_and_values(
    single_study: optuna.Study, tmp_path: Path
) -> None:
    text, board = _report(single_study, tmp_path)
    for heading in _HEADINGS:
        assert f"<h2>{heading}</h2>" in text
    assert "Pareto front" not in text
    assert text.count("<svg") == 2  # history and importances
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


def test_why_text_is_escaped(single_study: optuna.Study, tmp_path: Path) -> None:
    text, _ = _report(single_study, tmp_path)
    assert html.escape(_WHY) in text
    assert _WHY not in text


def test_report_is_self_contained(multi_study: optuna.Study, tmp_path: Path) -> None:
    text, _ = _report(multi_study, tmp_path)
    assert not re.search(r"https?://", text)
    assert "<script" not in text
    assert "<link" not in text


def test_multi_objective_report_draws_the_pareto_front(
    multi_study: optuna.Study, tmp_path: Path
) -> None:
    text, board = _report(multi_study, tmp_path)
    for heading in (*_HEADINGS, "Pareto front"):
        assert f"<h2>{heading}</h2>" in text
    assert text.count("<svg") == 3
    pareto = text.split('<section id="pareto">')[1]
    assert pareto.count('stroke="#d62728"') == len(multi_study.best_trials)
    assert '<path class="front"' in pareto
    assert pareto.count("<circle") == len(board)


def test_history_step_line_tracks_the_best_so_far(
    single_study: optuna.Study, tmp_path: Path
) -> None:
    text, _ = _report(single_study, tmp_path)
    history = text.split('<section id="history">')[1].split("</section>")[0]
    path = re.search(r'<path class="best" d="([^"]+)"', history)
    assert path is not None
    ys = [float(v) for v in re.findall(r"V([\d.]+)", path.group(1))]
    assert ys == sorted(ys)  # SVG y grows downwards: the best-so-far line never rises


def test_one_completed_trial_explains_missing_importances(tmp_path: Path) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial({"family": "mlp", "x": 0.5, "learning_rate": 0.01})
    study.optimize(_single, n_trials=1)
    board = _leaderboard(study)
    out = write_report(study, board, _chosen(board.loc[[0, 0]]), tmp_path / "one.html")
    text = out.read_text(encoding="utf-8")
    assert "need at least 2 completed trials to compare; this run completed 1." in text
    assert text.count("<svg") == 1  # the history only


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
    assert "could not be estimated (RuntimeError: dynamic &lt;search&gt; space)" in text
    assert "Optimisation history" in text
