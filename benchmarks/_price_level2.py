"""The level-2 case: furima's price blend against the AutoML engine on the same level-1 evidence.

The issue asks to compare the level-2 learner (:class:`furima.pricing._stacker.Stacker`) with
what :class:`furima.automl.AutoML` finds at the same budget. Per dataset (the holdout cases'
80/20 split), the PriceSuggester is fitted once, unchanged: a subclass only keeps the level-1
out-of-fold evidence that ``fit`` hands to the Stacker and the moment it does, so the Stacker's
own fit time is measured in the run. Then, on the test rows:

- ``furima_level2``: the suggester's own predictions (its Stacker's point estimate);
- ``automl_equal``: AutoML (``regression``, ``rmse`` on ``log1p(price)``) fitted on the same
  out-of-fold evidence with a budget of ``max(10 s, the Stacker's fit time)`` (AutoML's
  minimum), predicting from the test rows' level-1 evidence (the refitted members' output, as
  the suggester's Stacker sees it);
- ``automl_long``: the same with a fixed, longer budget;
- ``automl_trees_equal``: the equal budget, searching tree families only. The members are
  refitted on all training rows before they price the test rows, so some evidence columns (key
  counts, neighbour similarities) sit slightly outside the out-of-fold range; a linear model or
  a network extrapolates that shift, trees do not (the Stacker's own linear blend reads only
  the price estimates for that reason).

All three are scored in RMSLE on the same test rows; the row names the best.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from _price_selling import PricedData

    from furima._progress import Tracker
    from furima.pricing import PriceSuggester

__all__ = ["LEVEL2_DATASETS", "LONG_BUDGET_S", "level2_case"]

LEVEL2_DATASETS = ("flipkart_selling_price", "myntra_catalog")
LONG_BUDGET_S = 60.0
# Families that cannot extrapolate: the refitted members' counts and similarities sit a little
# outside the out-of-fold range the level-2 model learned from.
TREE_FAMILIES = ("lightgbm", "extra_trees")


@dataclass(frozen=True)
class LevelOne:
    """What the Stacker of a fitted suggester learned from, and what it predicts from."""

    train_evidence: np.ndarray
    train_log_price: np.ndarray
    test_evidence: np.ndarray
    names: list[str]
    stacker_fit_s: float


def level2_case(
    dataset: PricedData, seed: int, *, long_budget_s: float = LONG_BUDGET_S
) -> dict[str, Any]:
    """One JSON row: test RMSLE of furima's level 2 and of AutoML on the same evidence."""
    from sklearn.model_selection import train_test_split

    from furima.pricing import rmsle

    started = time.perf_counter()
    train_rows, test_rows = train_test_split(
        np.arange(len(dataset.furima)), test_size=0.2, random_state=seed
    )
    train, test = dataset.take(train_rows).furima, dataset.take(test_rows).furima
    fit_started = time.perf_counter()
    model = _evidence_keeping(seed).fit(train)
    fit_s = time.perf_counter() - fit_started
    level_one = _level_one(model, test)
    truth = test["price"].to_numpy(np.float64)
    furima = rmsle(truth, model.predict(test))
    equal_budget = max(10.0, level_one.stacker_fit_s)
    equal = _automl(level_one, equal_budget, seed, truth)
    long = _automl(level_one, long_budget_s, seed, truth)
    trees = _automl(level_one, equal_budget, seed, truth, families=TREE_FAMILIES)
    scores = {
        "furima_level2": furima,
        "automl_equal": equal["rmsle"],
        "automl_long": long["rmsle"],
        "automl_trees_equal": trees["rmsle"],
    }
    return {
        "benchmark": "price",
        "case": "level2",
        "dataset": dataset.name,
        "metric": "rmsle",
        **{name: round(value, 4) for name, value in scores.items()},
        "best": min(scores, key=lambda name: scores[name]),
        "furima_point_model": model.stacker_.point_model_,
        "furima_linear_weight": model.stacker_.linear_weight_,
        "stacker_fit_s": round(level_one.stacker_fit_s, 2),
        "suggester_fit_s": round(fit_s, 2),
        "automl_equal_budget_s": round(equal_budget, 2),
        **{f"automl_equal_{k}": v for k, v in equal.items() if k != "rmsle"},
        "automl_long_budget_s": long_budget_s,
        **{f"automl_long_{k}": v for k, v in long.items() if k != "rmsle"},
        **{f"automl_trees_equal_{k}": v for k, v in trees.items() if k != "rmsle"},
        "level1_columns": len(level_one.names),
        "rows": len(dataset.furima),
        "train_rows": len(train),
        "test_rows": len(test),
        "seconds": round(time.perf_counter() - started, 1),
        "seed": seed,
    }


def _evidence_keeping(seed: int) -> PriceSuggester:
    """A PriceSuggester whose fit is the product's, which also keeps the out-of-fold level-1
    evidence and the time it was ready (the Stacker fit starts right after)."""
    from furima.pricing import PriceSuggester

    class EvidenceKeeping(PriceSuggester):
        def _level_one(
            self, listings: pd.DataFrame, log_price: np.ndarray, track: Tracker
        ) -> tuple[np.ndarray, np.ndarray]:
            rows, evidence = super()._level_one(listings, log_price, track)
            self.kept_evidence_ = evidence
            self.kept_log_price_ = log_price[rows]
            self.evidence_ready_ = time.perf_counter()
            return rows, evidence

        def fit(self, *args: Any, **kwargs: Any) -> EvidenceKeeping:
            super().fit(*args, **kwargs)
            # Includes the few milliseconds fit spends on its metrics after the Stacker.
            self.stacker_fit_s_ = time.perf_counter() - self.evidence_ready_
            return self

    return EvidenceKeeping(random_state=seed)


def _level_one(model: Any, test: pd.DataFrame) -> LevelOne:
    """The fitted suggester's level-1 matrices, checked against its own predictions."""
    listings, _ = model._prediction_data(test)
    test_evidence, _ = model._evidence(listings)
    if not np.allclose(model.stacker_.predict(test_evidence)[0], model.predict_log(test)[0]):
        raise RuntimeError("The test rows' level-1 evidence does not reproduce the suggester.")
    names = [name for member in model.members_ for name in member.feature_names]
    return LevelOne(
        train_evidence=model.kept_evidence_,
        train_log_price=model.kept_log_price_,
        test_evidence=test_evidence,
        names=names,
        stacker_fit_s=model.stacker_fit_s_,
    )


def _automl(
    level_one: LevelOne,
    budget_s: float,
    seed: int,
    truth: np.ndarray,
    families: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """AutoML on the out-of-fold evidence (log-price target), scored on the test rows."""
    from furima.automl import AutoML
    from furima.pricing import rmsle

    started = time.perf_counter()
    result = AutoML(
        task="regression", metric="rmse", budget_s=budget_s, families=families, seed=seed
    ).fit(_table(level_one.train_evidence, level_one.names), level_one.train_log_price)
    seconds = time.perf_counter() - started
    log_point = result.predict(_table(level_one.test_evidence, level_one.names))
    return {
        "rmsle": rmsle(truth, np.expm1(np.asarray(log_point, dtype=np.float64))),
        "seconds": round(seconds, 1),
        "trials": result.trials,
        "families": sorted({member.family for member in result.members}),
        "validation_rmse": round(result.best_score, 4),
    }


def _table(evidence: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The evidence as AutoML's table, with names any model family accepts."""
    import pandas as pd

    columns = [
        f"z{i}_" + "".join(c if c.isalnum() else "_" for c in n) for i, n in enumerate(names)
    ]
    return pd.DataFrame(evidence, columns=columns)
