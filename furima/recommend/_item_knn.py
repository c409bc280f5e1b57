"""ItemKNN: items bought by the same users are similar; a history scores their neighbours.

The classic item-based neighbourhood model (Sarwar et al. 2001; Deshpande & Karypis 2004):
cosine similarity between the items' user columns, shrunk towards zero when few users back it,
only each item's strongest neighbours kept. It is sparse, fits large catalogs in seconds and
explains itself ("because you bought X").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.recommend._base import CandidateGenerator, Histories
from furima.recommend._histories import check_decay, check_histories, history_matrix

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["ItemKNN"]


class ItemKNN(CandidateGenerator):
    """Item-to-item cosine similarity over who interacted with what.

    ``sim(i, j) = c_ij / (sqrt(n_i * n_j) + shrink) / n_j ** popularity_damping``, where
    ``c_ij`` counts the users who interacted with both items and ``n_i`` the users of item
    ``i``; an item is never its own neighbour. A history's score for item ``j`` is the sum over
    its items ``i`` of ``weight_i * sim(i, j)``, the last item weighing 1 and each earlier one
    ``decay`` times the next (recent interest counts most). An empty history scores every
    item 0 (pair it with :class:`Popularity` for users with nothing yet).

    Args:
        neighbours: Most similar items kept per item (the rest count as 0).
        shrink: Added to the cosine's denominator: pairs seen together by few users count
            less (0: plain cosine).
        popularity_damping: Exponent of an IDF-like penalty on popular target items
            (0: off); it lifts the long tail, at a cost in next-item accuracy on purchase
            logs.
        decay: Recency weighting of the history, in (0, 1] (1: every item alike).
        binary: Count each user-item pair once, whatever its events' weights; ``False`` uses
            the summed event weights (a purchase counts more than a view).
    """

    name = "item_knn"

    def __init__(
        self,
        neighbours: int = 200,
        shrink: float = 50.0,
        popularity_damping: float = 0.0,
        decay: float = 0.6,
        binary: bool = True,
    ) -> None:
        self.neighbours = neighbours
        self.shrink = shrink
        self.popularity_damping = popularity_damping
        self.decay = decay
        self.binary = binary

    def _check_params(self) -> None:
        if self.neighbours < 1:
            raise ValueError(f"ItemKNN: `neighbours` must be >= 1, but got {self.neighbours}.")
        if self.shrink < 0 or self.popularity_damping < 0:
            raise ValueError(
                "ItemKNN: `shrink` and `popularity_damping` must be >= 0, but got "
                f"shrink={self.shrink}, popularity_damping={self.popularity_damping}."
            )
        check_decay(self.decay, "ItemKNN")

    def fit(self, interactions: Interactions) -> Self:
        self._check_params()
        users_items = interactions.matrix().astype(np.float32)
        if self.binary:
            users_items.data[:] = 1.0
        self.similarity_ = _top_per_row(self._cosine(users_items), self.neighbours)
        self.n_items_ = interactions.n_items
        return self

    def _cosine(self, users_items: sp.csr_matrix) -> sp.csr_matrix:
        """Shrunk, damped cosine between item columns, diagonal dropped."""
        items_users = users_items.T.tocsr()
        counts = (items_users @ users_items).tocoo()
        norms = np.sqrt(np.asarray(users_items.multiply(users_items).sum(axis=0)).ravel())
        off = counts.row != counts.col
        row, col, data = counts.row[off], counts.col[off], counts.data[off]
        data = data / (norms[row] * norms[col] + self.shrink)
        if self.popularity_damping:
            data = data / np.power(norms[col] ** 2, self.popularity_damping)
        return _csr(row, col, data.astype(np.float32), len(norms))

    def score(self, histories: Histories) -> np.ndarray:
        self._check_fitted()
        checked = check_histories(histories, self.n_items_, "ItemKNN")
        weights = history_matrix(checked, self.n_items_, self.decay)
        return np.asarray((weights @ self.similarity_).toarray(), dtype=np.float32)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        params = {
            "neighbours": self.neighbours,
            "shrink": self.shrink,
            "popularity_damping": self.popularity_damping,
            "decay": self.decay,
            "binary": self.binary,
            "n_items": int(self.n_items_),
        }
        sim = self.similarity_
        return params, {"data": sim.data, "indices": sim.indices, "indptr": sim.indptr}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        import scipy.sparse as sp

        hyper = {key: value for key, value in params.items() if key != "n_items"}
        model = cls(**hyper)
        n_items = int(params["n_items"])
        model.similarity_ = sp.csr_matrix(
            (
                np.asarray(arrays["data"], np.float32),
                np.asarray(arrays["indices"]),
                np.asarray(arrays["indptr"]),
            ),
            shape=(n_items, n_items),
        )
        model.n_items_ = n_items
        return model


def _csr(row: np.ndarray, col: np.ndarray, data: np.ndarray, n: int) -> sp.csr_matrix:
    import scipy.sparse as sp

    matrix = sp.csr_matrix((data, (row, col)), shape=(n, n))
    matrix.sort_indices()
    return matrix


def _top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row (ties: the lower column index)."""
    lengths = np.diff(matrix.indptr)
    if len(lengths) == 0 or lengths.max() <= k:
        return matrix
    row = np.repeat(np.arange(matrix.shape[0]), lengths)
    order = np.lexsort((matrix.indices, -matrix.data, row))
    rank = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], lengths)
    keep = order[rank < k]
    return _csr(row[keep], matrix.indices[keep], matrix.data[keep], matrix.shape[0])
