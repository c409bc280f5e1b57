"""Credit tasks of ``benchmarks/risk.py``: German credit and credit_data, furima's scorecard and
its monotone LightGBM alternative against an optbinning scorecard and plain logistic regression.

Every model is fitted and scored on the same folds: repeated stratified 5-fold
cross-validation (``REPEATS`` repeats, fold assignment seeded by ``seed``). Models:

- ``furima``: ``CreditBlend`` with its defaults: the mean score of its two parts, which are
  also reported on their own (fitted once, inside the blend). One model, fixed in advance.
- ``furima_scorecard``: :class:`furima.risk.Scorecard` with its defaults (optbinning bins,
  monotone for numbers, 50 pre-bins; logistic penalty chosen by inner 5-fold CV (AUC) on
  the training folds; Platt calibration on cross-fitted scores of the training folds).
- ``furima_gbm``: ``CreditGBM`` with its defaults (monotone-constrained LightGBM, rounds by
  inner CV, Platt-calibrated).
- ``optbinning``: optbinning ``Scorecard`` with a default ``BinningProcess`` and a default
  ``LogisticRegression``.
- ``logistic``: scikit-learn ``LogisticRegression()`` (default C) on one-hot categories and
  standardised numbers (missing numbers take the training median plus a missing flag,
  missing categories their own level).

Metrics (one row each): ``auc``, ``ks`` and ``brier`` are means over the test folds; ``ece``
is the expected calibration error over 10 equal-count bins of the pooled out-of-fold
probabilities of default of one repeat (every applicant once), averaged over repeats;
``monotone_bins`` is the share of numeric features (over all fold models) whose regular
bins' event rates are monotone (scorecards; a blend counts its scorecard, the GBM is
monotone by constraint); ``ece_floor`` is the ECE the same pooled probabilities would show
if they were exactly right (outcomes drawn from them, 50 seeded draws), the chance level
that ``ece`` is read against on small sets;
``declined_with_reason`` is the share of test applicants with a probability of default above
the training folds' default rate that have at least one reason (furima's models).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ModelFactory",
    "credit_rows",
    "cross_validate",
    "default_models",
    "run_credit_data",
    "run_credit_german",
]

GERMAN_DATA = "credit/german_credit.parquet"
CREDIT_DATA = "credit/credit_data.parquet"
REPEATS = 3
FOLDS = 5
ECE_BINS = 10
METRICS = ("auc", "ks", "brier", "ece", "ece_floor")
FLOOR_DRAWS = 50

ModelFactory = Callable[["pd.DataFrame"], Any]
"""Fits on a training frame and returns an object whose ``score(frame)`` gives at least a
``probability_of_default`` column."""


def run_credit_german(data: Path, seed: int) -> list[dict[str, Any]]:
    """Rows for ``credit_german``: target ``creditability``, bad value ``"bad"``."""
    frame = _read(data, GERMAN_DATA)
    return credit_rows("credit_german", frame, "creditability", "bad", GERMAN_DATA, seed)


def run_credit_data(data: Path, seed: int) -> list[dict[str, Any]]:
    """Rows for ``credit_data``: target ``Status``, bad value ``"bad"`` (row names dropped)."""
    frame = _read(data, CREDIT_DATA).drop(columns="rownames", errors="ignore")
    return credit_rows("credit_data", frame, "Status", "bad", CREDIT_DATA, seed)


def _read(data: Path, name: str) -> pd.DataFrame:
    import pandas as pd

    path = data / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; pass --data pointing at the shared data")
    return pd.read_parquet(path)


def credit_rows(
    task: str,
    frame: pd.DataFrame,
    target: str,
    bad_value: object,
    data_name: str,
    seed: int,
    models: Mapping[str, ModelFactory] | None = None,
) -> list[dict[str, Any]]:
    """Cross-validate ``models`` (default: :func:`default_models`) and give one row per metric."""
    started = time.perf_counter()
    chosen = models or default_models(target, bad_value, seed)
    results = cross_validate(frame, target, bad_value, chosen, seed)
    seconds = round(time.perf_counter() - started, 1)
    common = {"data": data_name, "rows": len(frame), "seconds": seconds, "seed": seed}
    rows = []
    for metric in (*METRICS, "monotone_bins", "declined_with_reason"):
        values = {name: results[name].get(metric) for name in results}
        rows.append({"task": task, "metric": metric, **values, **common})
    return rows


def default_models(target: str, bad_value: object, seed: int) -> dict[str, ModelFactory]:
    """furima's blend (its scorecard and GBM are scored from it) and the two baselines."""
    from furima.risk._credit_gbm import CreditBlend

    return {
        "furima": lambda train: CreditBlend(target, bad_value=bad_value, seed=seed).fit(train),
        "optbinning": lambda train: _OptbinningDefault(target, bad_value).fit(train),
        "logistic": lambda train: _PlainLogistic(target, bad_value).fit(train),
    }


