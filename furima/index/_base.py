"""The backend contract of :class:`~furima.index.VectorIndex`, and small FAISS helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

__all__ = ["Backend", "Selector", "import_faiss", "merge_topk", "pad_topk", "topk_rows"]


def import_faiss() -> ModuleType:
    """FAISS, imported on first use so ``import furima`` stays fast."""
    import faiss

    return faiss


class Selector:
    """A FAISS ``IDSelectorBitmap`` over positions ``0..size-1`` that keeps its bitmap alive."""

    def __init__(self, mask: np.ndarray) -> None:
        faiss = import_faiss()
        self.size = len(mask)
        self.count = int(np.count_nonzero(mask))
        self._bits = np.packbits(mask, bitorder="little")
        self.faiss = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(self._bits))

    @property
    def fraction(self) -> float:
        """Share of positions the selector keeps."""
        return self.count / max(self.size, 1)


class Backend(ABC):
    """Inner-product top-k search over vectors stored at positions ``0..ntotal-1``.

    Contract:
      * ``add`` receives C-contiguous float32 rows (already L2-normalised for cosine) and gives
        them the next positions in order; positions never move until ``reset``.
      * ``search`` returns ``(scores, positions)``, both ``[n, k]``, best first; where fewer
        than k are found, position -1 and score -inf. A ``selector`` restricts results to the
        positions it keeps; backends raise their search effort as it gets more selective.
      * ``effort`` is the one recall/speed knob (HNSW efSearch, IVF nprobe), tuned by
        ``VectorIndex.tune`` over ``efforts()``.
      * Backends that store full vectors (``keeps_vectors``) return them from ``reconstruct``;
        others read them from the index's raw store when re-ranking.
      * Untrained backends (``is_trained`` False) take no vectors until ``train``.
    """

    name: ClassVar[str]
    keeps_vectors: ClassVar[bool]

    def __init__(self, dim: int) -> None:
        self.dim = dim

    @property
    @abstractmethod
    def ntotal(self) -> int:
        """Number of positions added."""

    @property
    def is_trained(self) -> bool:
        return True

    def train_rows(self, pool_size: int) -> int:
        """Rows ``train`` wants for a pool of ``pool_size`` (0: no training)."""
        return 0

    def train(self, sample: np.ndarray, pool_size: int) -> None:
        """Learn the quantizers on ``sample`` (backends that need it)."""
        raise NotImplementedError(f"the {self.name} backend needs no training")

    @abstractmethod
    def add(self, vectors: np.ndarray) -> None:
        """Append ``vectors`` at positions ``ntotal..``."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, selector: Selector | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, positions)`` of the top ``k`` per query."""

    def reconstruct(self, positions: np.ndarray) -> np.ndarray:
        """Stored vectors at ``positions`` (only when ``keeps_vectors``)."""
        raise NotImplementedError(f"the {self.name} backend does not keep full vectors")

    @abstractmethod
    def reset(self) -> None:
        """Drop all vectors but keep training, ready for a rebuild."""

    @property
    def effort(self) -> int:
        return 0

    @effort.setter
    def effort(self, value: int) -> None:
        """Set the search effort knob."""
        if value:
            raise NotImplementedError(f"the {self.name} backend has no search effort to set")

    def efforts(self) -> list[int]:
        """Increasing effort values ``tune`` tries."""
        return []

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Parameters as JSON-able values (saved in the manifest)."""

    @abstractmethod
    def write(self, file: Path) -> None:
        """Write the FAISS index to ``file``."""

    def memory_bytes(self) -> int:
        """Rough RAM the backend holds."""
        return 0


def topk_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` best scores of each row, best first."""
    if scores.shape[1] <= k:
        return np.argsort(-scores, axis=1, kind="stable")
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(-scores, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def pad_topk(scores: np.ndarray, positions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Widen ``[n, m]`` results to ``k`` columns with -inf / -1."""
    if scores.shape[1] >= k:
        return scores[:, :k], positions[:, :k]
    n, m = scores.shape
    padded_scores = np.full((n, k), -np.inf, np.float32)
    padded_positions = np.full((n, k), -1, np.int64)
    padded_scores[:, :m], padded_positions[:, :m] = scores, positions
    return padded_scores, padded_positions


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge several ``(scores, ids)`` results of the same queries into one top ``k``."""
    if len(parts) == 1:
        return pad_topk(*parts[0], k)
    scores = np.concatenate([p[0] for p in parts], axis=1)
    ids = np.concatenate([p[1] for p in parts], axis=1)
    scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
    best = topk_rows(scores, min(k, scores.shape[1]))
    return pad_topk(np.take_along_axis(scores, best, 1), np.take_along_axis(ids, best, 1), k)


def knn(queries: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top ``k`` of ``queries`` among ``rows`` (local row numbers)."""
    if len(rows) == 0:
        return pad_topk(np.empty((len(queries), 0), np.float32), np.empty((len(queries), 0)), k)
    faiss = import_faiss()
    scores, found = faiss.knn(
        queries, np.ascontiguousarray(rows), min(k, len(rows)), metric=faiss.METRIC_INNER_PRODUCT
    )
    return pad_topk(scores.astype(np.float32), found.astype(np.int64), k)
