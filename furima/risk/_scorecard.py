"""A points scorecard for credit: optbinning's monotone optimal binning, WoE, logistic points.

Why a scorecard: a regulator and an applicant can read it. Each feature is cut into bins by
``optbinning`` (monotone in risk where asked), each bin gets a weight of evidence, a logistic
regression on those weights gives the log-odds, and the log-odds are scaled to points: the
score is ``base_score`` at odds ``base_odds`` (good:bad) and ``pdo`` points double the odds.
The probability of default follows from the score through the same scaling, so the two never
disagree; the log-odds are Platt-calibrated on cross-fitted out-of-fold scores of the training
rows, folded into the points (every bin's points times a slope, plus intercept points).
Reasons name the features whose bins sit furthest below their best bin. A missing value (or
a category not seen in training) falls in optbinning's Missing bin, is scored, and is always
stated as a reason.

    card = Scorecard(target="creditability", bad_value="bad").fit(frame)
    card.score(applicants)  # score, probability_of_default, reasons
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, NotFittedError, SchemaError
from furima.risk._calibration import PlattScaling, cross_fitted_log_odds, fit_platt
from furima.risk._reasons import (
    FeaturePoints,
    categorical_bin_label,
    check_score_columns,
    default_probability,
    numeric_bin_labels,
    scored_frame,
    scores_and_gaps,
)

if TYPE_CHECKING:
    import pandas as pd

    from furima.risk._points import LoadedScorecard

__all__ = ["Scorecard", "check_credit_features", "check_credit_target"]

INNER_FOLDS = 5
REGULARIZATION_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
"""Inverse penalties tried by the inner cross-validation when ``regularization`` is None."""
TRENDS: tuple[str, ...] = (
    *("auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "convex"),
    *("concave", "peak", "valley", "peak_heuristic", "valley_heuristic"),
)


class Scorecard:
    """Credit scorecard in points with reason codes (scikit-learn style: ``fit`` returns self).

    Args:
        target: The column holding the outcome.
        bad_value: The target value that means default ("bad"); every other value is good.
            The target must hold exactly two values.
        features: The columns to score on; ``None`` takes every column but the target.
        categorical: Columns to bin as categories even if numeric; text columns always are.
        monotonic: optbinning's ``monotonic_trend`` for numeric features: one trend for all,
            or a mapping feature -> trend (the unnamed ones get ``"auto_asc_desc"``).
        pdo: Points to double the odds.
        base_score: The score at odds ``base_odds``.
        base_odds: Good:bad odds at ``base_score``.
        max_reasons: At most this many point-gap reasons per applicant (missing fields and
            categories not seen in training are stated on top of them).
        regularization: The logistic regression's inverse penalty ``C``; ``None`` chooses it
            by stratified 5-fold cross-validation (AUC) inside the training rows.
        min_bin_size: optbinning's least share of rows in a bin (``None``: its default).
        max_n_prebins: optbinning's number of pre-bins the optimal bins are merged from; more
            than its default of 20, so monotone bins can place their cuts more finely.
        min_prebin_size: optbinning's least share of rows in a pre-bin.
        calibrate: Platt-scale the log-odds on cross-fitted out-of-fold log-odds of the
            training rows, folded into the points (see :mod:`furima.risk._calibration`), so
            the probability of default matches observed default rates.
        seed: Seed of the logistic regression and of the inner folds.
    """

    def __init__(
        self,
        target: str = "default",
        *,
        bad_value: object = 1,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
        monotonic: str | Mapping[str, str] = "auto_asc_desc",
        pdo: float = 20.0,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        max_reasons: int = 4,
        regularization: float | None = None,
        min_bin_size: float | None = None,
        max_n_prebins: int = 50,
        min_prebin_size: float = 0.02,
        calibrate: bool = True,
        seed: int = 0,
    ) -> None:
        self.target = target
        self.bad_value = bad_value
        self.features = features
        self.categorical = categorical
        self.monotonic = monotonic
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.max_reasons = max_reasons
        self.regularization = regularization
        self.min_bin_size = min_bin_size
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.calibrate = calibrate
        self.seed = seed

    # ----------------------------------------------------------------------------- fitting
    def fit(self, frame: pd.DataFrame) -> Scorecard:
        """Bin every feature, fit the logistic regression on WoE and scale it to points."""
        self._check_settings()
        features = self._check_features(frame)
        y = self._check_target(frame)
        categorical = self._categorical_features(frame, features)
        self._model_ = self._optbinning_scorecard(features, categorical)
        self._model_.fit(frame[features], y)
        self.features_ = features
        self.categorical_ = categorical
        self.calibration_ = self._calibration(frame[features], y)
        self.points_ = self._feature_points()
        return self

    def _check_settings(self) -> None:
        if self.regularization is not None and not self.regularization > 0:
            raise DataError(
                f"`regularization` must be positive or None, but got {self.regularization}."
            )
        if self.pdo <= 0 or self.base_odds <= 0:
            raise DataError(
                f"`pdo` and `base_odds` must be positive, but got (pdo={self.pdo}, "
                f"base_odds={self.base_odds})."
            )
        trends = (
            self.monotonic.values() if isinstance(self.monotonic, Mapping) else [self.monotonic]
        )
        wrong = sorted({trend for trend in trends if trend not in TRENDS})
        if wrong:
            raise DataError(f"unknown monotonic trend(s) {wrong}; use one of {list(TRENDS)}.")

    def _check_features(self, frame: pd.DataFrame) -> list[str]:
        named = list(self.categorical)
        if isinstance(self.monotonic, Mapping):
            named += list(self.monotonic)
        return check_credit_features(frame, self.target, self.features, named)

    def _check_target(self, frame: pd.DataFrame) -> np.ndarray:
        return check_credit_target(frame, self.target, self.bad_value)

    def _categorical_features(self, frame: pd.DataFrame, features: list[str]) -> list[str]:
        from pandas.api.types import is_numeric_dtype

        return [
            f for f in features if f in self.categorical or not is_numeric_dtype(frame[f].dtype)
        ]

    def _trend(self, feature: str) -> str:
        if isinstance(self.monotonic, Mapping):
            return self.monotonic.get(feature, "auto_asc_desc")
        return self.monotonic

    def _optbinning_scorecard(self, features: list[str], categorical: list[str]) -> Any:
        from optbinning import BinningProcess
        from optbinning import Scorecard as OptbinningScorecard

        fit_params = {f: self._binning_params(f) for f in features}
        process = BinningProcess(
            features, categorical_variables=categorical, binning_fit_params=fit_params
        )
        return OptbinningScorecard(
            binning_process=process,
            estimator=self._estimator(),
            scaling_method="pdo_odds",
            scaling_method_params={
                "pdo": self.pdo,
                "odds": self.base_odds,
                "scorecard_points": self.base_score,
            },
        )

    def _binning_params(self, feature: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "monotonic_trend": self._trend(feature),
            "max_n_prebins": self.max_n_prebins,
            "min_prebin_size": self.min_prebin_size,
        }
        if self.min_bin_size is not None:
            params["min_bin_size"] = self.min_bin_size
        return params

    def _estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold

        if self.regularization is not None:
            return LogisticRegression(C=self.regularization, max_iter=1000, random_state=self.seed)
        folds = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=self.seed)
        return LogisticRegressionCV(
            Cs=REGULARIZATION_GRID, cv=folds, scoring="roc_auc", l1_ratios=(0.0,),
            use_legacy_attributes=False, max_iter=1000, random_state=self.seed,
        )  # fmt: skip

    def _calibration(self, x: pd.DataFrame, y: np.ndarray) -> PlattScaling:
        """Platt scaling fitted on cross-fitted log-odds (bins fixed, regression refitted)."""
        if not self.calibrate:
            return PlattScaling()
        from sklearn.base import clone

        woe = self._model_.binning_process_.transform(
            x, metric="woe", metric_special=0, metric_missing=0
        ).to_numpy(dtype=float)
        estimator = self._model_.estimator_
        if hasattr(estimator, "C_"):  # LogisticRegressionCV: refit with its chosen C
            from sklearn.linear_model import LogisticRegression

            estimator = LogisticRegression(C=float(np.ravel(estimator.C_)[0]), max_iter=1000)

        def fit_log_odds(train: np.ndarray, bad: np.ndarray, held_out: np.ndarray) -> np.ndarray:
            model = clone(estimator).fit(woe[train], bad)
            return np.asarray(model.decision_function(woe[held_out]), dtype=float)

        log_odds = cross_fitted_log_odds(fit_log_odds, y, folds=INNER_FOLDS, seed=self.seed)
        return fit_platt(log_odds, y)

    def _points_table(self, style: str) -> pd.DataFrame:
        """optbinning's scorecard table with every bin's points calibrated."""
        table: pd.DataFrame = self._model_.table(style=style).copy()
        table["Points"] = table["Points"].astype(float) * self.calibration_.slope
        return table

    @property
    def intercept_(self) -> float:
        """Points every applicant gets on top of their bins' points (calibration's shift)."""
        self._check_fitted()
        _, intercept = self.calibration_.rescale_points(
            np.zeros(0), float(self._model_.intercept_), pdo=self.pdo,
            base_score=self.base_score, base_odds=self.base_odds,
        )  # fmt: skip
        return float(intercept)

    def _feature_points(self) -> dict[str, FeaturePoints]:
        table = self._points_table("detailed")
        out: dict[str, FeaturePoints] = {}
        for feature in self.features_:
            rows = table[table["Variable"] == feature]
            labels = self._bin_labels(feature, rows["Bin"].tolist())
            points = rows["Points"].to_numpy(dtype=float)
            seen = rows["Count"].to_numpy() > 0
            best = int(np.flatnonzero(seen)[np.argmax(points[seen])])
            out[feature] = FeaturePoints(feature, labels, points, points[best], labels[best])
        return out

    def _bin_labels(self, feature: str, bins: list[Any]) -> tuple[str, ...]:
        tail = ["a special value", "missing or unseen value"]
        if feature in self.categorical_:
            return (*[categorical_bin_label(list(b)) for b in bins[:-2]], *tail)
        splits = self._model_.binning_process_.get_binned_variable(feature).splits
        return (*numeric_bin_labels(list(splits)), *tail)

    # ----------------------------------------------------------------------------- scoring
    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score applicants: points, probability of default and reasons, one row per applicant.

        Applicants with missing fields are scored (the Missing bin) and told so in a reason.

        Returns:
            A frame on ``frame``'s index with columns ``score``, ``probability_of_default`` and
            ``reasons`` (a list of sentences, largest point loss first).
        """
        self._check_fitted()
        check_score_columns(frame, self.features_, "scorecard")
        scaling = (self.pdo, self.base_score, self.base_odds)
        indices = self._indices(frame)
        return scored_frame(
            frame, self.points_, indices, self.intercept_, scaling, self.max_reasons
        )

    def point_losses(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each applicant's score and, per feature, the points below its best bin."""
        self._check_fitted()
        check_score_columns(frame, self.features_, "scorecard")
        return scores_and_gaps(self.points_, self._indices(frame), self.intercept_)

    def _indices(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        indices = self._model_.binning_process_.transform(
            frame[self.features_], metric="indices", metric_special="empirical",
            metric_missing="empirical",
        )  # fmt: skip
        return {f: indices[f].to_numpy() for f in self.features_}

    def probability_of_default(self, score: np.ndarray) -> np.ndarray:
        """The probability of default the scaling assigns to a score (the model's own PD)."""
        return default_probability(
            score, pdo=self.pdo, base_score=self.base_score, base_odds=self.base_odds
        )

    # ----------------------------------------------------------------------------- inspection
    def binning_table(self, feature: str) -> pd.DataFrame:
        """optbinning's binning table of ``feature``: bins, counts, event rate, WoE, IV."""
        self._check_fitted()
        if feature not in self.features_:
            raise SchemaError(f"{feature!r} is not a feature of this scorecard: {self.features_}.")
        table: pd.DataFrame = self._model_.binning_process_.get_binned_variable(
            feature
        ).binning_table.build()
        return table

    def information_values(self) -> pd.Series:
        """Information value of every feature, highest first."""
        self._check_fitted()
        summary = self._model_.binning_process_.summary().set_index("name")
        values: pd.Series = summary["iv"].astype(float).sort_values(ascending=False)
        return values.rename("information_value")

    def table(self) -> pd.DataFrame:
        """The scorecard: every feature's bins with their points."""
        self._check_fitted()
        return self._points_table("summary")

    def _check_fitted(self) -> None:
        if not hasattr(self, "_model_"):
            raise NotFittedError("this Scorecard is not fitted; call fit(frame) first.")

    # ----------------------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted scorecard to the folder ``path`` atomically in open formats: each
        feature's bins and points and the scaling (JSON), the WoE/IV tables (Parquet); see
        :mod:`furima.risk._scorecard_persistence`."""
        from furima.risk._scorecard_persistence import save_scorecard

        return save_scorecard(self, path)

    @staticmethod
    def load(path: str | Path) -> LoadedScorecard:
        """Load a scorecard written by :meth:`save` as a :class:`LoadedScorecard`, which scores
        like the fitted one without refitting or unpickling; a damaged or foreign folder raises
        :class:`~furima.exceptions.ModelFormatError`."""
        from furima.risk._scorecard_persistence import load_scorecard

        return load_scorecard(path)


# ------------------------------------------------------------------------ shared input checks
def check_credit_features(
    frame: pd.DataFrame, target: str, features: Sequence[str] | None, named: Sequence[str]
) -> list[str]:
    """The features to fit on (``None``: every column but the target), refused with a clear
    error when the target is absent, a named column is unknown, or a feature is boolean,
    constant or missing on every row. ``named`` are further columns the settings mention."""
    if target not in frame.columns:
        raise SchemaError(
            f"the target column {target!r} is not in the table (columns: "
            f"{list(frame.columns)}); pass target=<the outcome column>."
        )
    chosen = list(features) if features is not None else [c for c in frame.columns if c != target]
    unknown = sorted({name for name in [*chosen, *named] if name not in frame.columns})
    if unknown:
        raise SchemaError(f"unknown feature(s) {unknown}: not columns of the table.")
    if target in chosen:
        raise SchemaError(f"the target {target!r} cannot also be a feature.")
    if not chosen:
        raise SchemaError("no features to score on; pass features=[...] or add columns.")
    for feature in chosen:
        _check_informative(frame[feature], feature)
    return chosen


def _check_informative(column: pd.Series, feature: str) -> None:
    from pandas.api.types import is_bool_dtype

    if is_bool_dtype(column.dtype):
        raise SchemaError(
            f"feature {feature!r} is boolean; a credit model needs numbers or categories: "
            f"cast it with frame[{feature!r}].astype(int) or .astype(str)."
        )
    if column.isna().all():
        raise DataError(f"feature {feature!r} is missing on every row; drop it from `features`.")
    if column.nunique(dropna=True) < 2:
        raise DataError(
            f"feature {feature!r} is constant ({column.dropna().iloc[0]!r} on every "
            "row); it cannot separate good from bad, drop it from `features`."
        )


def check_credit_target(frame: pd.DataFrame, target: str, bad_value: object) -> np.ndarray:
    """1 where ``frame[target]`` equals ``bad_value``, refused unless it holds two values."""
    column = frame[target]
    if column.isna().any():
        raise DataError(
            f"the target {target!r} is missing on {int(column.isna().sum())} row(s); "
            "drop or label them before fitting."
        )
    values = sorted(map(str, column.unique()))
    if len(values) != 2:
        raise DataError(
            f"the target {target!r} must hold exactly two values (good and bad), "
            f"but holds {len(values)}: {values[:10]}."
        )
    bad = (column == bad_value).to_numpy()
    if not bad.any():
        raise DataError(
            f"no row of {target!r} equals bad_value={bad_value!r} (values: "
            f"{values}); pass bad_value=<the value that means default>."
        )
    return bad.astype(int)
