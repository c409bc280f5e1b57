"""Candidate pairs for product matching: each new listing's nearest catalog listings.

Scoring a new listing against every catalog listing costs one model call per listing in the
catalog; a vector index over text embeddings (:class:`~furima.index.VectorIndex`, FAISS)
finds the ``k`` nearest first, so only those pairs are scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, EmptyDataError

if TYPE_CHECKING:
    from furima.index import VectorIndex

__all__ = ["catalog_index", "nearest_pairs"]


def catalog_index(catalog_ids: Any, catalog_vectors: Any) -> VectorIndex:
    """A cosine vector index over the catalog (or the index given, checked non-empty)."""
    from furima.index import VectorIndex

    if isinstance(catalog_vectors, VectorIndex):
        if len(catalog_vectors) == 0:
            raise EmptyDataError(_EMPTY)
        return catalog_vectors
    vectors = np.asarray(catalog_vectors, dtype=np.float32)
    ids = np.asarray(catalog_ids)
    if vectors.ndim != 2 or len(vectors) == 0:
        if vectors.size == 0:
            raise EmptyDataError(_EMPTY)
        raise DataError(
            f"`catalog_vectors` must be a 2-D array [n_listings, dim], but got shape "
            f"{vectors.shape}. Build it with ProductMatcher.encode_listings(catalog)."
        )
    if ids.shape != (len(vectors),):
        raise DataError(
            f"`catalog_ids` must hold one id per row of `catalog_vectors` ({len(vectors)}), "
            f"but got shape {ids.shape}."
        )
    index = VectorIndex(vectors.shape[1], metric="cosine", expected_size=len(vectors))
    return index.add(ids, vectors)


_EMPTY = (
    "The catalog is empty: there is nothing to match against. Add catalog listings "
    "(ids and vectors from ProductMatcher.encode_listings) first."
)


def nearest_pairs(
    index: VectorIndex, listings: pd.DataFrame, vectors: np.ndarray, k: int
) -> pd.DataFrame:
    """One row per (listing, candidate): ``listing``, ``candidate_id``, ``similarity``, ``rank``."""
    if not isinstance(k, int | np.integer) or k < 1:
        raise DataError(f"`k` must be a positive integer, but got {k!r}.")
    ids, scores = index.search(vectors, k=int(min(k, len(index))))
    rows, ranks = np.nonzero(ids >= 0)
    return pd.DataFrame(
        {
            "listing": listings.index.to_numpy()[rows],
            "candidate_id": ids[rows, ranks],
            "similarity": scores[rows, ranks].astype(np.float64),
            "rank": ranks,
        }
    )
