"""Histories in, checked and weighted: what every generator's ``score`` starts from.

A history is a user's items, oldest first. Generators that read a history as a weighted bag of
items weigh its last item most: ``decay ** (steps from the end)``, so with ``decay=0.8`` the
item before last weighs 0.8 and the one before that 0.64 (``decay=1``: every item alike).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError
from furima.recommend._base import Histories

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["check_decay", "check_histories", "history_matrix", "recency_weights"]


def check_histories(histories: Histories, n_items: int, model: str) -> list[np.ndarray]:
    """Each history as an int64 array, every index in ``0..n_items-1``; else ``DataError``."""
    if isinstance(histories, np.ndarray) and histories.ndim == 1 and histories.dtype != object:
        raise DataError(
            f"{model}.score takes a batch of histories, but got one flat array; "
            "wrap a single history in a list: score([history])."
        )
    checked = [_checked_history(h, n_items, model, row) for row, h in enumerate(histories)]
    return checked


def _checked_history(history: object, n_items: int, model: str, row: int) -> np.ndarray:
    values = np.asarray(history)
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise DataError(
            f"{model}: history {row} must be a 1-D array of integer item indices, but got "
            f"dtype {values.dtype} with shape {values.shape}; map external ids to dense "
            "indices with Interactions.items.index(...) first."
        )
    bad = (values < 0) | (values >= n_items)
    if bad.any():
        raise DataError(
            f"{model}: history {row} holds item index {int(values[bad][0])}, outside the "
            f"model's catalog 0..{n_items - 1} ({n_items} items); map ids with the "
            "Interactions the model was fitted on, and refit after new listings arrive."
        )
    return values.astype(np.int64, copy=False)


def check_decay(decay: float, model: str) -> None:
    """``decay`` must lie in (0, 1]."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(
            f"{model}: `decay` must be in (0, 1] (1: every history item alike), but got {decay}."
        )


def recency_weights(length: int, decay: float) -> np.ndarray:
    """``decay ** (steps from the end)`` for a history of ``length`` items (last: 1)."""
    return np.power(np.float64(decay), np.arange(length - 1, -1, -1)).astype(np.float32)


def history_matrix(histories: list[np.ndarray], n_items: int, decay: float = 1.0) -> sp.csr_matrix:
    """Histories as a sparse float32 ``[n, n_items]`` matrix of recency weights (a repeated
    item sums its weights)."""
    import scipy.sparse as sp

    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(histories) if histories else np.zeros(0, dtype=np.int64)
    data = (
        np.concatenate([recency_weights(n, decay) for n in lengths])
        if len(lengths)
        else np.zeros(0, dtype=np.float32)
    )
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(histories), n_items))
    matrix.sum_duplicates()
    return matrix
