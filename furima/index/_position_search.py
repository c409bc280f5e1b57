"""Top-k over an index's row positions: exact over chosen rows, or a backend plus its tail.

:class:`~furima.index.VectorIndex` answers restrictive filters and the ground truth of
:meth:`~furima.index.VectorIndex.tune` by brute force over just the positions that count, and
other searches with its backend over the positions it holds plus brute force over the rows
not yet added to it (an untrained IVF-PQ). This module does both, chunk by chunk, and maps
the positions found to the :class:`SearchResult` callers see.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from furima.index._base import Backend, Selector, knn, merge_topk, pad_topk
from furima.index._checks import SearchResult
from furima.index._row_chunks import Take, in_chunks

__all__ = ["approximate_topk", "empty_topk", "exact_topk", "to_result"]


def empty_topk(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, positions)`` of ``n`` queries that found nothing, padded to ``k``."""
    return pad_topk(np.empty((n, 0), np.float32), np.empty((n, 0), np.int64), k)


def exact_topk(
    queries: np.ndarray, k: int, positions: np.ndarray, take: Take
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product ``(scores, positions)`` of the top ``k`` among ``positions``."""
    parts = []
    for chunk in in_chunks(positions):
        scores, local = knn(queries, take(chunk), k)
        parts.append((scores, np.where(local >= 0, chunk[np.maximum(local, 0)], -1)))
    return merge_topk(parts, k) if parts else empty_topk(len(queries), k)


def approximate_topk(
    backend: Backend,
    queries: np.ndarray,
    k: int,
    rows: int,
    mask: np.ndarray | None,
    select: Callable[[int], Selector | None],
    take: Take,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` among the ``rows`` positions that ``mask`` keeps (all when None).

    The backend searches the positions it holds, restricted by ``select(backend.ntotal)``;
    the positions from ``backend.ntotal`` on are searched exactly, and both merged.
    """
    covered = backend.ntotal
    parts = []
    if covered:
        parts.append(backend.search(queries, k, select(covered)))
    if covered < rows:
        tail = np.arange(covered, rows)
        parts.append(exact_topk(queries, k, tail if mask is None else tail[mask[covered:]], take))
    return merge_topk(parts, k)


def to_result(ids: np.ndarray, scores: np.ndarray, positions: np.ndarray) -> SearchResult:
    """The listing ids at ``positions`` (``ids`` by position) with float32 scores.

    Where a position is -1 (nothing found), the id is -1 and the score -inf.
    """
    found = ids[positions] if len(ids) else np.full_like(positions, -1)
    missing = positions < 0
    if missing.any():
        found[missing] = -1
        scores = np.where(missing, np.float32(-np.inf), scores)
    return SearchResult(found, np.asarray(scores, dtype=np.float32))
