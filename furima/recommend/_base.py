"""The contract every candidate generator keeps.

A generator learns from :class:`~furima.catalog.Interactions` (dense indices) and scores
*histories*: each query is a user's items in time order, as dense item indices. Scoring from a
history rather than a user id is what lets a model answer users it never saw (fold-in, no
retraining), and "more like this" is a history of one listing. Like ``implicit``, queries are
batch-first and answers are ``(ids, scores)`` arrays with the history's items filtered out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.exceptions import NotFittedError

__all__ = ["CandidateGenerator", "Histories", "mask_scores", "top_k"]

Histories = Sequence[np.ndarray]
"""One int array of dense item indices per query, oldest first."""


class CandidateGenerator(ABC):
    """Scores every catalog item for each history.

    Subclasses store hyperparameters in ``__init__``, learn in :meth:`fit` (state in attributes
    ending in ``_``, ``n_items_`` among them) and implement :meth:`score`. :meth:`recommend`
    filters and ranks. :meth:`get_state` / :meth:`from_state` give plain data for saving:
    JSON-able parameters and numpy arrays (loaded with ``allow_pickle=False``).
    """

    name: ClassVar[str]

    @abstractmethod
    def fit(self, interactions: Interactions) -> Self:
        """Learn from the events; returns self."""

    @abstractmethod
    def score(self, histories: Histories) -> np.ndarray:
        """Scores, float32 ``[len(histories), n_items_]``; higher is better. Items in a
        history are not filtered here."""

    @abstractmethod
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Hyperparameters and learned scalars (JSON-able), and the learned arrays."""

    @classmethod
    @abstractmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        """A fitted generator from what :meth:`get_state` returned."""

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return int(self.n_items_)  # type: ignore[attr-defined]

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(interactions) first."
            )

    def recommend(
        self,
        histories: Histories,
        k: int = 10,
        *,
        filter_history: bool = True,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items per history, best first.

        Args:
            histories: One array of dense item indices per query.
            k: Items per query; fewer (padded with id ``-1`` and score ``-inf``) when fewer
                items are allowed.
            filter_history: Leave out the items each history already holds.
            allowed: Boolean mask over items (sold or unavailable listings ``False``).

        Returns:
            ``(ids, scores)``, both ``[len(histories), k]``.
        """
        scores = self.score(histories).astype(np.float32, copy=False)
        mask_scores(scores, histories if filter_history else None, allowed)
        return top_k(scores, k)


def mask_scores(
    scores: np.ndarray, histories: Histories | None, allowed: np.ndarray | None
) -> None:
    """Set the scores of history items and of items not ``allowed`` to ``-inf`` (in place)."""
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    if histories is not None:
        for row, history in enumerate(histories):
            scores[row, history] = -np.inf


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns per row, best first; ``-inf`` entries come back as id ``-1``."""
    n_items = scores.shape[1]
    k_eff = min(k, n_items)
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff] if k_eff else scores[:, :0]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1).astype(np.int64)
    best = np.take_along_axis(part_scores, order, axis=1)
    ids[~np.isfinite(best)] = -1
    if k_eff < k:
        ids = np.pad(ids, ((0, 0), (0, k - k_eff)), constant_values=-1)
        best = np.pad(best, ((0, 0), (0, k - k_eff)), constant_values=-np.inf)
    return ids, best.astype(np.float32)
