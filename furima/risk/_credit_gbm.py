"""A monotone-constrained LightGBM credit model: the scorecard's gradient-boosted alternative.

Why: trees catch interactions a scorecard cannot, and monotone constraints keep what a
regulator expects (a longer duration never lowers the risk). Each numeric feature is
constrained in the direction of its Spearman correlation with default on the training rows
(or as told); categories go to LightGBM as categories. The number of rounds is chosen by
stratified inner cross-validation; the out-of-fold log-odds of those folds fit a Platt
calibration, so the probability of default matches observed rates. The score is in points
with the scorecard's scaling (``base_score`` at good:bad odds ``base_odds``, ``pdo`` points
double the odds), and reasons come from LightGBM's ``pred_contrib`` turned into points, in
words with the applicant's own value. Missing values and categories not seen in training
are scored (as missing) and always stated as reasons.

    model = CreditGBM(target="creditability", bad_value="bad").fit(frame)
    model.score(applicants)  # score, probability_of_default, reasons
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, NotFittedError, SchemaError
from furima.risk._calibration import PlattScaling, fit_platt
from furima.risk._reasons import check_score_columns, default_probability, ranked_reasons
from furima.risk._scorecard import check_credit_features, check_credit_target

if TYPE_CHECKING:
    import lightgbm
    import pandas as pd

__all__ = ["CreditBlend", "CreditGBM"]

DIRECTIONS = {"ascending": 1, "descending": -1, "none": 0}
"""Risk rises with the value (``ascending``), falls (``descending``), or is unconstrained."""
SMALL_BATCH = 256
"""Batches under this many rows are scored on one thread."""
INNER_FOLDS = 5
EARLY_STOPPING_ROUNDS = 50


class CreditGBM:
    """Monotone LightGBM credit model in points with reason codes (``fit`` returns self).

    Args:
        target: The column holding the outcome.
        bad_value: The target value that means default; the target must hold two values.
        features: The columns to score on; ``None`` takes every column but the target.
        categorical: Columns to treat as categories even if numeric; text columns always are.
        monotonic: ``"auto"`` constrains every numeric feature in the direction of its
            Spearman correlation with default on the training rows; a mapping feature ->
            ``"ascending"``, ``"descending"`` or ``"none"`` overrides single features.
        pdo: Points to double the odds.
        base_score: The score at odds ``base_odds``.
        base_odds: Good:bad odds at ``base_score``.
        max_reasons: At most this many point-loss reasons per applicant (missing fields and
            unseen categories are stated on top of them).
        learning_rate: LightGBM's shrinkage.
        num_leaves: Leaves per tree (small: credit tables are small).
        max_rounds: The most boosting rounds the inner cross-validation may choose.
        seed: Seed of LightGBM and of the inner folds.
    """

    def __init__(
        self,
        target: str = "default",
        *,
        bad_value: object = 1,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
        monotonic: str | Mapping[str, str] = "auto",
        pdo: float = 20.0,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        max_reasons: int = 4,
        learning_rate: float = 0.03,
        num_leaves: int = 4,
        max_rounds: int = 1000,
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
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_rounds = max_rounds
        self.seed = seed

    # ----------------------------------------------------------------------------- fitting
    def fit(self, frame: pd.DataFrame) -> CreditGBM:
        """Choose the rounds by inner CV, calibrate on its out-of-fold log-odds, refit."""
        self._check_settings()
        named = [
            *self.categorical,
            *(self.monotonic if isinstance(self.monotonic, Mapping) else ()),
        ]
        features = check_credit_features(frame, self.target, self.features, named)
        bad = check_credit_target(frame, self.target, self.bad_value)
        self.features_ = features
        self.categories_ = self._categories(frame, features)
        self.directions_ = {
            f: self._direction(frame[f], bad) for f in features if f not in self.categories_
        }
        matrix = self._matrix(frame)
        rounds, out_of_fold = self._inner_cv(matrix, bad)
        self.calibration_ = fit_platt(out_of_fold, bad)
        self.booster_ = self._train(matrix, bad, rounds)
        return self

    def _check_settings(self) -> None:
        if self.pdo <= 0 or self.base_odds <= 0:
            raise DataError(
                f"`pdo` and `base_odds` must be positive, but got (pdo={self.pdo}, "
                f"base_odds={self.base_odds})."
            )
        given = self.monotonic.values() if isinstance(self.monotonic, Mapping) else ()
        wrong = sorted({d for d in given if d not in DIRECTIONS})
        if wrong or (isinstance(self.monotonic, str) and self.monotonic != "auto"):
            raise DataError(
                f"unknown monotonic setting {wrong or self.monotonic!r}; pass 'auto' or a "
                f"mapping feature -> one of {list(DIRECTIONS)}."
            )

    def _categories(self, frame: pd.DataFrame, features: list[str]) -> dict[str, list[Any]]:
        """Each categorical feature's training categories, in a fixed (sorted) order."""
        from pandas.api.types import is_numeric_dtype

        chosen = [f for f in features if f in self.categorical or not is_numeric_dtype(frame[f])]
        return {f: sorted(frame[f].dropna().unique().tolist(), key=str) for f in chosen}

    def _direction(self, column: pd.Series, bad: np.ndarray) -> int:
        if isinstance(self.monotonic, Mapping) and column.name in self.monotonic:
            return DIRECTIONS[self.monotonic[str(column.name)]]
        from scipy.stats import spearmanr

        known = column.notna().to_numpy()
        rho = spearmanr(column.to_numpy(dtype=float)[known], bad[known]).statistic
        return 0 if not np.isfinite(rho) or rho == 0 else int(np.sign(rho))

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": 20,
            "min_data_per_group": 20,
            "cat_smooth": 10.0,
            "lambda_l2": 1.0,
            "feature_fraction": 0.8,
            "monotone_constraints": [self.directions_.get(f, 0) for f in self.features_],
            "monotone_constraints_method": "advanced",
            "deterministic": True,
            "num_threads": 1,
            "seed": self.seed,
            "verbose": -1,
        }

    def _inner_cv(self, matrix: pd.DataFrame, bad: np.ndarray) -> tuple[int, np.ndarray]:
        """Rounds chosen by early stopping on stratified folds, and the out-of-fold log-odds
        of every training row at that number of rounds."""
        import lightgbm
        from sklearn.model_selection import StratifiedKFold

        splits = min(INNER_FOLDS, int(np.bincount(bad, minlength=2).min()))
        if splits < 2:
            raise DataError("CreditGBM needs at least two good and two bad rows; add rows.")
        folds = list(
            StratifiedKFold(splits, shuffle=True, random_state=self.seed).split(matrix, bad)
        )
        result = lightgbm.cv(
            self._params(), self._dataset(matrix, bad), num_boost_round=self.max_rounds,
            folds=folds, stratified=False, return_cvbooster=True,
            callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
        )  # fmt: skip
        cv_booster: Any = result["cvbooster"]
        rounds = int(cv_booster.best_iteration)
        out_of_fold = np.empty(len(bad), dtype=float)
        for booster, (_, held_out) in zip(cv_booster.boosters, folds, strict=True):
            rows = matrix.iloc[held_out]
            out_of_fold[held_out] = booster.predict(rows, num_iteration=rounds, raw_score=True)
        return rounds, out_of_fold

    def _dataset(self, matrix: pd.DataFrame, bad: np.ndarray) -> lightgbm.Dataset:
        import lightgbm

        return lightgbm.Dataset(
            matrix, label=bad, categorical_feature=list(self.categories_) or "auto",
            free_raw_data=False,
        )  # fmt: skip

    def _train(self, matrix: pd.DataFrame, bad: np.ndarray, rounds: int) -> lightgbm.Booster:
        import lightgbm

        return lightgbm.train(self._params(), self._dataset(matrix, bad), num_boost_round=rounds)

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input: numbers as floats, categories on the training categories
        (an unseen category becomes missing)."""
        import pandas as pd

        columns: dict[str, Any] = {}
        for feature in self.features_:
            column = frame[feature]
            if feature in self.categories_:
                known = self.categories_[feature]
                columns[feature] = pd.Categorical(
                    column.where(column.isin(known)), categories=known
                )
            else:
                columns[feature] = _numbers(column, feature)
        return pd.DataFrame(columns, index=frame.index)

    def _codes_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's input as one float array for scoring: numbers as they are, each
        category as its position among the training categories (the codes LightGBM trained
        on), missing and unseen ones as NaN. Much cheaper than a frame of categoricals for
        the one-applicant requests a server answers."""
        out = np.empty((len(frame), len(self.features_)), dtype=np.float64)
        for position, feature in enumerate(self.features_):
            if feature in self.categories_:
                out[:, position] = self._category_codes(frame[feature])
            else:
                out[:, position] = _numbers(frame[feature], feature)
        return out

    def _category_codes(self, column: pd.Series) -> np.ndarray:
        lookup = self._code_lookup().get(str(column.name), {})
        values = column.tolist()
        return np.fromiter((lookup.get(v, np.nan) for v in values), np.float64, len(values))

    def _code_lookup(self) -> dict[str, dict[Any, float]]:
        """Category -> code per categorical feature, built once."""
        cached: dict[str, dict[Any, float]] | None = getattr(self, "_codes_", None)
        if cached is None:
            cached = {
                f: {category: float(code) for code, category in enumerate(known)}
                for f, known in self.categories_.items()
            }
            self._codes_ = cached
        return cached

    # ----------------------------------------------------------------------------- scoring
    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score applicants: ``score``, ``probability_of_default`` and ``reasons`` on
        ``frame``'s index, like :meth:`Scorecard.score <furima.risk.Scorecard.score>`."""
        import pandas as pd

        score, lost = self.point_losses(frame)
        reasons = ranked_reasons(frame[self.features_], lost, self.unseen(frame), self.max_reasons)
        return pd.DataFrame(
            {
                "score": score,
                "probability_of_default": self.probability_of_default(score),
                "reasons": reasons,
            },
            index=frame.index,
        )

    def point_losses(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each applicant's score and the points each feature cost them (applicants x
        features): LightGBM's ``pred_contrib`` in calibrated points, against the average
        applicant, so the score is the average's minus the row of losses."""
        self._check_fitted()
        check_score_columns(frame, self.features_, "model")
        contributions = np.asarray(
            self.booster_.predict(
                self._codes_matrix(frame), pred_contrib=True, num_threads=_threads(len(frame))
            ),
            dtype=float,
        )
        factor = self.pdo / math.log(2)
        offset = self.base_score - factor * math.log(self.base_odds)
        score = offset - factor * self.calibration_.log_odds(contributions.sum(axis=1))
        return score, contributions[:, :-1] * self.calibration_.slope * factor

    def probability_of_default(self, score: np.ndarray) -> np.ndarray:
        """The probability of default the scaling assigns to a score (the model's own PD)."""
        return default_probability(
            score, pdo=self.pdo, base_score=self.base_score, base_odds=self.base_odds
        )

    def unseen(self, frame: pd.DataFrame) -> np.ndarray:
        """True where a categorical field holds a category not seen in training."""
        return np.column_stack([self._unseen(frame[f]) for f in self.features_])

    def _unseen(self, column: pd.Series) -> np.ndarray:
        if column.name not in self.categories_:
            return np.zeros(len(column), dtype=bool)
        unseen: np.ndarray = np.isnan(self._category_codes(column)) & column.notna().to_numpy()
        return unseen

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this CreditGBM is not fitted; call fit(frame) first.")

    # ----------------------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to the folder ``path`` atomically: LightGBM's text model and
        a JSON manifest (see :mod:`furima.risk._credit_gbm_persistence`)."""
        from furima.risk._credit_gbm_persistence import save_credit_gbm

        return save_credit_gbm(self, path)

    @staticmethod
    def load(path: str | Path) -> CreditGBM:
        """Load a model written by :meth:`save`; it scores like the original. A damaged or
        foreign folder raises :class:`~furima.exceptions.ModelFormatError`."""
        from furima.risk._credit_gbm_persistence import load_credit_gbm

        return load_credit_gbm(path)

    def _restore(
        self, features: list[str], categories: dict[str, list[Any]],
        directions: dict[str, int], calibration: PlattScaling, booster: lightgbm.Booster,
    ) -> CreditGBM:  # fmt: skip
        """Set the fitted state read back from a saved folder."""
        self.features_ = features
        self.categories_ = categories
        self.directions_ = directions
        self.calibration_ = calibration
        self.booster_ = booster
        return self


def _threads(rows: int) -> int:
    """One LightGBM thread for small batches (threads cost more than they save there), the
    default (0: all cores) for large ones."""
    return 1 if rows < SMALL_BATCH else 0


def _numbers(column: pd.Series, feature: str) -> np.ndarray:
    from pandas.api.types import is_bool_dtype

    if is_bool_dtype(column.dtype):
        raise SchemaError(f"feature {feature!r} is boolean; cast it to int or str.")
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise SchemaError(
            f"feature {feature!r} was numeric in training but holds text now ({error}); send "
            "numbers, or missing values when unknown."
        ) from error


class CreditBlend:
    """A :class:`Scorecard <furima.risk.Scorecard>` and a :class:`CreditGBM` averaged.

    Both use the same points scaling, so the mean of their scores is the score at the mean of
    their calibrated log-odds. Each model's score is a reference minus per-feature point
    losses (the scorecard's against each feature's best bin, the GBM's against the average
    applicant), so the blend's per-feature loss is the mean of the two and its reasons name
    the features that cost the most, exactly as the single models do.

    Args:
        target, bad_value, features, categorical, pdo, base_score, base_odds, max_reasons,
        seed: As for :class:`CreditGBM`; both models get them (the scorecard's numeric bins
        are monotone, the GBM's numeric features monotone-constrained).
    """

    def __init__(
        self,
        target: str = "default",
        *,
        bad_value: object = 1,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
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
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.max_reasons = max_reasons
        self.seed = seed

    def fit(self, frame: pd.DataFrame) -> CreditBlend:
        """Fit the scorecard and the GBM on ``frame``."""
        from furima.risk._scorecard import Scorecard

        shared: dict[str, Any] = {
            "bad_value": self.bad_value, "features": self.features,
            "categorical": self.categorical, "pdo": self.pdo, "base_score": self.base_score,
            "base_odds": self.base_odds, "max_reasons": self.max_reasons, "seed": self.seed,
        }  # fmt: skip
        self.scorecard_: Any = Scorecard(self.target, **shared).fit(frame)
        self.gbm_ = CreditGBM(self.target, **shared).fit(frame)
        return self

    @property
    def features_(self) -> list[str]:
        """The fitted features (the same for both models)."""
        self._check_fitted()
        return self.gbm_.features_

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score applicants: ``score``, ``probability_of_default`` and ``reasons`` on
        ``frame``'s index, like :meth:`Scorecard.score <furima.risk.Scorecard.score>`."""
        import pandas as pd

        self._check_fitted()
        card_score, gaps = self.scorecard_.point_losses(frame)
        gbm_score, lost = self.gbm_.point_losses(frame)
        score = 0.5 * (card_score + gbm_score)
        losses = 0.5 * (gaps + lost)
        values = frame[self.features_]
        reasons = ranked_reasons(values, losses, self.gbm_.unseen(frame), self.max_reasons)
        return pd.DataFrame(
            {
                "score": score,
                "probability_of_default": self.probability_of_default(score),
                "reasons": reasons,
            },
            index=frame.index,
        )

    def probability_of_default(self, score: np.ndarray) -> np.ndarray:
        """The probability of default the scaling assigns to a score (the model's own PD)."""
        return default_probability(
            score, pdo=self.pdo, base_score=self.base_score, base_odds=self.base_odds
        )

    def information_values(self) -> pd.Series:
        """The scorecard part's information value of every feature, highest first."""
        self._check_fitted()
        values: pd.Series = self.scorecard_.information_values()
        return values

    def binning_table(self, feature: str) -> pd.DataFrame:
        """The scorecard part's bins of ``feature``: counts, event rate, WoE, IV."""
        self._check_fitted()
        table: pd.DataFrame = self.scorecard_.binning_table(feature)
        return table

    def _check_fitted(self) -> None:
        if not hasattr(self, "gbm_"):
            raise NotFittedError("this CreditBlend is not fitted; call fit(frame) first.")

    def save(self, path: str | Path) -> Path:
        """Write both models to the folder ``path`` atomically (``scorecard/`` and ``gbm/``
        in their own open formats, and a JSON manifest)."""
        from furima.risk._credit_gbm_persistence import save_credit_blend

        return save_credit_blend(self, path)

    @staticmethod
    def load(path: str | Path) -> CreditBlend:
        """Load a blend written by :meth:`save`; it scores like the original."""
        from furima.risk._credit_gbm_persistence import load_credit_blend

        return load_credit_blend(path)
