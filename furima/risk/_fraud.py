"""Fraud scoring for payment transactions: entity features, a time-honest split, a model.

:class:`FraudScorer` trains on the past and validates on the future with labels that arrive
late (:func:`~furima.risk.time_split`), describes each payment by what was known about its
card and terminal at that moment (:class:`~furima.risk.EntityFeatures`), and scores it with
LightGBM, explained by its three largest per-feature contributions (TreeSHAP,
``pred_contrib``), or with a search of the AutoML engine's model families (no reasons); see
:mod:`furima.risk._fraud_model`. New payments are scored against the history kept from
``fit``, so a card's past counts, and :meth:`FraudScorer.remember` adds scored payments to
that history, so a card paying five times since the fit looks like it; :meth:`FraudScorer.drift`
says how far their inputs and scores moved from the validation side's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.exceptions import DataError, NotFittedError
from furima.risk import _fraud_model as models
from furima.risk._alerts import cost_threshold as _cost_threshold
from furima.risk._entity_features import NS_PER_DAY, EntityFeatures
from furima.risk._fraud_checks import check_columns, check_labels, check_raw_features
from furima.risk._fraud_drift import SCORE, drift_table, reference_sample
from furima.risk._fraud_history import HistoryIndex, lock_of, recent_rows, remembered_labels
from furima.risk._fraud_model import FraudValidation
from furima.risk._time_split import TimeSplit, time_split, times_as_ns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FraudScorer", "FraudValidation"]


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
        model: ``"lightgbm"`` (per-feature reasons) or ``"automl"`` (the AutoML engine's
            families searched on the training side, metric AUPRC; no reasons).
        seed: Seed of the model (and of the drift reference sample).
        learning_rate: LightGBM learning rate.
        max_rounds: Most boosting rounds (early stopping usually ends sooner).
        label_time: Optional column of when each label became known, for the split (a label
            dated before its payment is refused); entity features use ``label_delay_days``.
        families: AutoML model families (``None``: all the engine has).
        budget_s: AutoML wall-clock budget in seconds (at least 10).
        max_trials: AutoML stops after this many trials, budget left or not.
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
        label_time: str | None = None,
        families: Sequence[str] | None = None,
        budget_s: float = 120.0,
        max_trials: int | None = None,
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
        self.label_time = label_time
        self.families = None if families is None else tuple(families)
        self.budget_s = budget_s
        self.max_trials = max_trials

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, *, valid_share: float = 0.2) -> FraudScorer:
        """Train on the earlier ``1 - valid_share`` of rows (labels known by the cutoff),
        measure on the rest (LightGBM also early-stops on it).

        Raises:
            SchemaError: missing time, label, amount, key or feature columns; non-numeric
                features.
            DataError: an unknown model or bad model settings, labels other than 0/1, a raw
                feature constant or missing throughout, a table the time split refuses (one
                class on a side, unparsable times, labels from the future...), or bad entity
                feature settings.
        """
        engine = self._check_settings()
        self._check_columns(frame, need_label=True)
        check_labels(frame, self.label)
        check_raw_features(frame, self._raw_columns())
        split = self._split(self._with_features(frame), valid_share)
        self.feature_names_ = self._feature_columns()
        train_labels = split.train[self.label].to_numpy()
        valid_inputs = split.valid[self.feature_names_]
        if engine is None:
            self._fit_lightgbm(split, train_labels)
            best = int(self.booster_.best_iteration)
        else:
            moments = times_as_ns(split.train, self.time)
            train_inputs = split.train[self.feature_names_]
            self.automl_ = models.fit_automl(engine, train_inputs, train_labels, moments)
            best = 0
        valid_scores = self._probabilities(valid_inputs.to_numpy(dtype=np.float64))
        valid_labels = split.valid[self.label].to_numpy(dtype=np.float64)
        self.validation_ = models.validation_metrics(valid_labels, valid_scores, best)
        self.validation_scores_ = valid_scores
        self._validation_outcomes = (
            valid_labels,
            split.valid[self.amount].to_numpy(dtype=np.float64),
        )
        self.reference_ = reference_sample(valid_inputs, valid_scores, self.seed)
        self.cutoff_ = split.cutoff
        self.history_ = self._recent_history(frame)
        return self

    def _split(self, table: pd.DataFrame, valid_share: float) -> TimeSplit:
        return time_split(
            table,
            time=self.time,
            label=self.label,
            valid_share=valid_share,
            label_delay=self.label_delay_days * 86_400.0,
            label_time=self.label_time,
        )

    def _fit_lightgbm(self, split: TimeSplit, train_labels: np.ndarray) -> None:
        self.positive_weight_ = models.positive_weight(train_labels)
        params = models.lightgbm_params(self.learning_rate, self.positive_weight_, self.seed)
        names = self.feature_names_
        self.booster_ = models.train_lightgbm(
            params,
            (split.train[names], train_labels),
            (split.valid[names], split.valid[self.label].to_numpy()),
            self.max_rounds,
        )

    @property
    def gives_reasons(self) -> bool:
        """Whether :meth:`score` can explain scores (only ``model="lightgbm"`` can)."""
        return self.model == "lightgbm"

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
        label_delay`` days of the fitted table, labels known, and the payments
        :meth:`remember` added since) followed by ``frame``, whose own labels are treated as
        not yet known. Only history strictly before ``frame``'s first moment is used, so
        rescoring rows already kept does not count them twice. Scoring alone never changes
        the history.

        Returns:
            A frame with ``frame``'s index, a ``score`` column (probability of fraud) and,
            with ``reasons=True``, a ``reasons`` column: per row a list of the three
            features that moved the score most, as ``"name = value (+contribution)"``, the
            contribution in log-odds.

        Raises:
            DataError: ``reasons=True`` for a model that gives none (``model="automl"``).

        Reasons come from TreeSHAP and cost about 0.3 ms a row (one core): for big batches
        pass ``reasons=False`` and explain only the rows that raise alerts.
        """
        import pandas as pd

        scores, why, _ = self.score_rows(frame, reasons=reasons)
        out = pd.DataFrame({"score": scores}, index=frame.index)
        if why is not None:
            out["reasons"] = why
        return out

    def score_rows(
        self, frame: pd.DataFrame, *, reasons: bool = True
    ) -> tuple[np.ndarray, list[list[str]] | None, np.ndarray]:
        """:meth:`score`'s scores and reasons (``None`` unless asked for) as plain values,
        with the model inputs of each row (columns ``feature_names_``): what the server
        scores with, and keeps for its drift report."""
        self._check_fitted()
        if reasons and not self.gives_reasons:
            raise DataError(
                f"this scorer's model ({self.model}) gives no per-feature reasons; score "
                f"with reasons=False or fit model='lightgbm'"
            )
        self._check_columns(frame, need_label=False)
        with lock_of(self):
            inputs = self._inputs_for_new(frame)
        scores = self._probabilities(inputs)
        why = None
        if reasons:
            why = models.lightgbm_reasons(self.booster_, inputs, self.feature_names_)
        return scores, why, inputs

    def drift(self, frame: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
        """PSI of every model input and of the score between the validation side kept at
        ``fit`` (a seeded sample of at most 5,000 rows) and the transactions ``frame``
        (scored as :meth:`score` does); see :func:`~furima.risk._fraud_drift.drift_table`.

        Raises:
            DataError: fewer than 100 transactions in ``frame``.
        """
        import pandas as pd

        scores, _, inputs = self.score_rows(frame, reasons=False)
        recent = pd.DataFrame(inputs, columns=self.feature_names_)
        recent[SCORE] = scores
        return drift_table(self.reference_, recent, self.feature_names_, bins=bins)

    def _features_for_new(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model inputs of new transactions, named ``feature_names_``, ``frame``'s index."""
        import pandas as pd

        inputs = self._inputs_for_new(frame)
        return pd.DataFrame(inputs, columns=self.feature_names_, index=frame.index)

    def _inputs_for_new(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`_features_for_new` as a plain matrix (no frame to build: a served payment
        is scored in a few milliseconds, mostly table handling)."""
        raw = frame[self._raw_columns()].to_numpy(dtype=np.float64)
        if not self.keys:
            return raw
        table, past = self._history_index().with_past(frame)
        entity = self._entity_features().transform(table).to_numpy(dtype=np.float64)
        return np.hstack([raw, entity[past:]])

    # --------------------------------------------------------------- memory
    def remember(self, frame: pd.DataFrame) -> int:
        """Add scored transactions to the kept history, so that later payments of the same
        card, terminal... count them, as :meth:`score` counts the fitted ones (only those at
        strictly earlier times).

        Their labels are unknown (they count in counts, amounts and recency, not in fraud
        shares) unless ``frame`` carries the label column with 0/1 values (labelled data
        replayed). A row repeating a kept one (same keys, time and amount: a retried
        payment) is skipped. Rows older than the newest kept time minus the entity features'
        reach (longest window plus label delay) are dropped now and then as the history
        grows. Safe to call from several threads; a scorer without keys keeps no history.

        Returns:
            How many rows were added.

        Raises:
            NotFittedError: before ``fit``.
            SchemaError: a missing time, amount or key column; a non-numeric amount or label.
            DataError: no rows, unparsable times, missing or infinite amounts or keys, labels
                other than 0/1 (nothing is kept then).
        """
        self._check_fitted()
        self._check_columns(frame, need_label=False)
        labels = remembered_labels(frame, self.label)
        if not self.keys:
            return 0
        with lock_of(self):
            index = self._history_index()
            added = index.append(frame, labels)
            if index.needs_compacting():
                self._fold_remembered()
        return added

    @property
    def history_(self) -> pd.DataFrame:
        """The kept history: the fitted table's rows within the entity features' reach of
        its end, and the remembered ones (folded in here, rows out of reach dropped)."""
        if "_history" not in self.__dict__:
            raise AttributeError("history_")
        self._fold_remembered()
        return self._history

    @history_.setter
    def history_(self, history: pd.DataFrame) -> None:
        with lock_of(self):
            self._history = history
            self._index: HistoryIndex | None = None

    @property
    def history_dtypes_(self) -> pd.Series:
        """The kept history's column types, without folding remembered rows in (cheap)."""
        self._check_fitted()
        return self._history.dtypes

    def _fold_remembered(self) -> None:
        with lock_of(self):
            index = self.__dict__.get("_index")
            if index is not None and index.appended:
                self._history = index.compacted()
                self._index = None  # rebuilt on next use

    def _history_index(self) -> HistoryIndex:
        """Built on first use (after fit, load or a fold); callers hold the lock."""
        index = self.__dict__.get("_index")
        if index is None:
            index = HistoryIndex(
                self._history,
                time=self.time,
                amount=self.amount,
                label=self.label,
                keys=self.keys,
                reach_ns=self._reach_ns(),
            )
            self._index = index
        return index

    def _reach_ns(self) -> int:
        """How far back entity features look: the longest window plus the label delay."""
        return round((max(self.windows_days) + self.label_delay_days) * NS_PER_DAY)

    def _probabilities(self, inputs: np.ndarray) -> np.ndarray:
        if self.model == "automl":
            import pandas as pd

            table = pd.DataFrame(inputs, columns=self.feature_names_)
            return np.asarray(self.automl_.predict_proba(table), dtype=np.float64)
        return models.lightgbm_probabilities(self.booster_, inputs, self.positive_weight_)

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

        extra = [self.label_time] if self.label_time is not None else []
        columns = [self.time, self.label, *extra, *self._raw_columns()]
        table = frame[columns].astype({name: np.float64 for name in self._raw_columns()})
        if not self.keys:
            return table
        entity = self._entity_features().transform(frame)
        return pd.concat([table, entity], axis=1)

    def _recent_history(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The fitted rows that entity features of later payments can still look at."""
        if not self.keys:
            return frame.iloc[:0][[self.time]]
        columns = [*self._history_columns(), self.label]
        return recent_rows(frame, self.time, columns, self._reach_ns())

    # ----------------------------------------------------------- validation
    def _check_settings(self) -> Any:
        """Refuse bad settings before any compute; the AutoML engine for ``"automl"``."""
        if self.model not in models.MODELS:
            raise DataError(f"model must be 'lightgbm' or 'automl', got {self.model!r}")
        if isinstance(self.max_rounds, bool) or self.max_rounds < 1:
            raise DataError(f"max_rounds must be a positive integer, got {self.max_rounds!r}")
        if not (0 < self.learning_rate <= 1):
            raise DataError(f"learning_rate must be in (0, 1], got {self.learning_rate!r}")
        if self.keys:
            self._entity_features()  # refuses bad windows, delays and repeated keys
        if self.model != "automl":
            return None
        return models.automl_engine(self.families, self.budget_s, self.max_trials, self.seed)

    def _check_columns(self, frame: pd.DataFrame, *, need_label: bool) -> None:
        check_columns(
            frame,
            time=self.time,
            raw=self._raw_columns(),
            keys=self.keys,
            label=self.label if need_label else None,
            label_time=self.label_time if need_label else None,
        )

    def _check_fitted(self) -> None:
        if "_history" not in self.__dict__:
            raise NotFittedError("this FraudScorer is not fitted yet; call fit(frame) first")

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted scorer to the folder ``path`` atomically, in open formats (the
        LightGBM text model, Parquet history, a JSON manifest; an AutoML model in its own
        format, in a subfolder); see :mod:`furima.risk._persistence`."""
        from furima.risk._persistence import save_fraud_scorer

        return save_fraud_scorer(self, path)

    @classmethod
    def load(cls, path: str | Path) -> FraudScorer:
        """Load a scorer written by :meth:`save`; a damaged or foreign folder raises
        :class:`~furima.exceptions.ModelFormatError`."""
        from furima.risk._persistence import load_fraud_scorer

        return load_fraud_scorer(path)
