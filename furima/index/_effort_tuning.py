"""Tuning a backend's search effort: stand-in queries, recall, and the lowest effort that hits.

:meth:`~furima.index.VectorIndex.tune` measures recall@k of approximate search against exact
search at each effort the backend offers and keeps the first that reaches the target. Without
real queries it moves stored vectors away from themselves by ``TUNING_STEP`` times their
distance to their nearest neighbour, so they behave like new, unseen listings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from furima.index._base import Backend
from furima.index._position_search import exact_topk
from furima.index._row_chunks import Take

__all__ = ["TUNING_STEP", "lowest_effort", "recall", "tuning_queries"]

TUNING_STEP = 1.25  # tuning queries move this many nearest-neighbour distances


def tuning_queries(take: Take, live: np.ndarray, sample: int, seed: int) -> np.ndarray:
    """``sample`` of the ``live`` positions' vectors, each moved in a random direction by
    ``TUNING_STEP`` times its distance to its nearest live neighbour."""
    rng = np.random.default_rng(seed)
    own = np.sort(rng.choice(live, min(sample, len(live)), replace=False))
    vectors = take(own)
    nearest = exact_topk(vectors, 2, live, take)[1]
    other = np.where(nearest[:, 0] == own, nearest[:, 1], nearest[:, 0])
    distance = np.linalg.norm(vectors - take(other), axis=1, keepdims=True)
    direction = rng.standard_normal(vectors.shape).astype(np.float32)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return np.asarray(vectors + direction * (TUNING_STEP * distance), dtype=np.float32)


def lowest_effort(
    backend: Backend, target: float, search: Callable[[], np.ndarray], truth: np.ndarray
) -> None:
    """Step ``backend.effort`` up through ``backend.efforts()`` until the positions ``search``
    finds reach ``target`` recall against ``truth`` (else it stays at the highest effort)."""
    for effort in backend.efforts():
        backend.effort = effort
        if recall(search(), truth) >= target:
            break


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the valid (>= 0) ``truth`` entries that ``found`` holds in the same row."""
    hits = sum(len(np.intersect1d(f[f >= 0], t[t >= 0])) for f, t in zip(found, truth, strict=True))
    return hits / max(int(np.count_nonzero(truth >= 0)), 1)
