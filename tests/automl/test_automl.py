"""AutoML on real fixture tables: quality, the chosen ensemble, resumable studies, tracking."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from furima.automl import AutoML


def split(table: pd.DataFrame, share: float = 0.25) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = int(len(table) * (1 - share))
    return table.iloc[:cut].reset_index(drop=True), table.iloc[cut:].reset_index(drop=True)


def test_spam_text_gets_a_strong_classifier_and_a_leaderboard(spam: pd.DataFrame) -> None:
    train, test = split(spam)
    result = AutoML("binary", "auprc", budget_s=10, max_trials=6, seed=0).fit(
        train[["text"]], train["label"].to_numpy()
    )
    truth = (test["label"] == "spam").to_numpy()
    proba = result.predict_proba(test[["text"]])
    assert proba.shape == (len(test),)
    assert average_precision_score(truth, proba) > 0.9
    assert result.score(test[["text"]], test["label"]) == pytest.approx(
        average_precision_score(truth, proba)
    )
    assert set(result.predict(test[["text"]])) <= {"ham", "spam"}
    board = result.leaderboard
    assert list(board.columns) == [
        "rank",
        "trial",
        "family",
        "score",
        "fit_s",
        "predict_ms",
        "params",
    ]
    assert board["score"].is_monotonic_decreasing  # auprc: higher is better, best first
    assert {"linear", "lightgbm"} <= set(board["family"])  # the two seeded starting points
    assert result.best_score >= board["score"].iloc[0]  # the ensemble never loses on validation
    assert abs(sum(m.weight for m in result.members) - 1.0) < 1e-9


def test_prices_by_rmsle_beat_the_median(myntra: pd.DataFrame) -> None:
    train, test = split(myntra)
    columns = ["name", "brand", "gender", "description", "primary_color"]
    # a fixed number of seeded trials, not a clock: the same trials on any machine
    automl = AutoML(
        "regression", "rmsle", budget_s=60, max_trials=6, families=["linear", "lightgbm"], seed=0
    )
    result = automl.fit(train[columns], train["price"].to_numpy())
    predicted = result.predict(test[columns])
    assert (predicted >= 0).all()
    truth = test["price"].to_numpy(float)
    rmsle = float(np.sqrt(np.mean((np.log1p(predicted) - np.log1p(truth)) ** 2)))
    median = float(np.sqrt(np.mean((np.log1p(np.median(train["price"])) - np.log1p(truth)) ** 2)))
    assert rmsle < median  # 112 training listings: little to learn from, but something
    assert result.score(test[columns], truth) == pytest.approx(rmsle)


def test_fraud_with_a_time_ordered_holdout(cards: pd.DataFrame) -> None:
    families = ["lightgbm", "extra_trees"]
    automl = AutoML(
        "binary", "auprc", budget_s=10, max_trials=6, time_column="Time", families=families
    )
    result = automl.fit(cards.drop(columns=["Class"]), cards["Class"].to_numpy())
    assert result.chosen["rows"] == 2000
    assert result.columns == [c for c in cards.columns if c not in ("Class", "Time")]
    assert result.best_score > 0.5  # 80 frauds in 2,000 rows: far above the 0.04 base rate
    board = result.leaderboard
    assert set(board["family"].iloc[:2]) <= set(families)
    forests = board[board["family"] == "extra_trees"]
    assert not forests.empty  # seeded: all columns are numeric


def test_extra_trees_grow_in_reported_chunks_and_refit_to_the_same_size(
    cards: pd.DataFrame,
) -> None:
    from furima.automl._families import FAMILIES, FitData
    from furima.automl._metrics import metric_for

    X = cards.drop(columns=["Class", "Time"]).to_numpy()
    y = cards["Class"].to_numpy()
    reports: list[tuple[float, int]] = []
    data = FitData(
        "binary", metric_for("binary", "auprc"), X[:1500], y[:1500], X[1500:], y[1500:], 2, 0, 1
    )
    data.report = lambda score, step: reports.append((score, step))
    family = FAMILIES["extra_trees"]
    params = {"max_features": "sqrt", "min_samples_leaf": 1, "balanced": True}
    forest = family.fit(params, data)
    assert [step for _, step in reports] == list(range(1, 13))  # 25 trees a chunk, 300 in all
    assert all(0.3 < score <= 1.0 for score, _ in reports)
    assert forest.class_weight[1] > 10 * forest.class_weight[0]  # 4% frauds weigh ~24x more
    refit = FitData("binary", data.metric, X, y, None, y[1500:], 2, 0, 1)
    assert len(family.fit({**params, "trees": 100}, refit).estimators_) == 100
    data.report, data.deadline = None, time.monotonic()  # out of time: one chunk, no more
    assert family.fit(params, data).trees == 25


def test_ranking_next_purchases_beats_the_co_purchase_heuristic() -> None:
    from pathlib import Path

    from furima.automl._metrics import metric_for

    path = Path(__file__).resolve().parents[1] / "fixtures" / "beauty_next_item_6000.parquet"
    table = pd.read_parquet(path)
    held_out = table["user"].isin(table["user"].unique()[:75])
    train, test = table[~held_out], table[held_out].reset_index(drop=True)
    columns = ["user", "popularity", "follows_last", "follows_recent", "history_length"]
    result = AutoML("ranking", budget_s=10, max_trials=6, group_column="user", seed=0).fit(
        train[columns], train["relevance"].to_numpy()
    )
    assert result.metric.name == "ndcg@10"
    assert result.columns == columns[1:]  # the query column groups rows, it is no feature
    assert "lightgbm" in set(result.leaderboard["family"])  # seeded: LambdaRank
    ndcg = result.score(test[columns], test["relevance"])
    groups = pd.factorize(test["user"])[0]
    heuristic = test["follows_recent"] + 1e-3 * test["popularity"]  # co-purchases, then sales
    baseline = (
        metric_for("ranking", "ndcg@10")
        .for_groups(groups)
        .score(test["relevance"].to_numpy(), heuristic.to_numpy())
    )
    assert ndcg > baseline + 0.05  # 0.41 against 0.24 when written
    assert result.predict(test[columns]).shape == (len(test),)


def test_multiclass_from_titles(photo_titles: pd.DataFrame) -> None:
    train, test = split(photo_titles.sample(frac=1, random_state=0))
    result = AutoML("multiclass", budget_s=10, max_trials=4, families=["linear"]).fit(
        train[["title"]], train["article_type"].to_numpy()
    )
    proba = result.predict_proba(test[["title"]])
    assert proba.shape == (len(test), 8)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert (result.predict(test[["title"]]) == test["article_type"]).mean() > 0.7


@pytest.fixture(scope="session")
def photo_titles() -> pd.DataFrame:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "myntra_photos_240.parquet"
    return pd.read_parquet(path, columns=["title", "article_type"])


def test_two_objectives_give_a_pareto_front_and_a_report(
    spam: pd.DataFrame, tmp_path: object
) -> None:
    from pathlib import Path

    result = AutoML(
        "binary",
        "auprc",
        budget_s=10,
        max_trials=8,
        objectives=("score", "latency"),
        families=["linear"],
    ).fit(spam[["text"]], spam["label"].to_numpy())
    assert len(result.study.directions) == 2
    assert type(result.study.sampler).__name__ == "NSGAIISampler"
    report = result.report(Path(str(tmp_path)) / "report.html")
    html = report.read_text()
    assert "Pareto front" in html and result.chosen["why"].split(" ")[0] in html


def test_a_trial_without_time_to_featurise_is_stopped_before_it_starts(spam: pd.DataFrame) -> None:
    import optuna

    from furima.automl._features import FeatureOptions, checked_columns
    from furima.automl._metrics import metric_for
    from furima.automl._objective import Objective, Prepared

    X, kinds, _ = checked_columns(spam[["text"]])
    y = (spam["label"] == "spam").to_numpy(dtype=int)
    data = Prepared(
        "binary", metric_for("binary", "auprc"), kinds, X[:400], y[:400], X[400:], y[400:], 0, 0, 1
    )
    objective = Objective(data, ("linear",), multi_objective=False)
    objective.feature_seconds[FeatureOptions(text_features=1)] = 60.0  # one took a minute
    objective.deadline = time.monotonic() + 5
    sampler = optuna.samplers.RandomSampler(seed=0)  # an unseeded draw can land on C=1e-3
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=1)
    assert study.trials[0].state.name == "PRUNED"
    objective.deadline = float("inf")
    study.optimize(objective, n_trials=1)
    assert study.trials[1].state.name == "COMPLETE" and study.trials[1].value > 0.8


def card_objective(cards: pd.DataFrame, **options: Any) -> Any:
    """An objective over linear models on the real card fixture (1,500 train rows)."""
    from furima.automl._features import checked_columns
    from furima.automl._metrics import metric_for
    from furima.automl._objective import Objective, Prepared

    X, kinds, _ = checked_columns(cards.drop(columns=["Time", "Class"]))
    y = cards["Class"].to_numpy(dtype=int)
    auprc = metric_for("binary", "auprc")
    data = Prepared("binary", auprc, kinds, X[:1500], y[:1500], X[1500:], y[1500:], 0, 0, 1)
    return Objective(data, ("linear",), multi_objective=False, **options)


def linear_study(cs: tuple[float, ...]) -> Any:
    """A study that first tries linear models with these C values, in order."""
    import optuna

    study = optuna.create_study(direction="maximize")
    for c in cs:
        study.enqueue_trial({"family": "linear", "linear_C": c, "linear_balanced": False})
    return study


def test_a_trial_repeating_a_finished_ones_parameters_is_stopped_before_fitting(
    cards: pd.DataFrame,
) -> None:
    from furima.automl._report import _read_run

    objective = card_objective(cards)
    study = linear_study((1.0, 1.0, 0.1))
    study.optimize(objective, n_trials=3)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "PRUNED", "COMPLETE"]
    assert study.trials[1].user_attrs["repeat_of"] == 0
    assert "fit_s" not in study.trials[1].user_attrs  # nothing was trained for it
    assert sorted(objective.models) == [0, 2]
    assert _read_run(study, "auprc").repeats == 1  # the report says how many


def test_skipped_repeats_do_not_count_toward_the_trial_limit(cards: pd.DataFrame) -> None:
    from furima.automl._automl import _trial_limit

    study = linear_study((1.0, 1.0, 0.1, 0.01, 0.001))
    study.optimize(card_objective(cards), n_trials=10, callbacks=_trial_limit(3))
    tried = [t for t in study.trials if t.state.name != "WAITING"]
    assert [t.params["linear_C"] for t in tried] == [1.0, 1.0, 0.1, 0.01]
    assert [t.state.name for t in study.trials].count("COMPLETE") == 3
    # a sampler that only comes back to finished settings has spent the space: stop
    spent = linear_study((1.0,) * 6)
    spent.optimize(card_objective(cards), n_trials=10, callbacks=_trial_limit(3))
    assert [t.state.name for t in spent.trials][:5] == ["COMPLETE"] + ["PRUNED"] * 3 + ["WAITING"]


def test_a_worker_hands_its_best_models_over_on_disk(cards: pd.DataFrame, tmp_path: Any) -> None:
    from furima.automl._families import FAMILIES
    from furima.automl._objective import saved_model

    automl = AutoML("binary", "auprc", workdir=tmp_path, study_name="cards")
    outputs = automl._outputs_dir()
    worker = card_objective(cards, outputs=outputs, keep=2, save_models=True)
    study = linear_study((1e-3, 1.0, 0.1))
    study.optimize(worker, n_trials=3)
    kept = sorted(worker.models)
    dropped = ({0, 1, 2} - set(kept)).pop()
    assert study.trials[dropped].value < min(study.trials[n].value for n in kept)
    assert sorted(int(p.stem) for p in (outputs / "models").iterdir()) == kept  # nothing else
    assert saved_model(outputs, dropped) is None
    handed = saved_model(outputs, kept[0])
    assert handed is not None and handed.score == worker.models[kept[0]].score
    X_valid = worker.data.X_valid
    proba = FAMILIES["linear"].predict(handed.model, handed.featurizer.transform(X_valid), "binary")
    np.testing.assert_allclose(proba, worker.models[kept[0]].valid_output)
    # the main process holds none of the worker's models and has no time to refit: it uses
    # the one on disk, where before it had to leave the trial out
    main = card_objective(cards, outputs=outputs)
    member = automl._member(study.trials[kept[0]], 1.0, main, main.data, left_s=0.0)
    assert member is not None and member.model is not None and member.trial == kept[0]
    assert not member.refit  # as the worker trained it, on the training rows
    refit = automl._member(study.trials[dropped], 1.0, main, main.data, left_s=float("inf"))
    assert refit is not None and refit.refit and refit.trial == dropped
    assert automl._member(study.trials[dropped], 1.0, main, main.data, left_s=0.0) is None


def test_the_ensemble_chooses_from_the_best_trials_and_each_familys_best() -> None:
    from furima.automl._ensemble import candidate_positions

    ranked = ["linear"] * 6 + ["lightgbm", "mlp", "lightgbm", "lightgbm", "mlp", "mlp"]
    assert candidate_positions(ranked, 4) == [0, 1, 2, 3, 6, 7, 8, 10]
    assert candidate_positions(ranked, 4, per_family=0) == [0, 1, 2, 3]
    assert candidate_positions(ranked, 20) == list(range(len(ranked)))


def test_the_objective_keeps_each_familys_best_model(cards: pd.DataFrame) -> None:
    study = linear_study((1.0, 0.3, 0.1, 0.03))
    study.enqueue_trial({"family": "lightgbm"})  # kept as its family's best, whatever its rank
    objective = card_objective(cards, keep=2)
    objective.families = ("linear", "lightgbm")
    study.optimize(objective, n_trials=5)
    by_score = sorted(range(4), key=lambda n: -study.trials[n].value)
    assert sorted(objective.models) == sorted([*by_score[:2], 4])


def test_an_optuna_sampler_of_your_own_drives_the_search(spam: pd.DataFrame) -> None:
    import optuna

    class CountingSampler(optuna.samplers.RandomSampler):
        def __init__(self) -> None:
            super().__init__(seed=0)
            self.draws: list[str] = []

        def sample_independent(self, study: Any, trial: Any, name: str, space: Any) -> Any:
            self.draws.append(name)
            return super().sample_independent(study, trial, name, space)

    sampler = CountingSampler()
    result = AutoML(
        "binary", budget_s=10, max_trials=2, families=["linear"], sampler=sampler, warm_start=False
    ).fit(spam[["text"]], spam["label"].to_numpy())
    assert result.study.sampler is sampler
    assert len(result.study.trials) == 2
    assert sampler.draws.count("linear_C") == 2  # every trial's C came from it


def test_the_stated_reason_names_a_stand_in_for_a_best_trial_that_could_not_be_refit() -> None:
    from types import SimpleNamespace

    from furima.automl._automl import _why

    def trial(number: int, family: str, score: float) -> Any:
        return SimpleNamespace(number=number, values=[score], user_attrs={"family": family})

    def member(number: int, family: str) -> Any:
        return SimpleNamespace(trial=number, family=family)

    forest, boosting = trial(2, "extra_trees", 0.9196), trial(1, "lightgbm", 0.9135)
    alone = _why("auprc", 10, [(forest, 1.0)], forest, [member(2, "extra_trees")], 0.9196, 100)
    assert alone.startswith("The best trial (extra_trees, auprc 0.9196 on the 100 validation")
    assert "left out" not in alone
    # the best forest was trained in another process and could not be refit in time
    stand_in = _why(
        "auprc", 10, [(forest, 0.5), (boosting, 0.5)], forest, [member(1, "lightgbm")], 0.9135, 100
    )
    assert stand_in.startswith("Trial 1 (lightgbm, auprc 0.9135 on the 100 validation rows)")
    assert "in place of the best trial 2 (extra_trees, auprc 0.9196)" in stand_in
    assert stand_in.endswith(
        "Chosen but left out: trial 2 (extra_trees), trained in another process and too slow "
        "to refit in the time left."
    )
