"""Fraud scoring for payment transactions: entity features, a time-honest split, LightGBM.

:class:`FraudScorer` trains on the past and validates on the future with labels that arrive
late (:func:`~furima.risk.time_split`), describes each payment by what was known about its
card and terminal at that moment (:class:`~furima.risk.EntityFeatures`), and explains each
score by its three largest per-feature contributions (LightGBM's TreeSHAP, ``pred_contrib``).
New payments are scored against the history kept from ``fit``, so a card's past counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, NotFittedError, SchemaError
from furima.risk._alerts import cost_threshold as _cost_threshold
from furima.risk._entity_features import NS_PER_DAY, EntityFeatures
from furima.risk._time_split import time_split, times_as_ns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FraudScorer", "FraudValidation"]

TOP_K = 100
"""Validation ``precision_at_k`` looks at this many highest-scored rows."""
REASONS_PER_ROW = 3


@dataclass(frozen=True)
class FraudValidation:
    """Metrics on the time-ordered validation part (also used for early stopping, so they
    lean slightly optimistic)."""

    auprc: float
    auc: float
    precision_at_k: float
    k: int
    rows: int
    frauds: int
    best_iteration: int


class FraudScorer:
    """Scores transactions by their probability of fraud.

    Args:
        time: Transaction time column (datetimes or seconds).
        label: 0/1 fraud label column.
        amount: Amount column (a raw feature, and the base of amount entity features).
        keys: Entity columns for point-in-time features; ``()`` uses raw columns only. Keys
            are never raw features themselves (ids say nothing new about the future).
        windows_days: Entity feature windows.
        label_delay_days: How long labels take to arrive: used by the split and by the
            delayed fraud shares of entity features.
        features: Extra raw numeric columns to use besides ``amount``.
        model: Only ``"lightgbm"``.
        seed: Seed of LightGBM.
        learning_rate: LightGBM learning rate.
        max_rounds: Most boosting rounds (early stopping usually ends sooner).
    """

    def __init__(
        self,
        time: str = "timestamp",
        label: str = "is_fraud",
        amount: str = "amount",
        keys: Sequence[str] = ("customer_id", "terminal_id"),
        windows_days: Sequence[float] = (1, 7, 30),
        label_delay_days: float = 7,
        features: Sequence[str] = (),
        model: str = "lightgbm",
        seed: int = 0,
        learning_rate: float = 0.1,
        max_rounds: int = 300,
    ) -> None:
        self.time = time
        self.label = label
        self.amount = amount
        self.keys = tuple(keys)
        self.windows_days = tuple(windows_days)
        self.label_delay_days = label_delay_days
        self.features = tuple(features)
        self.model = model
        self.seed = seed
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, *, valid_share: float = 0.2) -> FraudScorer:
        """Train on the earlier ``1 - valid_share`` of rows (labels known by the cutoff),
        early-stop and measure on the rest.

        Raises:
            SchemaError: missing time, label, amount, key or feature columns; non-numeric
                features.
            DataError: an unknown model, a table the time split refuses (one class on a
                side, unparsable times...), or bad entity feature settings.
        """
        self._check_settings()
        self._check_columns(frame, need_label=True)
        table = self._with_features(frame)
        split = time_split(
            table,
            time=self.time,
            label=self.label,
            valid_share=valid_share,
            label_delay=self.label_delay_days * 86_400.0,
        )
        self.feature_names_ = self._feature_columns()
        self.positive_weight_ = _positive_weight(split.train[self.label].to_numpy())
        self.booster_ = self._train(split.train, split.valid)
        valid_scores = self._probabilities(split.valid[self.feature_names_])
        self.validation_ = _validation_metrics(
            split.valid[self.label].to_numpy(), valid_scores, self.booster_.best_iteration
        )
        self.validation_scores_ = valid_scores
        self._validation_outcomes = (
            split.valid[self.label].to_numpy(dtype=np.float64),
            split.valid[self.amount].to_numpy(dtype=np.float64),
        )
        self.cutoff_ = split.cutoff
        self.history_ = self._recent_history(frame)
        return self

    def _train(self, train: pd.DataFrame, valid: pd.DataFrame) -> Any:
        """LightGBM with each leaf's step capped: rare frauds give tiny hessians and huge leaf
        values, and uncapped boosting can stop after its first tree (seen on the ULB cards).
        When the cap leaves the model without a single split (one weak feature under a large
        class weight), it is trained again without the cap."""
        import lightgbm

        names = self.feature_names_
        train_set = lightgbm.Dataset(train[names], label=train[self.label], free_raw_data=False)
        valid_set = lightgbm.Dataset(valid[names], label=valid[self.label], reference=train_set)
        booster = None
        for step_cap in (5.0, 0.0):  # 0: no cap
            booster = lightgbm.train(
                {**self._params(), "max_delta_step": step_cap},
                train_set,
                num_boost_round=self.max_rounds,
                valid_sets=[valid_set],
                callbacks=[lightgbm.early_stopping(30, verbose=False)],
            )
            if _splits(booster):
                break
        return booster

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": 31,
            "max_depth": 6,  # shallow trees keep TreeSHAP reasons fast (cost ~ depth squared)
            "min_child_samples": 50,
            "scale_pos_weight": self.positive_weight_,
            "metric": "average_precision",
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def cost_threshold(self, review_cost: float) -> tuple[float, float]:
        """The score threshold that maximises fraud amount caught minus ``review_cost`` per
        review on the validation part, and that saving (see :func:`cost_threshold`)."""
        self._check_fitted()
        labels, amounts = self._validation_outcomes
        return _cost_threshold(self.validation_scores_, labels, amounts, review_cost)

    # ---------------------------------------------------------------- score
    def score(self, frame: pd.DataFrame, *, reasons: bool = True) -> pd.DataFrame:
        """Fraud probability (and top reasons) for new transactions.

        Entity features are computed on the kept history (the last ``max(windows) +
        label_delay`` days of the fitted table, labels known) followed by ``frame``, whose
        own labels are treated as not yet known. Only history strictly before ``frame``'s
        first moment is used, so rescoring rows seen in ``fit`` does not count them twice.

        Returns:
            A frame with ``frame``'s index, a ``score`` column (probability of fraud) and,
            with ``reasons=True``, a ``reasons`` column: per row a list of the three
            features that moved the score most, as ``"name = value (+contribution)"``, the
            contribution in log-odds.

        Reasons come from TreeSHAP and cost about 0.3 ms a row (one core): for big batches
        pass ``reasons=False`` and explain only the rows that raise alerts.
        """
        import pandas as pd

        self._check_fitted()
        self._check_columns(frame, need_label=False)
        matrix = self._features_for_new(frame)
        out = pd.DataFrame({"score": self._probabilities(matrix)}, index=frame.index)
        if reasons:
            out["reasons"] = self._reasons(matrix)
        return out

    def _features_for_new(self, frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        raw = frame[self._raw_columns()].astype(np.float64)
        if not self.keys:
            return raw[self.feature_names_]
        first = times_as_ns(frame, self.time).min()
        history = self.history_
        earlier = times_as_ns(history, self.time) < first
        # entity features only read an entity's own rows: keep the history that shares a key
        # with the new rows, so scoring one payment costs no pass over the whole history
        shared = np.zeros(len(history), dtype=bool)
        for key in self.keys:
            shared |= history[key].isin(frame[key]).to_numpy()
        history = history.loc[earlier & shared]
        new = frame[self._history_columns()].copy()
        new[self.label] = np.nan
        both = pd.concat([history, new], ignore_index=True)
        entity = self._entity_features().transform(both).iloc[len(history) :]
        entity.index = frame.index
        return pd.concat([raw, entity], axis=1)[self.feature_names_]

    def _reasons(self, matrix: pd.DataFrame) -> list[list[str]]:
        contributions = self.booster_.predict(
            matrix, num_iteration=self.booster_.best_iteration, pred_contrib=True
        )[:, :-1]  # the last column is the bias
        top = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :REASONS_PER_ROW]
        values = matrix.to_numpy(dtype=np.float64)
        return [
            [_reason(self.feature_names_[j], values[i, j], contributions[i, j]) for j in row]
            for i, row in enumerate(top)
        ]

    def _probabilities(self, matrix: pd.DataFrame) -> np.ndarray:
        """Scores with the positive weight undone: training with positives weighted by
        ``w`` multiplies the odds by ``w``, so ``p / (p + w (1 - p))`` restores them."""
        raw = self.booster_.predict(matrix, num_iteration=self.booster_.best_iteration)
        weight = self.positive_weight_
        return np.asarray(raw / (raw + weight * (1.0 - raw)), dtype=np.float64)

    # ------------------------------------------------------------- features
    def _entity_features(self) -> EntityFeatures:
        return EntityFeatures(
            self.keys,
            windows_days=self.windows_days,
            time=self.time,
            amount=self.amount,
            label=self.label,
            label_delay_days=self.label_delay_days,
        )

    def _raw_columns(self) -> list[str]:
        return [self.amount, *self.features]

    def _feature_columns(self) -> list[str]:
        entity = self._entity_features().feature_names() if self.keys else []
        return [*self._raw_columns(), *entity]

    def _history_columns(self) -> list[str]:
        return [self.time, self.amount, *self.keys]

    def _with_features(self, frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        columns = [self.time, self.label, *self._raw_columns()]
        table = frame[columns].astype({name: np.float64 for name in self._raw_columns()})
        if not self.keys:
            return table
        entity = self._entity_features().transform(frame)
        return pd.concat([table, entity], axis=1)

    def _recent_history(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The fitted rows that entity features of later payments can still look at."""
        if not self.keys:
            return frame.iloc[:0][[self.time]]
        moments = times_as_ns(frame, self.time)
        reach = round((max(self.windows_days) + self.label_delay_days) * NS_PER_DAY)
        recent = moments >= moments.max() - reach
        kept: pd.DataFrame = frame.loc[recent, [*self._history_columns(), self.label]]
        return kept.reset_index(drop=True)

    # ----------------------------------------------------------- validation
    def _check_settings(self) -> None:
        if self.model != "lightgbm":
            raise DataError(f"model must be 'lightgbm' (the only one so far), got {self.model!r}")
        if isinstance(self.max_rounds, bool) or self.max_rounds < 1:
            raise DataError(f"max_rounds must be a positive integer, got {self.max_rounds!r}")
        if not (0 < self.learning_rate <= 1):
            raise DataError(f"learning_rate must be in (0, 1], got {self.learning_rate!r}")
        if self.keys:
            self._entity_features()  # refuses bad windows, delays and repeated keys

    def _check_columns(self, frame: pd.DataFrame, *, need_label: bool) -> None:
        import pandas as pd

        wanted = [self.time, *self._raw_columns(), *self.keys]
        wanted += [self.label] if need_label else []
        missing = [name for name in wanted if name not in frame.columns]
        if missing:
            raise SchemaError(
                f"fraud scoring needs the columns {missing}, which the table lacks (columns: "
                f"{list(frame.columns)}); rename them or pass time=, label=, amount=, keys=, "
                f"features= (keys=() for no entity features)"
            )
        for name in self._raw_columns():
            dtype = frame[name].dtype
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                raise SchemaError(
                    f"raw features must be numbers, but the column has dtype {dtype}; "
                    f"convert it (e.g. pandas.to_numeric) or leave it out of features=",
                    column=name,
                )
        if len(frame) == 0:
            raise DataError("the table has no rows; pass at least one transaction")

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this FraudScorer is not fitted yet; call fit(frame) first")

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted scorer to the folder ``path`` atomically, in open formats (the
        LightGBM text model, Parquet history, a JSON manifest); see
        :mod:`furima.risk._persistence`."""
        from furima.risk._persistence import save_fraud_scorer

        return save_fraud_scorer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> FraudScorer:
        """Load a scorer written by :meth:`save`; a damaged or foreign folder raises
        :class:`~furima.exceptions.ModelFormatError`."""
        from furima.risk._persistence import load_fraud_scorer

        return load_fraud_scorer(path)


def _positive_weight(labels: np.ndarray) -> float:
    """``sqrt(negatives / positives)``: lifts the rare class without drowning the rest."""
    positives = float(np.count_nonzero(labels == 1))
    return math.sqrt((len(labels) - positives) / positives)


def _validation_metrics(labels: np.ndarray, scores: np.ndarray, best: int) -> FraudValidation:
    from sklearn.metrics import average_precision_score, roc_auc_score

    k = min(TOP_K, len(scores))
    top = np.argsort(-scores, kind="stable")[:k]
    return FraudValidation(
        auprc=float(average_precision_score(labels, scores)),
        auc=float(roc_auc_score(labels, scores)),
        precision_at_k=float(labels[top].mean()),
        k=k,
        rows=len(labels),
        frauds=int(labels.sum()),
        best_iteration=int(best),
    )


def _reason(name: str, value: float, contribution: float) -> str:
    shown = "missing" if math.isnan(value) else f"{value:.2f}"
    return f"{name} = {shown} ({contribution:+.2f})"


def _splits(booster: Any) -> bool:
    """Whether any tree up to the best iteration splits at all."""
    best = booster.best_iteration or booster.num_trees()
    trees = booster.dump_model(num_iteration=best)["tree_info"]
    return any(tree["num_leaves"] > 1 for tree in trees)
