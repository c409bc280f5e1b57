"""Level 2: gradient-boosted blend of member evidence, with calibrated price intervals.

The point estimate is a LightGBM regression on the members' out-of-fold evidence, a ridge
linear blend of the price estimates, or a weighted mean of the two, whichever does best out of
fold (the two err differently, so their mean usually beats either). The
interval is conformalized quantile regression (Romano et al., 2019): LightGBM quantile models
give a listing-specific low/high, and a margin learned on cross-fitted residuals widens or
narrows them so that the stated share of listings falls inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import lightgbm

__all__ = ["Stacker"]

_BASE_PARAMS: dict[str, Any] = {
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "force_col_wise": True,
}
# Below this many rows one thread is as fast, and OpenMP threads that spin-wait for busy cores
# slow a shared machine down badly.
_SINGLE_THREAD_ROWS = 50_000
_PATIENCE = 50
# Candidate weights of the linear blend in the point estimate (the rest is boosting).
_LINEAR_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class Stacker:
    """Point and interval models over level-1 evidence (log-price space).

    Args:
        coverage: Target share of listings inside the interval (0.8 = 10th to 90th).
        n_rounds: Most boosting rounds; the cross-fitted point models stop early, and their
            mean best round count is used for every final model.
        n_folds: Folds used to calibrate the interval margin.
        n_threads: LightGBM threads.
        random_state: Seed for folds and bagging.
        estimate_columns: Columns of the evidence that are log-price estimates; a linear
            blend of these competes with boosting (none: boosting only).
    """

    coverage: float = 0.8
    n_rounds: int = 1000
    n_folds: int = 3
    n_threads: int = 2
    random_state: int = 0
    estimate_columns: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    models_: dict[str, lightgbm.Booster] = field(default_factory=dict, init=False)
    margin_: float = field(default=0.0, init=False)
    rounds_: int = field(default=0, init=False)
    point_model_: str = field(default="boosted", init=False)
    linear_weight_: float = field(default=0.0, init=False)
    linear_: LinearBlend | None = field(default=None, init=False)
    oof_point_: np.ndarray = field(default_factory=lambda: np.empty(0), init=False)
    oof_interval_: np.ndarray = field(default_factory=lambda: np.empty((0, 2)), init=False)

    def _objectives(self) -> dict[str, dict[str, Any]]:
        tail = (1.0 - self.coverage) / 2.0
        return {
            "point": {"objective": "regression"},
            "low": {"objective": "quantile", "alpha": tail},
            "high": {"objective": "quantile", "alpha": 1.0 - tail},
        }

    def _train(
        self,
        name: str,
        z: np.ndarray,
        y: np.ndarray,
        rounds: int,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> lightgbm.Booster:
        import lightgbm

        params = {
            **_BASE_PARAMS,
            **self._objectives()[name],
            "num_threads": 1 if len(y) < _SINGLE_THREAD_ROWS else self.n_threads,
            "seed": self.random_state,
        }
        if valid is None:
            return lightgbm.train(params, lightgbm.Dataset(z, y), num_boost_round=rounds)
        return lightgbm.train(
            params,
            lightgbm.Dataset(z, y),
            num_boost_round=rounds,
            valid_sets=[lightgbm.Dataset(*valid)],
            callbacks=[lightgbm.early_stopping(_PATIENCE, verbose=False)],
        )

    def fit(self, z: np.ndarray, y: np.ndarray) -> Stacker:
        """Cross-fit to choose the number of rounds and calibrate the interval margin, then fit
        the final models on all rows."""
        from sklearn.model_selection import KFold

        folds = list(KFold(self.n_folds, shuffle=True, random_state=self.random_state).split(z))
        self.oof_point_ = np.empty(len(y))
        best_rounds = []
        for train, held_out in folds:
            point = self._train(
                "point", z[train], y[train], self.n_rounds, (z[held_out], y[held_out])
            )
            best_rounds.append(point.best_iteration or self.n_rounds)
            self.oof_point_[held_out] = point.predict(z[held_out], num_iteration=best_rounds[-1])
        self.rounds_ = max(_PATIENCE, int(np.mean(best_rounds)))
        if len(self.estimate_columns):
            self._choose_point_model(z, y, folds)
        self.oof_interval_ = np.empty((len(y), 2))
        for train, held_out in folds:
            for column, name in enumerate(("low", "high")):
                model = self._train(name, z[train], y[train], self.rounds_)
                self.oof_interval_[held_out, column] = model.predict(z[held_out])
        self.margin_ = _conformal_margin(self.oof_interval_, y, self.coverage)
        self.oof_interval_ += np.array([-self.margin_, self.margin_])
        self.models_ = {name: self._train(name, z, y, self.rounds_) for name in self._objectives()}
        if self.linear_weight_ > 0.0:
            self.linear_ = LinearBlend.fit(z, y, self.estimate_columns)
        return self

    def _choose_point_model(
        self, z: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
    ) -> None:
        """Weigh the boosted blend against a ridge-regularised linear blend by their error out
        of fold: the linear one often wins on small catalogs where boosting overfits, and a
        mean of the two usually beats both."""
        linear = np.empty(len(y))
        for train, held_out in folds:
            blend = LinearBlend.fit(z[train], y[train], self.estimate_columns)
            linear[held_out] = blend.predict(z[held_out])
        errors = [
            np.sqrt(np.mean(((1.0 - w) * self.oof_point_ + w * linear - y) ** 2))
            for w in _LINEAR_WEIGHTS
        ]
        self.linear_weight_ = _LINEAR_WEIGHTS[int(np.argmin(errors))]
        self.point_model_ = {0.0: "boosted", 1.0: "linear"}.get(self.linear_weight_, "blend")
        self.oof_point_ = (1.0 - self.linear_weight_) * self.oof_point_ + (
            self.linear_weight_ * linear
        )

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point, low and high log prices; low <= point <= high always holds."""
        threads = 1 if len(z) < _SINGLE_THREAD_ROWS else self.n_threads
        point, low, high = (
            np.asarray(self.models_[name].predict(z, num_threads=threads), dtype=np.float64)
            for name in ("point", "low", "high")
        )
        if self.linear_ is not None:
            w = self.linear_weight_
            point = (
                self.linear_.predict(z)
                if w == 1.0
                else (1.0 - w) * point + w * self.linear_.predict(z)
            )
        low, high = low - self.margin_, high + self.margin_
        return point, np.minimum(low, point), np.maximum(high, point)


