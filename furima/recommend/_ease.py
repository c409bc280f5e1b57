"""EASE: a linear item-to-item model with a closed form (Steck, WWW 2019).

Each item's score is a weighted sum of the history's items, the weights ``B`` learned by
ridge regression of every item's user column on all the others (``diag(B) = 0`` so no item
predicts itself). The solution needs one inverse of the items' Gram matrix, dense: strong and
simple on catalogs up to a few tens of thousands of items, out of reach beyond.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.exceptions import DataError
from furima.recommend._base import CandidateGenerator, Histories
from furima.recommend._histories import check_decay, check_histories, history_matrix

__all__ = ["EASE"]


class EASE(CandidateGenerator):
    """Embarrassingly shallow autoencoder: ``B = I - P / diag(P)``, ``P = (X^T X + l2 I)^-1``.

    ``X`` is the binary users x items matrix; ``B`` is dense float32 ``[n_items, n_items]``.
    A history's scores are its (recency-weighted) item vector times ``B``; an empty history
    scores every item 0 (pair it with :class:`Popularity` for users with nothing yet).

    Args:
        l2: Ridge penalty ``lambda``: larger shrinks ``B`` towards 0 (the paper tunes it per
            data set, from tens to thousands).
        decay: Recency weighting of the history, in (0, 1] (1: the paper's binary vector;
            below 1 favours what follows the latest items, for next-item feeds).
        max_items: Largest catalog to fit; ``B`` takes ``4 * n_items**2`` bytes and fitting
            about three times that.
    """

    name = "ease"

    def __init__(self, l2: float = 100.0, decay: float = 0.7, max_items: int = 40_000) -> None:
        self.l2 = l2
        self.decay = decay
        self.max_items = max_items

    def fit(self, interactions: Interactions) -> Self:
        if self.l2 <= 0:
            raise ValueError(f"EASE: `l2` must be positive, but got {self.l2}.")
        check_decay(self.decay, "EASE")
        _check_size(interactions.n_items, self.max_items)
        users_items = interactions.matrix().astype(np.float32)
        users_items.data[:] = 1.0
        gram = (users_items.T @ users_items).toarray()
        self.weights_ = _closed_form(gram, self.l2)
        self.n_items_ = interactions.n_items
        return self

    def score(self, histories: Histories) -> np.ndarray:
        self._check_fitted()
        checked = check_histories(histories, self.n_items_, "EASE")
        vectors = history_matrix(checked, self.n_items_, self.decay)
        return np.asarray(vectors @ self.weights_, dtype=np.float32)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        params = {"l2": self.l2, "decay": self.decay, "max_items": self.max_items}
        return params, {"weights": self.weights_}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(**params)
        model.weights_ = np.asarray(arrays["weights"], dtype=np.float32)
        model.n_items_ = model.weights_.shape[0]
        return model


def _check_size(n_items: int, max_items: int) -> None:
    if n_items > max_items:
        gib = 4 * n_items**2 / 2**30
        raise DataError(
            f"EASE keeps a dense {n_items:,} x {n_items:,} item matrix: {gib:,.1f} GiB of "
            f"float32, about {3 * gib:,.0f} GiB while fitting, over its limit of "
            f"max_items={max_items:,}. Use ItemKNN (sparse, top neighbours only) for a catalog "
            "this large, keep only the items with enough interactions, or raise max_items on "
            "a machine with the memory."
        )


def _closed_form(gram: np.ndarray, l2: float) -> np.ndarray:
    """``B = -P / diag(P)`` off the diagonal, 0 on it, with ``P = (gram + l2 I)^-1``
    (Cholesky: the Gram matrix plus a ridge is symmetric positive definite)."""
    from scipy.linalg import lapack

    gram = np.asarray(gram, dtype=np.float32)
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    # gram.T is Fortran-ordered, so LAPACK works in place (the matrix is symmetric)
    inverse, info = lapack.spotrf(gram.T, lower=False, overwrite_a=True, clean=False)
    del gram
    if info == 0:
        inverse, info = lapack.spotri(inverse, lower=False, overwrite_c=True)
    if info != 0:
        raise DataError(
            f"EASE: the regularised Gram matrix could not be inverted (LAPACK info {info}); "
            f"raise `l2` (now {l2})."
        )
    weights: np.ndarray = np.triu(inverse)
    del inverse
    weights += np.triu(weights, 1).T
    diagonal = weights.diagonal().copy()
    weights /= -diagonal[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights
