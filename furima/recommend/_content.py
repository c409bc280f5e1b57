"""ContentSimilarity: listings that look like what the user looked at.

Scores come from the listings' own vectors (photo and title embeddings), not from who bought
what, so a listing posted a minute ago, with no interactions yet, is recommended as readily as
an old one: the cold-start half of a marketplace feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima.catalog._interactions import IdMap, Interactions
from furima.exceptions import DataError
from furima.recommend._base import CandidateGenerator, Histories
from furima.recommend._histories import check_decay, check_histories, history_matrix

if TYPE_CHECKING:
    from furima.search import SimilarSearch

__all__ = ["ContentSimilarity"]


class ContentSimilarity(CandidateGenerator):
    """Cosine between each item's vector and the history's recency-weighted mean vector.

    Vectors are L2-normalised on :meth:`fit`. Items with no vector (an all-zero row, e.g. a
    listing missing from the feature pool) score 0 for every history, as does every item for
    an empty history or one whose items all lack vectors.

    Args:
        vectors: float ``[n_items, d]``, row ``i`` for dense item ``i`` of the
            interactions this model is fitted on (see :meth:`from_pool`).
        decay: Recency weighting of the history, in (0, 1] (1: every item alike).
    """

    name = "content"

    def __init__(self, vectors: np.ndarray, decay: float = 0.7) -> None:
        self.vectors = vectors
        self.decay = decay

    @classmethod
    def from_pool(
        cls,
        pool: SimilarSearch,
        item_ids: IdMap | Sequence[Any] | np.ndarray,
        *,
        decay: float = 0.7,
    ) -> Self:
        """Item vectors from a :class:`~furima.search.SimilarSearch` pool (the vectors its
        "more like this" searches with: joint photo-text embeddings where it has them).

        ``item_ids``: the listing id of each dense item, in order (``interactions.items``);
        listings not in the pool get no vector.
        """
        ids = _listing_ids(item_ids)
        index = pool.indexes["photos"] if "photos" in pool.indexes else pool.indexes["titles"]
        known = index.contains(ids)
        if not known.any():
            raise DataError(
                f"none of the {len(ids)} item ids are in the pool (e.g. {ids[:3].tolist()}); "
                "pass the listing ids of the interactions' items (interactions.items)."
            )
        vectors = np.zeros((len(ids), index.dim), dtype=np.float32)
        vectors[known] = index.get_vectors(ids[known])
        return cls(vectors, decay=decay)

    def fit(self, interactions: Interactions) -> Self:
        check_decay(self.decay, "ContentSimilarity")
        vectors = np.asarray(self.vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != interactions.n_items:
            raise DataError(
                f"ContentSimilarity: vectors must be [n_items, d] = "
                f"[{interactions.n_items}, d], one row per item of the interactions, but got "
                f"shape {vectors.shape}."
            )
        if not np.isfinite(vectors).all():
            raise DataError("ContentSimilarity: vectors hold NaN or infinite values.")
        self.vectors_ = _normalised(vectors)
        self.n_items_ = interactions.n_items
        return self

    def score(self, histories: Histories) -> np.ndarray:
        self._check_fitted()
        checked = check_histories(histories, self.n_items_, "ContentSimilarity")
        profiles = history_matrix(checked, self.n_items_, self.decay) @ self.vectors_
        return np.asarray(_normalised(profiles) @ self.vectors_.T, dtype=np.float32)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        return {"decay": self.decay}, {"vectors": self.vectors_}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        vectors = np.asarray(arrays["vectors"], dtype=np.float32)
        model = cls(vectors, decay=params["decay"])
        model.vectors_ = vectors
        model.n_items_ = len(vectors)
        return model


def _normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0).astype(np.float32)


def _listing_ids(item_ids: IdMap | Sequence[Any] | np.ndarray) -> np.ndarray:
    values = item_ids.ids if isinstance(item_ids, IdMap) else np.asarray(item_ids)
    try:
        return np.asarray(values).astype(np.int64)
    except (TypeError, ValueError) as error:
        raise DataError(
            "ContentSimilarity.from_pool: item ids must be integer listing ids, as the pool "
            f"stores them, but could not convert them ({error})."
        ) from error