@dataclass
class LinearBlend:
    """Ridge regression on standardised price estimates, solved in closed form.

    Only the ``columns`` that are themselves log-price estimates enter: counts and similarity
    scores shift between cross-fitted and refitted members, which a linear model would
    extrapolate.
    """

    columns: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(
        cls, z: np.ndarray, y: np.ndarray, columns: np.ndarray, alpha: float = 1.0
    ) -> LinearBlend:
        z = z[:, columns]
        mean, scale = z.mean(0), z.std(0)
        scale = np.where(scale > 0, scale, 1.0)
        x = (z - mean) / scale
        gram = x.T @ x + alpha * np.eye(x.shape[1])
        coef = np.linalg.solve(gram, x.T @ (y - y.mean()))
        return cls(columns, mean, scale, coef, float(y.mean()))

    def predict(self, z: np.ndarray) -> np.ndarray:
        x = (z[:, self.columns] - self.mean) / self.scale
        # Row by row, not BLAS: a listing gets the same price alone as in a batch.
        return np.asarray((x * self.coef).sum(axis=1) + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        arrays = ("columns", "mean", "scale", "coef")
        return {k: getattr(self, k).tolist() for k in arrays} | {"intercept": self.intercept}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> LinearBlend:
        arrays = {k: np.asarray(state[k], dtype=np.float64) for k in ("mean", "scale", "coef")}
        columns = np.asarray(state["columns"], dtype=np.int64)
        return cls(columns, **arrays, intercept=float(state["intercept"]))


def _conformal_margin(interval: np.ndarray, y: np.ndarray, coverage: float) -> float:
    """The CQR margin: the finite-sample ``coverage`` quantile of the conformity scores."""
    scores = np.maximum(interval[:, 0] - y, y - interval[:, 1])
    level = min(1.0, np.ceil((len(y) + 1) * coverage) / len(y))
    return float(np.quantile(scores, level, method="higher"))
