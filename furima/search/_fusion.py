"""Reciprocal rank fusion: several ranked lists of the same listings become one.

Each list gives a listing ``weight / (k + rank)`` (rank 1 first); a listing's fused score is
the sum over the lists that hold it (Cormack, Clarke and Buettcher, 2009). It reads only the
ranks, so BM25 scores and cosine similarities, on unrelated scales, fuse without calibration;
``k`` (60 in the paper) damps how much the very top of one list outweighs the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from furima.exceptions import DataError

__all__ = ["RRF_K", "rank_positions", "reciprocal_rank_fusion"]

RRF_K = 60.0


def reciprocal_rank_fusion(
    rankings: Sequence[np.ndarray],
    *,
    k: float = RRF_K,
    weights: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse ranked id lists (best first; ids < 0 are padding and ignored).

    Returns:
        ``(ids, scores)``: every id found in any list, best fused score first (ties keep the
        order of first appearance, earlier lists first).
    """
    if k <= 0:
        raise DataError(f"the rank-fusion constant k must be > 0, but got {k!r}.")
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise DataError(f"got {len(weights)} fusion weights for {len(rankings)} rankings.")
    parts = [np.asarray(r, np.int64) for r in rankings]
    ids = np.concatenate(parts) if parts else np.empty(0, np.int64)
    contributions = np.concatenate(
        [w / (k + np.arange(1, len(r) + 1)) for r, w in zip(parts, weights, strict=True)]
        or [np.empty(0)]
    )
    keep = ids >= 0
    unique, first, inverse = np.unique(ids[keep], return_index=True, return_inverse=True)
    scores = np.bincount(inverse, weights=contributions[keep], minlength=len(unique))
    order = np.lexsort((first, -scores))
    return unique[order], scores[order]


def rank_positions(ranking: np.ndarray, ids: np.ndarray, *, missing: float) -> np.ndarray:
    """1-based rank of each of ``ids`` in ``ranking`` (``missing`` where absent)."""
    ranking = np.asarray(ranking, np.int64)
    order = np.argsort(ranking, kind="stable")
    found = np.searchsorted(ranking[order], ids)
    found = np.minimum(found, max(len(ranking) - 1, 0))
    hit = (ranking[order][found] == ids) if len(ranking) else np.zeros(len(ids), bool)
    ranks = np.full(len(ids), missing, np.float32)
    ranks[hit] = order[found[hit]] + 1
    return ranks
