"""Next-item evaluation with full ranking over the catalog.

The protocol of the public sequential benchmarks (ICLRec, BSARec): every item is scored,
the history's items are scored minus infinity, and a tie with the target counts against it
(the target's rank is the number of other items scoring at least as high). HR@k is the share
of targets ranked in the top k; NDCG@k gives a hit at rank r (0-based) ``1 / log2(r + 2)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from furima.catalog._splits import NextItemTargets
from furima.recommend._base import Histories

__all__ = ["DEFAULT_CUTOFFS", "evaluate_scores", "target_ranks"]

DEFAULT_CUTOFFS: tuple[int, ...] = (5, 10, 20)


def target_ranks(scores: np.ndarray, histories: Histories, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each target among all items, history items masked, ties against it."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    for row, history in enumerate(histories):
        scores[row, history] = -np.inf
    target_scores = scores[np.arange(len(targets)), targets]
    at_least = (scores >= target_scores[:, None]).sum(axis=1)
    ranks = at_least - 1
    ranks[~np.isfinite(target_scores)] = scores.shape[1]  # the target was masked: a miss
    result: np.ndarray = ranks.astype(np.int64)
    return result


def evaluate_scores(
    score: Callable[[Histories], np.ndarray],
    queries: NextItemTargets,
    *,
    cutoffs: Sequence[int] = DEFAULT_CUTOFFS,
    batch_size: int = 512,
) -> dict[str, float]:
    """HR@k and NDCG@k of a scoring function on next-item queries (full ranking)."""
    ranks = np.concatenate(
        [
            target_ranks(
                score(queries.histories[start : start + batch_size]),
                queries.histories[start : start + batch_size],
                queries.targets[start : start + batch_size],
            )
            for start in range(0, len(queries), batch_size)
        ]
    )
    metrics: dict[str, float] = {}
    for k in cutoffs:
        hit = ranks < k
        metrics[f"hr@{k}"] = float(hit.mean())
        metrics[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
    return metrics
