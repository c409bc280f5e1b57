"""Validation of ids and vectors at the index entry points, and the shared result type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from furima.exceptions import (
    DimensionMismatchError,
    IndexConfigError,
    UnknownListingError,
    VectorError,
)

__all__ = [
    "METRICS",
    "Metric",
    "SearchResult",
    "as_ids",
    "as_queries",
    "as_vectors",
    "describe_ids",
    "unknown_ids_error",
]

Metric = Literal["cosine", "ip"]
METRICS: tuple[str, ...] = ("cosine", "ip")


@dataclass(frozen=True)
class SearchResult:
    """Top-k neighbours of each query, best first.

    Attributes:
        ids: int64 ``[n_queries, k]`` listing ids; ``-1`` where fewer than k items matched.
        scores: float32 ``[n_queries, k]`` cosine similarity (metric ``cosine``) or inner
            product (metric ``ip``); ``-inf`` next to padded ids.
    """

    ids: np.ndarray
    scores: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:
        """Unpack as ``ids, scores = index.search(...)``."""
        return iter((self.ids, self.scores))


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise IndexConfigError(f"metric must be one of {METRICS}, but got {metric!r}.")


def describe_ids(ids: np.ndarray, limit: int = 5) -> str:
    """``"3, 9, 12 and 40 more"``: the first few ids of a list, for error messages."""
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def unknown_ids_error(ids: np.ndarray, where: str = "the index") -> UnknownListingError:
    return UnknownListingError(
        f"{len(ids)} listing id(s) are not in {where}: {describe_ids(ids)}. Check the ids, or "
        "add the listings first (add / upsert).",
        ids=[int(i) for i in ids],
    )


def as_ids(ids: Any) -> np.ndarray:
    """Listing ids as a 1-D int64 array; negative ids are refused (-1 pads results)."""
    array = np.atleast_1d(np.asarray(ids))
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise VectorError(
            f"ids must be a 1-D sequence of integers, but got an array of dtype {array.dtype} "
            f"and shape {array.shape}."
        )
    array = array.astype(np.int64, copy=False)
    if (array < 0).any():
        raise VectorError(
            f"listing ids must be >= 0 (-1 marks padding in search results), but got "
            f"{describe_ids(array[array < 0])}."
        )
    return array


def as_vectors(vectors: Any, dim: int, metric: str, what: str = "vectors") -> np.ndarray:
    """C-contiguous float32 ``[n, dim]`` rows, finite, and L2-normalised under cosine."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise VectorError(f"{what} must be a 2-D array [n, dim], but got shape {array.shape}.")
    if array.shape[1] != dim:
        raise DimensionMismatchError(
            f"{what} have dimension {array.shape[1]}, but this index holds {dim}-dimensional "
            f"vectors (expected {dim}, got {array.shape[1]}). Encode them with the model the "
            "index was built with, or build a new index with the new dimension.",
            expected=dim,
            got=array.shape[1],
        )
    squares = np.einsum("ij,ij->i", array, array)
    if not np.isfinite(squares).all():
        _check_finite(array, what)
        squares = np.einsum("ij,ij->i", array.astype(np.float64), array.astype(np.float64))
    if metric == "cosine":
        return _normalised(array, np.sqrt(squares), what)
    return np.ascontiguousarray(array)


def as_queries(queries: Any, dim: int, metric: str) -> np.ndarray:
    return as_vectors(queries, dim, metric, what="queries")


def _check_finite(array: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise VectorError(
            f"{what} hold NaN or infinite values in {len(rows)} row(s) (row {describe_ids(rows)})"
            ". Fix or drop those rows before indexing."
        )


def _normalised(array: np.ndarray, norms: np.ndarray, what: str) -> np.ndarray:
    zero = norms == 0
    if zero.any():
        rows = np.flatnonzero(zero)
        raise VectorError(
            f"{what} have zero length in {len(rows)} row(s) (row {describe_ids(rows)}); cosine "
            "similarity is undefined for them. Drop those rows, or use metric='ip'."
        )
    return np.ascontiguousarray(array / norms[:, None].astype(np.float32), dtype=np.float32)


def check_unique(ids: np.ndarray) -> None:
    if len(ids) > 1:
        ordered = np.sort(ids)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(repeated):
            raise VectorError(
                f"ids must be unique within one call, but {describe_ids(np.unique(repeated))} "
                "appear more than once."
            )


def check_lengths(ids: np.ndarray, rows: int) -> None:
    if len(ids) != rows:
        raise VectorError(f"got {len(ids)} ids for {rows} vectors; pass one id per vector.")
