"""VectorIndex: a pool of float32 vectors keyed by int64 listing ids, with filtered search."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from furima.exceptions import DataError, IndexConfigError
from furima.index._backends import HNSWParams, IVFPQParams, choose_backend, make_backend
from furima.index._base import Backend, Selector
from furima.index._checks import (
    Metric,
    SearchResult,
    as_ids,
    as_queries,
    as_vectors,
    check_lengths,
    check_unique,
    describe_ids,
    unknown_ids_error,
)
from furima.index._columns import Column, IdMap
from furima.index._effort_tuning import lowest_effort, tuning_queries
from furima.index._index_options import check_config, check_params, params_for
from furima.index._metadata import Metadata
from furima.index._position_search import approximate_topk, empty_topk, exact_topk, to_result
from furima.index._row_chunks import add_blocks, add_from, gather, in_chunks, train_on_sample
from furima.index._store import RawVectors

__all__ = ["VectorIndex"]

EXACT_FILTER_ROWS = 20_000
EXACT_FILTER_SHARE = 0.02


class VectorIndex:
    """Similar-item search over listing vectors, with metadata filters, deletes and upserts.

    Vectors are float32 rows keyed by int64 listing ids (>= 0). With ``metric="cosine"`` every
    vector and query is L2-normalised on the way in, so scores are cosine similarities and
    :meth:`get_vectors` returns the normalised rows; ``metric="ip"`` keeps them as given and
    scores are inner products.

    Backends (FAISS): ``exact`` (brute force), ``hnsw`` (graph over half-precision codes in RAM,
    exact rows in a file under ``storage``; fast), ``ivfpq``
    (compressed codes in RAM, raw vectors in a file under ``storage`` for exact re-ranking;
    for pools that do not fit in RAM). ``auto`` picks one when the first vectors arrive, from
    ``max(expected_size, first batch)``, ``target_recall`` and ``memory_budget_gb``; see
    :func:`~furima.index.choose_backend`. :meth:`rebuild` re-picks for the current size.

    Deletes leave tombstones (FAISS HNSW cannot remove vectors) that searches skip; once they
    exceed ``compact_at`` of the positions the index compacts, re-adding the live vectors.
    Filters that keep only a few rows (<= max(20k, 2% of the pool)) are answered by exact
    search over just those rows, so recall stays at 1 under restrictive filters.

    Not safe for concurrent writes; concurrent searches are fine.

    Args:
        dim: Vector dimension.
        metric: ``"cosine"`` or ``"ip"``.
        backend: ``"auto"``, ``"exact"``, ``"hnsw"`` or ``"ivfpq"``.
        params: :class:`HNSWParams` or :class:`IVFPQParams` for that backend.
        target_recall: Recall@k that ``auto`` and :meth:`tune` aim for.
        expected_size: Pool size hint for ``auto`` and IVF-PQ list count.
        fields: Extra metadata fields, ``{"brand": "str", "rating": "float"}``.
        storage: Folder for the raw-vector file of HNSW and IVF-PQ (default: system temp).
        memory_budget_gb: RAM ``auto`` may plan for (default: half the machine's).
        compact_at: Share of tombstones that triggers compaction.
    """

    def __init__(
        self,
        dim: int,
        *,
        metric: Metric = "cosine",
        backend: str = "auto",
        params: HNSWParams | IVFPQParams | None = None,
        target_recall: float = 0.95,
        expected_size: int | None = None,
        fields: Mapping[str, str] | None = None,
        storage: str | Path | None = None,
        memory_budget_gb: float | None = None,
        compact_at: float = 0.25,
    ) -> None:
        check_config(dim, metric, backend, target_recall, compact_at)
        check_params(backend, params)
        self.dim, self.metric, self.requested_backend = int(dim), metric, backend
        self.params, self.target_recall, self.expected_size = params, target_recall, expected_size
        self.storage = Path(storage) if storage is not None else None
        self.memory_budget_gb, self.compact_at = memory_budget_gb, compact_at
        self._meta = Metadata(fields)
        self._backend: Backend | None = None
        self._raw: RawVectors | None = None
        self._ids = Column(np.int64, -1)
        self._alive = Column(np.bool_, False)
        self._dead = 0
        self._idmap = IdMap()
        self._alive_selector: Selector | None = None
        self._rng = np.random.default_rng(0)

    # -- introspection -------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The backend in use (``"auto"`` until the first vectors arrive)."""
        return self._backend.name if self._backend is not None else self.requested_backend

    @property
    def fields(self) -> dict[str, str]:
        """Declared metadata fields and their kinds."""
        return dict(self._meta.fields)

    @property
    def effort(self) -> int:
        """The backend's search effort (HNSW efSearch, IVF nprobe; 0 for exact)."""
        return self._backend.effort if self._backend is not None else 0

    def __len__(self) -> int:
        return len(self._ids) - self._dead

    def __contains__(self, listing_id: object) -> bool:
        if not isinstance(listing_id, int | np.integer) or int(listing_id) < 0:
            return False
        return bool(self._idmap.lookup(np.array([listing_id], np.int64))[0] >= 0)

    def contains(self, ids: Any) -> np.ndarray:
        """Boolean array: which of ``ids`` are in the index."""
        return self._idmap.lookup(as_ids(ids)) >= 0

    def __repr__(self) -> str:
        return (
            f"VectorIndex(dim={self.dim}, metric={self.metric!r}, backend={self.backend!r}, "
            f"size={len(self)})"
        )

    # -- writes --------------------------------------------------------------------------

    def add(self, ids: Any, vectors: Any, metadata: Any = None) -> VectorIndex:
        """Add new listings; ids already present are refused (use :meth:`upsert`)."""
        ids, vectors, parsed = self._checked(ids, vectors, metadata)
        present = ids[self._idmap.lookup(ids) >= 0]
        if len(present):
            raise DataError(
                f"{len(present)} id(s) are already in the index: {describe_ids(present)}. "
                "Use upsert() to replace them, or delete() them first."
            )
        self._append(ids, vectors, parsed)
        return self

    def upsert(self, ids: Any, vectors: Any, metadata: Any = None) -> VectorIndex:
        """Add listings, replacing the vector and metadata of ids already present."""
        ids, vectors, parsed = self._checked(ids, vectors, metadata)
        positions = self._idmap.lookup(ids)
        self._bury(ids[positions >= 0], positions[positions >= 0])
        self._append(ids, vectors, parsed)
        self._maybe_compact()
        return self

    def delete(self, ids: Any) -> VectorIndex:
        """Remove listings; unknown ids raise :class:`UnknownListingError` and change nothing."""
        ids = np.unique(as_ids(ids))
        positions = self._idmap.lookup(ids)
        if (positions < 0).any():
            raise unknown_ids_error(ids[positions < 0])
        self._bury(ids, positions)
        self._maybe_compact()
        return self

    def _checked(
        self, ids: Any, vectors: Any, metadata: Any
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        ids = as_ids(ids)
        vectors = as_vectors(vectors, self.dim, self.metric)
        check_lengths(ids, len(vectors))
        check_unique(ids)
        return ids, vectors, self._meta.parse(len(ids), metadata)

    def _bury(self, ids: np.ndarray, positions: np.ndarray) -> None:
        if len(ids):
            self._alive.values[positions] = False
            self._dead += len(ids)
            self._idmap.remove(ids)
            self._alive_selector = None

    def _append(self, ids: np.ndarray, vectors: np.ndarray, parsed: dict[str, Any]) -> None:
        if len(ids) == 0:
            return
        self._ensure_backend(len(self) + len(ids))
        start = len(self._ids)
        if self._raw is not None:
            self._raw.append(vectors)
        self._meta.append(parsed)
        self._ids.append(ids)
        self._alive.append(np.ones(len(ids), np.bool_))
        self._idmap.insert(ids, np.arange(start, start + len(ids), dtype=np.int64))
        self._alive_selector = None
        self._feed(vectors)

    def _ensure_backend(self, pool: int) -> None:
        if self._backend is None:
            self._install(self._fresh_backend(self.requested_backend, pool))

    def _fresh_backend(self, name: str, pool: int) -> Backend:
        """A new backend ``name``; ``auto`` picks one for ``max(pool, expected_size)``."""
        if name == "auto":
            size = max(pool, self.expected_size or 0)
            name = choose_backend(size, self.dim, self.target_recall, self.memory_budget_gb)
        return make_backend(name, self.dim, params_for(name, self.params))

    def _install(self, backend: Backend) -> None:
        self._backend = backend
        if backend.keeps_vectors:
            self._raw = None
        elif self._raw is None:
            self._raw = RawVectors(self.dim, self.storage)
        if hasattr(backend, "vectors"):
            backend.vectors = self._raw

    def _feed(self, vectors: np.ndarray) -> None:
        """Hand new vectors to the backend, training it first when it can be trained."""
        backend = self._backend
        assert backend is not None
        if not backend.is_trained and not self._train():
            return  # not enough vectors to train yet: the tail is searched exactly
        if backend.ntotal + len(vectors) == len(self._ids):
            backend.add(vectors)
        else:
            add_from(backend, len(self._ids), self._take)

    def _train(self) -> bool:
        assert self._backend is not None
        return train_on_sample(
            self._backend, len(self._ids), self.expected_size, self._rng, self._take
        )

    # -- compaction and rebuild ----------------------------------------------------------

    def _maybe_compact(self) -> None:
        if self._dead and self._dead > self.compact_at * len(self._ids):
            self.compact()

    def compact(self) -> VectorIndex:
        """Drop tombstones now: re-add the live vectors to the reset backend."""
        if self._dead and self._backend is not None:
            self._rebuild_on(self._backend)
        return self

    def rebuild(
        self, backend: str | None = None, params: HNSWParams | IVFPQParams | None = None
    ) -> VectorIndex:
        """Rebuild on a fresh backend, dropping tombstones and re-training quantizers.

        ``backend="auto"`` (or the index's own ``auto``) re-picks for the current size, e.g.
        after a pool grew from thousands to millions of vectors.
        """
        name = backend or self.requested_backend
        check_config(self.dim, self.metric, name, self.target_recall, self.compact_at)
        self.requested_backend = name
        self.params = params if params is not None else self.params
        self._rebuild_on(self._fresh_backend(name, len(self)))
        return self

    def _rebuild_on(self, fresh: Backend) -> None:
        """Move the live vectors into ``fresh`` (which may be the current backend, reset)."""
        keep = self._alive.values.copy()
        old_raw = self._raw
        live = gather(self._take, np.flatnonzero(keep), self.dim) if old_raw is None else None
        if old_raw is not None:
            old_raw.keep(keep)
        self._keep_rows(keep)
        if fresh is self._backend:
            fresh.reset()
        self._install(fresh)
        if fresh.keeps_vectors:
            blocks = in_chunks(live) if live is not None else (b for _, b in old_raw.chunks())  # type: ignore[union-attr]
            add_blocks(fresh, blocks)
            return
        if live is not None and self._raw is not None:
            self._raw.append(live)
        if fresh.is_trained or self._train():
            add_from(fresh, len(self._ids), self._take)

    def _keep_rows(self, keep: np.ndarray) -> None:
        self._ids.keep(keep)
        self._alive.keep(keep)
        self._meta.keep(keep)
        self._idmap.rebuild(self._ids.values)
        self._dead = 0
        self._alive_selector = None

    def _take(self, positions: np.ndarray) -> np.ndarray:
        if self._raw is not None:
            return self._raw.take(positions)
        assert self._backend is not None
        return np.asarray(self._backend.reconstruct(positions), dtype=np.float32)

    # -- reads ---------------------------------------------------------------------------

    def get_vectors(self, ids: Any) -> np.ndarray:
        """Stored vectors of ``ids`` (normalised under cosine), float32 ``[n, dim]``."""
        positions = self._known_positions(ids)
        if len(positions) == 0:
            return np.empty((0, self.dim), np.float32)
        return self._take(positions).copy()

    def get_metadata(self, ids: Any, fields: Sequence[str] | None = None) -> dict[str, list[Any]]:
        """Metadata of ``ids``: field -> one value per id (``None`` where missing), for every
        declared field or only ``fields``."""
        return self._meta.rows(self._known_positions(ids), fields)

    def _known_positions(self, ids: Any) -> np.ndarray:
        ids = as_ids(ids)
        positions = self._idmap.lookup(ids)
        if (positions < 0).any():
            raise unknown_ids_error(ids[positions < 0])
        return positions

    def items(
        self, batch_size: int = 65_536
    ) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, list[Any]]]]:
        """``(ids, vectors, metadata)`` of the live listings, in batches (for export/merge)."""
        positions = np.flatnonzero(self._alive.values)
        for start in range(0, len(positions), batch_size):
            chunk = positions[start : start + batch_size]
            yield self._ids.values[chunk].copy(), self._take(chunk), self._meta.rows(chunk)

    def search(
        self, queries: Any, k: int = 10, filters: Mapping[str, Any] | None = None
    ) -> SearchResult:
        """Top ``k`` listings for each query (a 2-D batch, or one 1-D vector).

        Args:
            queries: float ``[n, dim]`` or ``[dim]``.
            k: Neighbours per query.
            filters: Metadata conditions, e.g. ``{"category": ["Shoes", "Bags"],
                "price": (10, 50), "status": "on_sale"}``; see :mod:`furima.index`.

        Returns:
            :class:`SearchResult` with ``ids`` and ``scores`` ``[n, k]``, padded with -1/-inf.
        """
        if not isinstance(k, int | np.integer) or k < 1:
            raise IndexConfigError(f"k must be a positive integer, but got {k!r}.")
        k = int(k)
        queries = as_queries(queries, self.dim, self.metric)
        backend = self._backend
        unfiltered = filters is None and not self._dead
        if unfiltered and backend is not None and 0 < backend.ntotal == len(self._ids):
            scores, positions = backend.search(queries, k, None)  # the common case: no merging
        else:
            scores, positions = self._search_positions(queries, k, filters)
        return to_result(self._ids.values, scores, positions)

    def _search_positions(
        self, queries: np.ndarray, k: int, filters: Mapping[str, Any] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        mask = self._search_mask(filters)
        if self._backend is None or len(self) == 0 or (mask is not None and not mask.any()):
            return empty_topk(len(queries), k)
        if mask is not None and np.count_nonzero(mask) <= self._exact_limit():
            return exact_topk(queries, k, np.flatnonzero(mask), self._take)
        return self._approximate(queries, k, mask)

    def _search_mask(self, filters: Mapping[str, Any] | None) -> np.ndarray | None:
        if filters is not None:
            mask = self._meta.mask(filters)
            return mask & self._alive.values if self._dead else mask
        return self._alive.values if self._dead else None

    def _exact_limit(self) -> float:
        return max(EXACT_FILTER_ROWS, EXACT_FILTER_SHARE * len(self))

    def _approximate(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self._backend is not None
        select = partial(self._selector, mask)
        rows = len(self._ids)
        return approximate_topk(self._backend, queries, k, rows, mask, select, self._take)

    def _selector(self, mask: np.ndarray | None, covered: int) -> Selector | None:
        if mask is None:
            return None
        if mask.base is not None and mask.base is self._alive.values.base:
            # tombstones only: reuse the bitmap until the next write
            if self._alive_selector is None or self._alive_selector.size != covered:
                self._alive_selector = Selector(mask[:covered])
            return self._alive_selector
        return Selector(mask[:covered])

    # -- tuning --------------------------------------------------------------------------

    def tune(
        self,
        target_recall: float | None = None,
        *,
        queries: Any = None,
        k: int = 10,
        sample: int = 200,
        seed: int = 0,
    ) -> int:
        """Set the lowest search effort whose recall@k vs exact search reaches the target.

        Pass real ``queries`` when you have them. Without, ``sample`` stored vectors are moved
        in a random direction by 1.25 times their distance to their nearest neighbour, so each
        lands where a new, unseen listing would (a stored vector itself is found too easily by
        a graph search, and would make the tuned effort too low). Moved by 1.0 times, they were
        still easier than fresh queries, and fresh queries fell short of the target; by 1.25
        times their recall curve lies at or just under the fresh queries' one. Returns the
        chosen effort (efSearch or nprobe; 0 for the exact backend).
        """
        backend = self._backend
        target = target_recall if target_recall is not None else self.target_recall
        if backend is None or not backend.efforts() or len(self) <= k:
            return self.effort
        live = np.flatnonzero(self._alive.values)
        if queries is None:
            queries = tuning_queries(self._take, live, sample, seed)
        queries = as_queries(queries, self.dim, self.metric)
        truth = exact_topk(queries, k, live, self._take)[1]
        mask = self._search_mask(None)
        lowest_effort(backend, target, lambda: self._approximate(queries, k, mask)[1], truth)
        return self.effort

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save to ``path`` atomically (a folder; see :mod:`furima.index._persistence`)."""
        from furima.index._persistence import save_index

        return save_index(self, Path(path))

    @classmethod
    def load(
        cls, path: str | Path, *, verify: bool = True, storage: str | Path | None = None
    ) -> VectorIndex:
        """Load an index saved by :meth:`save`; ``verify`` checks file checksums first."""
        from furima.index._persistence import load_index

        return load_index(Path(path), verify=verify, storage=storage)
