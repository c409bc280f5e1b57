"""Reading finished Optuna trials: their score, the completed ones best first, the
leaderboard, and the feature options a trial tried. Shared by the search (the progress bar
shows the best score) and the final choice."""

from __future__ import annotations

from typing import Any

import pandas as pd

from furima.automl._metrics import Metric

__all__ = ["best_value", "feature_options", "leaderboard", "ranked", "trial_score"]


def trial_score(trial: Any) -> float:
    return float(trial.values[0])


def ranked(study: Any, metric: Metric) -> list[Any]:
    complete = [t for t in study.trials if t.state.name == "COMPLETE" and t.values]
    return sorted(complete, key=trial_score, reverse=metric.direction == "maximize")


def best_value(study: Any, metric: Metric) -> float | None:
    trials = ranked(study, metric)
    return trial_score(trials[0]) if trials else None


def leaderboard(trials: list[Any]) -> pd.DataFrame:
    rows = [
        {
            "rank": rank,
            "trial": t.number,
            "family": t.user_attrs.get("family", t.params.get("family")),
            "score": trial_score(t),
            "fit_s": t.user_attrs.get("fit_s"),
            "predict_ms": t.user_attrs.get("predict_ms"),
            "params": dict(t.params),
        }
        for rank, t in enumerate(trials, start=1)
    ]
    return pd.DataFrame(rows)


def feature_options(trial: Any) -> Any:
    from furima.automl._features import FeatureOptions

    names = ("text_features", "word_ngrams", "char_ngrams", "min_category_count")
    return FeatureOptions(**{n: trial.params[n] for n in names if n in trial.params})
