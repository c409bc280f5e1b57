"""Popularity: the items most interacted with, optionally favouring recent events."""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.recommend._base import CandidateGenerator, Histories
from furima.recommend._histories import check_histories

__all__ = ["Popularity"]


class Popularity(CandidateGenerator):
    """Scores every item by its weighted event count, the same for every history.

    Args:
        half_life: With a value, an event's weight halves every ``half_life`` timestamp units
            before the newest event (recent popularity); ``None`` counts all events alike.
    """

    name = "popularity"

    def __init__(self, half_life: float | None = None) -> None:
        self.half_life = half_life

    def fit(self, interactions: Interactions) -> Self:
        if self.half_life is not None and self.half_life <= 0:
            raise ValueError(f"`half_life` must be positive or None, but got {self.half_life}.")
        weight = interactions.weight.astype(np.float64)
        if self.half_life is not None and len(interactions):
            age = interactions.timestamp.max() - interactions.timestamp
            weight = weight * np.exp2(-age / self.half_life)
        counts = np.bincount(interactions.item, weights=weight, minlength=interactions.n_items)
        self.item_scores_ = counts.astype(np.float32)
        self.n_items_ = interactions.n_items
        return self

    def score(self, histories: Histories) -> np.ndarray:
        self._check_fitted()
        check_histories(histories, self.n_items_, "Popularity")
        return np.broadcast_to(self.item_scores_, (len(histories), self.n_items_)).copy()

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        return {"half_life": self.half_life}, {"item_scores": self.item_scores_}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(half_life=params["half_life"])
        model.item_scores_ = np.asarray(arrays["item_scores"], dtype=np.float32)
        model.n_items_ = len(model.item_scores_)
        return model