# ------------------------------------------------------------------------------ evaluation
def cross_validate(
    frame: pd.DataFrame,
    target: str,
    bad_value: object,
    models: Mapping[str, ModelFactory],
    seed: int,
    *,
    repeats: int = REPEATS,
) -> dict[str, dict[str, float]]:
    """Per model, the metrics of the module docstring over the same repeated folds; a
    fitted blend also reports its parts as ``<name>_scorecard`` and ``<name>_gbm``."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    bad = (frame[target] == bad_value).to_numpy().astype(int)
    splitter = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=repeats, random_state=seed)
    folds = list(splitter.split(np.zeros(len(bad)), bad))
    out: dict[str, dict[str, float]] = {}
    for name, factory in models.items():
        for part, (predictions, checks) in _fit_and_score(frame, bad, factory, folds).items():
            out[f"{name}{part}"] = checks | _metrics(bad, folds, predictions, repeats)
    return {name: {k: round(v, 4) for k, v in metrics.items()} for name, metrics in out.items()}


def _parts(model: Any) -> dict[str, Any]:
    """The model itself and, for a blend, its scorecard and GBM (suffixes of the name)."""
    if hasattr(model, "scorecard_") and hasattr(model, "gbm_"):
        return {"": model, "_scorecard": model.scorecard_, "_gbm": model.gbm_}
    return {"": model}


def _fit_and_score(
    frame: pd.DataFrame,
    bad: np.ndarray,
    factory: ModelFactory,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> dict[str, tuple[list[np.ndarray], dict[str, float]]]:
    """Per part of the model: each test fold's probabilities of default, and the
    monotone-bins and reason checks."""
    predictions: dict[str, list[np.ndarray]] = {}
    monotone: dict[str, list[bool]] = {}
    with_reason: dict[str, list[bool]] = {}
    for train, test in folds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = factory(frame.iloc[train])
            for part, model in _parts(fitted).items():
                scored = model.score(frame.iloc[test])
                probability = scored["probability_of_default"].to_numpy(dtype=float)
                predictions.setdefault(part, []).append(probability)
                if "reasons" in scored.columns:
                    declined = probability > bad[train].mean()
                    reasons = [len(r) >= 1 for r in scored["reasons"][declined]]
                    with_reason.setdefault(part, []).extend(reasons)
                monotone.setdefault(part, []).extend(_monotone_flags(model))
    out = {}
    for part, fold_predictions in predictions.items():
        checks = {}
        if monotone[part]:
            checks["monotone_bins"] = float(np.mean(monotone[part]))
        if with_reason.get(part):
            checks["declined_with_reason"] = float(np.mean(with_reason[part]))
        out[part] = (fold_predictions, checks)
    return out


def _metrics(
    bad: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    predictions: list[np.ndarray],
    repeats: int,
) -> dict[str, float]:
    from furima.risk._calibration import expected_calibration_error

    pooled = np.zeros((repeats, len(bad)))
    per_fold = []
    for number, ((_, test), probability) in enumerate(zip(folds, predictions, strict=True)):
        pooled[number // FOLDS, test] = probability
        per_fold.append(_fold_metrics(bad[test], probability))
    result = {m: float(np.mean([f[m] for f in per_fold])) for m in ("auc", "ks", "brier")}
    ece = [expected_calibration_error(p, bad, bins=ECE_BINS) for p in pooled]
    result["ece"] = float(np.mean(ece))
    result["ece_floor"] = _ece_floor(pooled)
    return result


def _ece_floor(pooled: np.ndarray) -> float:
    """Mean ECE of ``pooled`` probabilities against outcomes drawn from them."""
    from furima.risk._calibration import expected_calibration_error

    rng = np.random.default_rng(0)
    draws = [
        expected_calibration_error(p, (rng.random(len(p)) < p).astype(int), bins=ECE_BINS)
        for p in pooled
        for _ in range(FLOOR_DRAWS // len(pooled) + 1)
    ]
    return float(np.mean(draws))


def _fold_metrics(bad: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(bad, probability)
    return {
        "auc": float(roc_auc_score(bad, probability)),
        "ks": float(np.max(tpr - fpr)),
        "brier": float(brier_score_loss(bad, probability)),
    }


def _monotone_flags(model: Any) -> list[bool]:
    """Per numeric feature of a scorecard (a blend's own): are its bins' event rates monotone?"""
    model = getattr(model, "scorecard_", model)
    if not hasattr(model, "binning_table") or not hasattr(model, "categorical_"):
        return []
    flags = []
    for feature in model.features_:
        if feature in model.categorical_:
            continue
        table = model.binning_table(feature).drop(index="Totals", errors="ignore")
        regular = table[~table["Bin"].astype(str).isin(["Special", "Missing"])]
        steps = np.diff(regular["Event rate"].to_numpy(dtype=float))
        flags.append(bool((steps >= 0).all() or (steps <= 0).all()))
    return flags


# ------------------------------------------------------------------------------- baselines
class _Baseline:
    """Fits on a frame with the target; ``score`` gives ``probability_of_default``."""

    def __init__(self, target: str, bad_value: object) -> None:
        self.target = target
        self.bad_value = bad_value

    def fit(self, frame: pd.DataFrame) -> _Baseline:
        features = frame.drop(columns=self.target)
        self.features_ = list(features.columns)
        self.categorical_ = [c for c in self.features_ if features[c].dtype.kind not in "biuf"]
        self.model_ = self._model().fit(features, (frame[self.target] == self.bad_value))
        return self

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        probability = self.model_.predict_proba(frame[self.features_])[:, 1]
        return pd.DataFrame({"probability_of_default": probability}, index=frame.index)

    def _model(self) -> Any:
        raise NotImplementedError


class _OptbinningDefault(_Baseline):
    """optbinning's Scorecard: default BinningProcess, default LogisticRegression."""

    def _model(self) -> Any:
        from optbinning import BinningProcess
        from optbinning import Scorecard as OptbinningScorecard
        from sklearn.linear_model import LogisticRegression

        process = BinningProcess(self.features_, categorical_variables=self.categorical_)
        return OptbinningScorecard(binning_process=process, estimator=LogisticRegression())

    def binning_table(self, feature: str) -> pd.DataFrame:
        """The feature's binning table (for the ``monotone_bins`` check)."""
        binned = self.model_.binning_process_.get_binned_variable(feature)
        table: pd.DataFrame = binned.binning_table.build()
        return table


class _PlainLogistic(_Baseline):
    """Default LogisticRegression on one-hot categories and standardised numbers."""

    def _model(self) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        numeric = [c for c in self.features_ if c not in self.categorical_]
        categories = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore"),
        )
        numbers = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        )
        columns = ColumnTransformer(
            [("categories", categories, self.categorical_), ("numbers", numbers, numeric)]
        )
        return make_pipeline(columns, LogisticRegression())
