"""Candidate retrieval of buyer search: BM25 top ``depth`` and title-vector top ``depth``
(or the photo pool's nearest), and what both retrievers know about each candidate.

Filters restrict both sides alike: BM25 scores outside the filter mask are zeroed, and the
vector index applies the same filter spec to its own metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError
from furima.search._buyer_query import Query
from furima.search._buyer_ranker import CandidateSignals
from furima.search._fusion import rank_positions

if TYPE_CHECKING:
    from furima.search._buyer import BuyerSearch

__all__ = ["photo_candidates", "text_candidates"]


def text_candidates(
    search: BuyerSearch, query: Query, vector: np.ndarray
) -> tuple[np.ndarray, CandidateSignals]:
    depth = search.settings.depth
    bm25 = search.lexical.scores(query.terms)
    if query.mask is not None:
        bm25 = np.where(query.mask, bm25, 0.0).astype(np.float32)
    lexical_rows = _top_positive(bm25, depth)
    vector_rows, cosines = _vector_candidates(search, query, vector)
    rows = np.unique(np.concatenate([lexical_rows, vector_rows]))
    cosine = _cosines(search, rows, vector_rows, cosines, vector)
    bm25_rank = rank_positions(lexical_rows, rows, missing=depth + 1)
    vector_rank = rank_positions(vector_rows, rows, missing=depth + 1)
    rrf = _rrf(bm25_rank, depth, search.settings.rrf_k) + _rrf(
        vector_rank, depth, search.settings.rrf_k
    )
    popularity = search.shown["popularity"][rows].astype(np.float32)
    any_hits, idf_share = search.lexical.any_hits(query.terms, rows)
    return rows, CandidateSignals(
        bm25=bm25[rows],
        bm25_rank=bm25_rank,
        cosine=cosine,
        vector_rank=vector_rank,
        rrf=rrf.astype(np.float32),
        field_hits=search.lexical.field_hits(query.terms, rows),
        field_lengths={n: v[rows] for n, v in search.lexical.field_lengths_.items()},
        any_hits=any_hits,
        idf_share=idf_share,
        query_terms=query.terms.n_terms,
        known_terms=len(query.terms.ids),
        popularity=popularity,
    )


def _vector_candidates(
    search: BuyerSearch, query: Query, vector: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if not query.use_vectors:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    found = search.vectors.search(vector[None, :], search.settings.depth, query.filters or None)
    keep = found.ids[0] >= 0
    return search.rows_of(found.ids[0][keep]), found.scores[0][keep]


def _cosines(
    search: BuyerSearch,
    rows: np.ndarray,
    known_rows: np.ndarray,
    known: np.ndarray,
    vector: np.ndarray,
) -> np.ndarray:
    """Cosine of each row's title vector to the query (looked up where the vector search
    already scored it)."""
    out = np.empty(len(rows), np.float32)
    position = np.searchsorted(rows, known_rows)
    out[position] = known
    rest = np.ones(len(rows), bool)
    rest[position] = False
    if rest.any():
        out[rest] = search.vectors.get_vectors(search.ids[rows[rest]]) @ vector
    return out


def photo_candidates(search: BuyerSearch, query: Query) -> tuple[np.ndarray, np.ndarray]:
    if search.photo_pool is None:
        raise DataError(
            "this search has no photo pool; build it with photo_pool= to "
            "search by photo, or search by words."
        )
    fetch = min(len(search.photo_pool), search.settings.depth * 3)
    found = search.photo_pool.similar(photos=[query.photo], k=max(fetch, 1))
    ids, scores = found.ids[0], found.scores[0]
    rows = search.rows_of(ids, missing=-1)
    keep = rows >= 0
    if query.mask is not None:
        keep &= np.where(rows >= 0, query.mask[np.maximum(rows, 0)], False)
    return rows[keep][: search.settings.depth], scores[keep][: search.settings.depth]


def _top_positive(scores: np.ndarray, depth: int) -> np.ndarray:
    """Rows of the ``depth`` highest scores above 0, best first."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > depth:
        part = np.argpartition(-scores[positive], depth - 1)[:depth]
        positive = positive[part]
    return positive[np.argsort(-scores[positive], kind="stable")]


def _rrf(ranks: np.ndarray, depth: int, k: float) -> np.ndarray:
    return np.where(ranks <= depth, 1.0 / (k + ranks), 0.0)
