"""The reward model behind the direct method and doubly robust estimates: cross-fitted.

A classifier learns ``P(reward = 1 | round, action, position)`` from the logged pairs, on the
round's context, the action's features, the round-and-action features (a user's affinity to
the item) and the position. Each round's expected rewards are predicted by a model that did
not see that round (``folds``-fold cross-fitting, as the Open Bandit Pipeline's
``RegressionModel.fit_predict`` does), so DR's correction term is not fitted to its own noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from furima.exceptions import ExperimentDataError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from furima.experiments._ope import LoggedBandit

__all__ = ["REGULARIZATION_GRID", "RewardModel"]

# Candidate inverse L2 strengths for regularization="auto", strongest first.
REGULARIZATION_GRID: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)


@dataclass(frozen=True, eq=False)
class RewardModel:
    """A cross-fitted click model: ``fit_predict`` returns ``q(round, action)`` at each
    round's logged position, shape ``(rounds, actions)``.

    Attributes:
        classifier: ``"logistic"`` (scikit-learn logistic regression), ``"lightgbm"``, or an
            unfitted scikit-learn-style classifier (cloned for each fold).
        folds: Cross-fitting folds (at least 2).
        action_features: Features of each action, shape ``(actions, features)`` (item
            features), or ``None``.
        action_indicators: Add one indicator column per action, so the model can learn each
            action's own click rate beyond what its features say.
        regularization: Inverse L2 strength ``C`` of the logistic regression, or ``"auto"``:
            the value in ``REGULARIZATION_GRID`` with the least out-of-fold log-loss on the
            logged pairs (clicks are rare and often barely predictable, so a strongly
            regularised, nearly constant model is frequently the honest one).
        seed: Seeds the folds and the classifier.
    """

    classifier: Literal["logistic", "lightgbm"] | Any = "logistic"
    folds: int = 3
    action_features: ArrayLike | None = None
    action_indicators: bool = False
    regularization: float | Literal["auto"] = "auto"
    seed: int = 0

    def fit_predict(self, logged: LoggedBandit, n_actions: int) -> np.ndarray:
        """Cross-fitted expected rewards of every action in every round.

        Raises:
            ExperimentDataError: rewards that are not 0/1, fewer rounds than folds, or
                action features of the wrong shape.
        """
        self._check(logged, n_actions)
        if self.regularization == "auto":
            return self.tuned(logged, n_actions).fit_predict(logged, n_actions)
        expected = np.empty((logged.n_rounds, n_actions))
        for train, test in self._splits(logged):
            expected[test] = self._fit_fold(logged, n_actions, train, test)
        return expected

    def tuned(self, logged: LoggedBandit, n_actions: int) -> RewardModel:
        """This model with ``regularization`` chosen by out-of-fold log-loss on the logged
        pairs (unchanged unless it is ``"auto"`` and the classifier is ``"logistic"``)."""
        if self.regularization != "auto":
            return self
        if self.classifier != "logistic":
            return replace(self, regularization=1.0)
        self._check(logged, n_actions)
        losses = [self._out_of_fold_loss(logged, n_actions, c) for c in REGULARIZATION_GRID]
        return replace(self, regularization=REGULARIZATION_GRID[int(np.argmin(losses))])

    def _out_of_fold_loss(self, logged: LoggedBandit, n_actions: int, strength: float) -> float:
        candidate = replace(self, regularization=strength)
        predicted = np.empty(logged.n_rounds)
        for train, test in self._splits(logged):
            scores = candidate._fit_fold(logged, n_actions, train, test, only_logged=True)
            predicted[test] = scores[:, 0]
        predicted = np.clip(predicted, 1e-12, 1 - 1e-12)
        rewards = logged.rewards
        return float(-np.mean(rewards * np.log(predicted) + (1 - rewards) * np.log1p(-predicted)))

    def _splits(self, logged: LoggedBandit) -> list[tuple[np.ndarray, np.ndarray]]:
        from sklearn.model_selection import KFold

        splitter = KFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        return list(splitter.split(np.arange(logged.n_rounds)))

    def _fit_fold(
        self,
        logged: LoggedBandit,
        n_actions: int,
        train: np.ndarray,
        test: np.ndarray,
        *,
        only_logged: bool = False,
    ) -> np.ndarray:
        """Fit on ``train`` rounds; predict every action of the ``test`` rounds (shape
        ``(test, actions)``), or only their logged actions (shape ``(test, 1)``)."""
        width = 1 if only_logged else n_actions
        labels = logged.rewards[train]
        if labels.min() == labels.max():
            return np.full((test.size, width), float(labels[0]))
        model = self._new_classifier()
        model.fit(self._features(logged, n_actions, train, logged.actions[train]), labels)
        if only_logged:
            rows, actions = test, logged.actions[test]
        else:
            rows, actions = np.repeat(test, n_actions), np.tile(np.arange(n_actions), test.size)
        scores = model.predict_proba(self._features(logged, n_actions, rows, actions))
        return np.asarray(scores[:, 1], dtype=float).reshape(test.size, width)

    def _features(
        self, logged: LoggedBandit, n_actions: int, rows: np.ndarray, actions: np.ndarray
    ) -> np.ndarray:
        """One feature row per (round, action) pair, at the round's logged position: blocks
        looked up per round and per action, written into one float32 matrix."""
        blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (table, index into it)
        if logged.contexts is not None:
            blocks.append((logged.contexts.astype(np.float32), rows))
        if self.action_features is not None:
            blocks.append((np.asarray(self.action_features, dtype=np.float32), actions))
        if self.action_indicators:
            blocks.append((np.eye(n_actions, dtype=np.float32), actions))
        if logged.positions is not None:
            n_positions = int(logged.positions.max()) + 1
            blocks.append((np.eye(n_positions, dtype=np.float32), logged.positions[rows]))
        pair = None
        if logged.action_contexts is not None:
            pair = logged.action_contexts[rows, actions].reshape(rows.size, -1)
        width = sum(table.shape[1] for table, _ in blocks) + (0 if pair is None else pair.shape[1])
        out = np.empty((rows.size, width), dtype=np.float32)
        start = 0
        for table, index in blocks:
            out[:, start : start + table.shape[1]] = table[index]
            start += table.shape[1]
        if pair is not None:
            out[:, start:] = pair
        return out

    def _new_classifier(self) -> Any:
        if self.classifier == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=self.regularization, max_iter=2000)
        if self.classifier == "lightgbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(
                n_estimators=100,
                learning_rate=0.05,
                num_leaves=7,
                min_child_samples=20,
                random_state=self.seed,
                n_jobs=1,
                verbose=-1,
            )
        from sklearn.base import clone

        return clone(self.classifier)

    def _check(self, logged: LoggedBandit, n_actions: int) -> None:
        if not np.all(np.isin(logged.rewards, (0.0, 1.0))):
            raise ExperimentDataError(
                "the reward model is a classifier, so rewards must be 0 or 1, but the log has "
                f"others (e.g. {logged.rewards[~np.isin(logged.rewards, (0.0, 1.0))][0]:g}); "
                "pass expected rewards as an array (reward_model=...) or use ips/snips."
            )
        if not 2 <= self.folds <= logged.n_rounds:
            raise ExperimentDataError(
                f"folds must be between 2 and the number of rounds ({logged.n_rounds}), "
                f"got {self.folds}."
            )
        if self.action_features is not None:
            shape = np.shape(self.action_features)
            if len(shape) != 2 or shape[0] != n_actions:
                raise ExperimentDataError(
                    f"action_features has shape {shape} but the policy has {n_actions} "
                    "actions: pass one row of features per action."
                )
