"""A points scorecard for credit: optbinning's monotone optimal binning, WoE, logistic points.

Why a scorecard: a regulator and an applicant can read it. Each feature is cut into bins by
``optbinning`` (monotone in risk where asked), each bin gets a weight of evidence, a logistic
regression on those weights gives the log-odds, and the log-odds are scaled to points: the
score is ``base_score`` at odds ``base_odds`` (good:bad) and ``pdo`` points double the odds.
The probability of default follows from the score through the same scaling, so the two never
disagree. Reasons name the features whose bins sit furthest below their best bin. A missing
value falls in optbinning's Missing bin, is scored, and is always stated as a reason.

    card = Scorecard(target="creditability", bad_value="bad").fit(frame)
    card.score(applicants)  # score, probability_of_default, reasons
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, NotFittedError, SchemaError
from furima.risk._reasons import (
    FeaturePoints,
    categorical_bin_label,
    default_probability,
    numeric_bin_labels,
    scored_frame,
)

if TYPE_CHECKING:
    import pandas as pd

    from furima.risk._points import LoadedScorecard

__all__ = ["Scorecard"]

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
        max_reasons: At most this many point-gap reasons per applicant (missing fields are
            stated on top of them).
        seed: Seed of the logistic regression.
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
        self.points_ = self._feature_points()
        return self

    def _check_settings(self) -> None:
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
        if self.target not in frame.columns:
            raise SchemaError(
                f"the target column {self.target!r} is not in the table (columns: "
                f"{list(frame.columns)}); pass target=<the outcome column>."
            )
        features = [c for c in frame.columns if c != self.target]
        features = list(self.features) if self.features is not None else features
        named = [*features, *self.categorical]
        if isinstance(self.monotonic, Mapping):
            named += list(self.monotonic)
        unknown = sorted({name for name in named if name not in frame.columns})
        if unknown:
            raise SchemaError(f"unknown feature(s) {unknown}: not columns of the table.")
        if self.target in features:
            raise SchemaError(f"the target {self.target!r} cannot also be a feature.")
        if not features:
            raise SchemaError("no features to score on; pass features=[...] or add columns.")
        self._check_informative(frame, features)
        return features

    @staticmethod
    def _check_informative(frame: pd.DataFrame, features: list[str]) -> None:
        for feature in features:
            column = frame[feature]
            if column.isna().all():
                raise DataError(
                    f"feature {feature!r} is missing on every row; drop it from `features`."
                )
            if column.nunique(dropna=True) < 2:
                raise DataError(
                    f"feature {feature!r} is constant ({column.dropna().iloc[0]!r} on every "
                    "row); it cannot separate good from bad, drop it from `features`."
                )

    def _check_target(self, frame: pd.DataFrame) -> np.ndarray:
        target = frame[self.target]
        if target.isna().any():
            raise DataError(
                f"the target {self.target!r} is missing on {int(target.isna().sum())} row(s); "
                "drop or label them before fitting."
            )
        values = sorted(map(str, target.unique()))
        if len(values) != 2:
            raise DataError(
                f"the target {self.target!r} must hold exactly two values (good and bad), "
                f"but holds {len(values)}: {values[:10]}."
            )
        bad = (target == self.bad_value).to_numpy()
        if not bad.any():
            raise DataError(
                f"no row of {self.target!r} equals bad_value={self.bad_value!r} (values: "
                f"{values}); pass bad_value=<the value that means default>."
            )
        return bad.astype(int)

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
        from sklearn.linear_model import LogisticRegression

        fit_params = {f: {"monotonic_trend": self._trend(f)} for f in features}
        process = BinningProcess(
            features, categorical_variables=categorical, binning_fit_params=fit_params
        )
        return OptbinningScorecard(
            binning_process=process,
            estimator=LogisticRegression(max_iter=1000, random_state=self.seed),
            scaling_method="pdo_odds",
            scaling_method_params={
                "pdo": self.pdo,
                "odds": self.base_odds,
                "scorecard_points": self.base_score,
            },
        )

    def _feature_points(self) -> dict[str, FeaturePoints]:
        table = self._model_.table(style="detailed")
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
        self._check_score_columns(frame)
        indices = self._model_.binning_process_.transform(
            frame[self.features_],
            metric="indices",
            metric_special="empirical",
            metric_missing="empirical",
        )
        positions = {f: indices[f].to_numpy() for f in self.features_}
        points = {f: self.points_[f] for f in self.features_}
        scaling = (self.pdo, self.base_score, self.base_odds)
        return scored_frame(
            frame, points, positions, float(self._model_.intercept_), scaling, self.max_reasons
        )

    def probability_of_default(self, score: np.ndarray) -> np.ndarray:
        """The probability of default the scaling assigns to a score (the model's own PD)."""
        return default_probability(
            score, pdo=self.pdo, base_score=self.base_score, base_odds=self.base_odds
        )

    def _check_score_columns(self, frame: pd.DataFrame) -> None:
        absent = [f for f in self.features_ if f not in frame.columns]
        if absent:
            raise SchemaError(
                f"the table to score lacks the feature column(s) {absent} the scorecard was "
                "fitted on; add them (missing values are allowed)."
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
        table: pd.DataFrame = self._model_.table(style="summary")
        return table

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
