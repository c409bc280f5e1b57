"""``LightGBMRanker``: gradient-boosted trees learning to rank (LambdaRank, XE-NDCG).

The strong default ranker. It learns graded relevance made of event gains (a purchase counts
more than a view: the gains are settings, not code), or, in per-event mode, the probability
of one event with a binary objective (the per-event baseline multi-task rankers are held
against). With a time budget the hyperparameters are searched by furima's AutoML ranking task;
the chosen settings are then trained once more into one LightGBM model, saved as LightGBM's
own text format beside a JSON manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from furima._artifacts import ArtifactKind, check_files, read_manifest, save_atomically, stamp
from furima.exceptions import DataError, ModelFormatError, NotFittedError
from furima.ranking._base import Ranker, RankingExamples

if TYPE_CHECKING:
    import lightgbm

__all__ = ["DEFAULT_GAINS", "LightGBMRanker"]

DEFAULT_GAINS: dict[str, int] = {"view": 1, "like": 2, "cart": 3, "purchase": 4, "buy": 4}
"""Graded relevance per event type when no gains are given (others count 1)."""
OBJECTIVES = ("lambdarank", "rank_xendcg")
FORMAT = "furima.lightgbm_ranker"
KIND = ArtifactKind(
    format=FORMAT,
    version=1,
    noun="furima LightGBM ranker",
    written_by="LightGBMRanker.save()",
    too_new="in format {saved}; this furima reads up to {supported}. Upgrade furima.",
    damaged="the ranker is damaged; save or fit it again.",
)
_BASE_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1e-3,
    "verbosity": -1,
}
_RENAMED = {"min_child_samples": "min_data_in_leaf", "min_sum_hessian": "min_sum_hessian_in_leaf"}


class LightGBMRanker(Ranker):
    """Learning to rank with LightGBM.

    Args:
        gains: Relevance per event type (integers; a row's grade is the largest gain among
            its events). Default: :data:`DEFAULT_GAINS` for the examples' events.
        label: Per-event mode: learn P(``label``) with a binary objective instead.
        objective: ``"lambdarank"`` or ``"rank_xendcg"`` (ranking mode).
        budget_s: Search hyperparameters with AutoML for this many seconds (at least 10);
            ``None``: LightGBM's usual settings, fast.
        max_trials: Stop the search after this many trials.
        rounds: Boosting rounds without validation examples (with them: early stopping, up
            to ``4 * rounds``).
        patience: Early stopping: rounds without improvement on the validation examples
            before boosting stops (their NDCG@10 or AUC is noisy: be patient).
        weight_column: A column of the examples' frame holding per-row weights (e.g.
            inverse-propensity weights), used when ``fit`` gets no ``weights``.
        threads: LightGBM threads (1 keeps small requests fast when serving).
        seed: Seeds LightGBM and the search.
    """

    name = "lightgbm"

    def __init__(
        self,
        gains: Mapping[str, int] | None = None,
        *,
        label: str | None = None,
        objective: str = "lambdarank",
        budget_s: float | None = None,
        max_trials: int | None = None,
        rounds: int = 200,
        patience: int = 100,
        weight_column: str | None = None,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        if objective not in OBJECTIVES:
            raise DataError(f"objective must be one of {OBJECTIVES}, but got {objective!r}.")
        self.gains = dict(gains) if gains is not None else None
        self.label = label
        self.objective = objective
        self.budget_s = budget_s
        self.max_trials = max_trials
        self.rounds = rounds
        self.patience = patience
        self.weight_column = weight_column
        self.threads = threads
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        train: RankingExamples,
        valid: RankingExamples | None = None,
        *,
        weights: np.ndarray | None = None,
    ) -> Self:
        """Learn from ``train``; ``valid`` (whole requests) stops boosting early.

        Args:
            weights: Per-row weights of ``train`` (inverse-propensity weights).
        """
        if not len(train):
            raise DataError("no training examples: give ranking examples with rows.")
        self.features_ = tuple(train.features)
        self.categorical_ = tuple(train.categorical)
        self.gains_ = self._gains(train)
        target = self._target(train)
        if self.label is None and not target.any():
            raise DataError("no example is relevant: every label is 0, nothing to rank by.")
        row_weights = self._weights(train, weights)
        searched = self._searched(train, target, valid) if self.budget_s is not None else {}
        self.params_ = {**self._params(), **searched}
        self.booster_ = self._train(train, target, row_weights, valid)
        return self

    def _gains(self, examples: RankingExamples) -> dict[str, int]:
        if self.label is not None:
            if self.label not in examples.events:
                raise DataError(
                    f"label {self.label!r} is not among the examples' events {examples.events}."
                )
            return {self.label: 1}
        gains = self.gains or {e: DEFAULT_GAINS.get(e, 1) for e in examples.events}
        bad = [e for e, g in gains.items() if int(g) != g or g < 0 or g > 30]
        if bad:
            raise DataError(f"gains must be integers in 0..30 (LightGBM's grades); check {bad}.")
        return {e: int(g) for e, g in gains.items()}

    def _target(self, examples: RankingExamples) -> np.ndarray:
        if self.label is not None:
            labels: np.ndarray = examples.labels(self.label)
            return labels
        grades: np.ndarray = np.rint(examples.relevance(self.gains_)).astype(np.float32)
        return grades

    def _weights(self, examples: RankingExamples, weights: np.ndarray | None) -> np.ndarray | None:
        if weights is None and self.weight_column is not None:
            if self.weight_column not in examples.frame.columns:
                raise DataError(f"the examples have no weight column {self.weight_column!r}.")
            weights = examples.frame[self.weight_column].to_numpy(np.float64)
        if weights is None:
            return None
        weights = np.asarray(weights, np.float64)
        if len(weights) != len(examples) or not np.all(np.isfinite(weights) & (weights >= 0)):
            raise DataError(
                f"weights must be one finite value >= 0 per example ({len(examples)}), but got "
                f"{len(weights)} values (a propensity of zero gives an infinite weight: clip it)."
            )
        return weights

    def _params(self) -> dict[str, Any]:
        objective = "binary" if self.label is not None else self.objective
        metric = "auc" if self.label is not None else "ndcg"
        params = {**_BASE_PARAMS, "objective": objective, "metric": metric}
        params |= {"num_threads": self.threads, "seed": self.seed, "deterministic": True}
        if self.label is None:
            params["eval_at"] = [10]
        return params

    def _dataset(
        self,
        examples: RankingExamples,
        target: np.ndarray,
        weights: np.ndarray | None,
        reference: lightgbm.Dataset | None = None,
    ) -> lightgbm.Dataset:
        import lightgbm

        group = examples.group_sizes() if self.label is None else None
        return lightgbm.Dataset(
            examples.matrix(),
            target,
            weight=weights,
            group=group,
            feature_name=[f"f{i}" for i in range(len(self.features_))],
            categorical_feature=[self.features_.index(c) for c in self.categorical_],
            reference=reference,
            free_raw_data=False,
        )

    def _train(
        self,
        train: RankingExamples,
        target: np.ndarray,
        weights: np.ndarray | None,
        valid: RankingExamples | None,
    ) -> lightgbm.Booster:
        import lightgbm

        data = self._dataset(train, target, weights)
        if valid is None or not len(valid):
            return lightgbm.train(self.params_, data, num_boost_round=self.rounds)
        checked = self._dataset(valid, self._target(valid), None, reference=data)
        booster = lightgbm.train(
            self.params_,
            data,
            num_boost_round=4 * self.rounds,
            valid_sets=[checked],
            callbacks=[lightgbm.early_stopping(self.patience, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
        return booster if best == booster.current_iteration() else _first(booster, best)

    def _searched(
        self, train: RankingExamples, target: np.ndarray, valid: RankingExamples | None
    ) -> dict[str, Any]:
        """The best hyperparameters AutoML finds within the budget."""
        from furima.automl import AutoML

        ranking = self.label is None
        automl = AutoML(
            "ranking" if ranking else "binary",
            "ndcg@10" if ranking else "auc",
            budget_s=float(self.budget_s or 0.0),
            max_trials=self.max_trials,
            families=("lightgbm",),
            group_column="request" if ranking else None,
            seed=self.seed,
            ensemble_size=1,
        )
        X, X_valid = _table(train, ranking), None if valid is None else _table(valid, ranking)
        y_valid = None if valid is None else self._target(valid)
        result = automl.fit(X, target, X_valid=X_valid, y_valid=y_valid)
        board = result.leaderboard
        params = board.loc[board["family"] == "lightgbm", "params"].iloc[0]
        return {
            _RENAMED.get(k[4:], k[4:]): v for k, v in params.items() if str(k).startswith("lgb_")
        }

    # ------------------------------------------------------------------ scoring
    def score(self, examples: RankingExamples) -> np.ndarray:
        self._check_fitted()
        missing = [c for c in self.features_ if c not in examples.frame.columns]
        if missing:
            raise DataError(f"the examples lack the features {missing} this ranker learned.")
        matrix = examples.frame[list(self.features_)].to_numpy(np.float32, na_value=np.nan)
        return self.score_matrix(matrix)

    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Scores of a feature matrix whose columns are :attr:`features_` (the fast path)."""
        self._check_fitted()
        if matrix.ndim != 2 or matrix.shape[1] != len(self.features_):
            raise DataError(
                f"expected a matrix of {len(self.features_)} feature columns, got {matrix.shape}."
            )
        raw = self.booster_.predict(matrix, raw_score=True, num_threads=self.threads)
        return np.asarray(raw, np.float64)

    def event_probabilities(self, examples: RankingExamples) -> dict[str, np.ndarray]:
        """Per-event mode only: P(``label``) per row (the binary objective's output)."""
        if self.label is None:
            raise NotImplementedError(
                "a LightGBM ranking model gives no per-event probabilities; use label= for one."
            )
        return {self.label: 1.0 / (1.0 + np.exp(-self.score(examples)))}

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("This LightGBMRanker is not fitted yet; call fit() or load().")

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> Path:
        from furima._artifacts import library_versions

        self._check_fitted()

        def write(folder: Path) -> None:
            (folder / "model.txt").write_text(self.booster_.model_to_string())
            manifest = {
                "format": FORMAT,
                "format_version": KIND.version,
                "versions": library_versions(("lightgbm", "numpy")),
                "settings": self._settings(),
                "features": list(self.features_),
                "categorical": list(self.categorical_),
                "gains": self.gains_,
                "params": json.loads(json.dumps(self.params_, default=str)),
            }
            stamp(folder, manifest)

        return save_atomically(Path(path), write)

    def _settings(self) -> dict[str, Any]:
        return {
            "gains": self.gains,
            "label": self.label,
            "objective": self.objective,
            "budget_s": self.budget_s,
            "max_trials": self.max_trials,
            "rounds": self.rounds,
            "patience": self.patience,
            "weight_column": self.weight_column,
            "threads": self.threads,
            "seed": self.seed,
        }

    @classmethod
    def load(cls, path: str | Path) -> Self:
        import lightgbm

        folder = Path(path)
        manifest = read_manifest(folder, KIND)
        check_files(folder, manifest, KIND)
        ranker = cls(**manifest["settings"])
        try:
            ranker.booster_ = lightgbm.Booster(model_str=(folder / "model.txt").read_text())
        except (lightgbm.basic.LightGBMError, OSError) as error:
            raise ModelFormatError(f"{str(folder)!r} holds no readable LightGBM model.") from error
        ranker.features_ = tuple(manifest["features"])
        ranker.categorical_ = tuple(manifest["categorical"])
        ranker.gains_ = dict(manifest["gains"])
        ranker.params_ = dict(manifest["params"])
        return ranker


def _table(examples: RankingExamples, with_request: bool) -> pd.DataFrame:
    """The features as AutoML reads them (plus the request column for ranking)."""
    table = pd.DataFrame(examples.matrix(), columns=list(examples.features))
    if with_request:
        table.insert(0, "request", examples.frame["request"].to_numpy())
    return table


def _first(booster: lightgbm.Booster, rounds: int) -> lightgbm.Booster:
    """The booster cut to its first ``rounds`` trees (what early stopping chose)."""
    import lightgbm

    return lightgbm.Booster(model_str=booster.model_to_string(num_iteration=rounds))
