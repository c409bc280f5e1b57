"""ShardedIndex: one VectorIndex per time shard, searched in parallel and merged by score.

Listings go to the shard whose time range holds their timestamp (created on demand at the
index's granularity: an hour, a day or a month). Searches fan out to the shards on a thread
pool (FAISS releases the GIL) and merge the per-shard top k; ``since`` / ``until`` restrict a
search to listings in a time range, skipping shards outside it. ``compact`` merges old small
shards into one per coarser period, keeping the shard count and the per-query fan-out small.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from furima._artifacts import check_files, read_manifest, save_atomically, stamp
from furima.exceptions import DataError, IndexConfigError
from furima.index._backends import HNSWParams, IVFPQParams
from furima.index._base import merge_topk, pad_topk
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
from furima.index._metadata import Metadata
from furima.index._times import as_times, columns_of, cutoff, time_bound
from furima.index._vector_index import VectorIndex

__all__ = ["GRANULARITIES", "ShardInfo", "ShardedIndex"]

GRANULARITIES: tuple[str, ...] = ("hour", "day", "month")
_UNITS = {"hour": "h", "day": "D", "month": "M"}
TIME_FIELD = "listed_at"
FORMAT = "furima.sharded_index"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ShardInfo:
    """One time shard: ``[start, end)`` in UTC seconds, its size and backend."""

    key: str
    granularity: str
    start: Any  # np.datetime64[s]
    end: Any
    size: int
    backend: str


@dataclass
class _Shard:
    key: str
    granularity: str
    start: Any
    end: Any
    index: VectorIndex


class ShardedIndex:
    """A vector pool split into time shards; same add/search/delete API as VectorIndex.

    Each listing carries a timestamp (datetime64, datetime, ISO string, or int seconds since
    the epoch, UTC) that picks its shard and is kept as the metadata field ``listed_at``
    (seconds), so ``search(..., since=, until=)`` is exact at shard edges.

    Args:
        dim: Vector dimension.
        granularity: Shard length for new listings: ``"hour"``, ``"day"`` or ``"month"``.
        max_workers: Threads for the per-shard fan-out (default: CPU count).

    The other arguments are :class:`VectorIndex`'s, applied to every shard (``auto`` picks a
    backend per shard from its size, so small recent shards stay exact).
    """

    def __init__(
        self,
        dim: int,
        *,
        granularity: str = "day",
        metric: Metric = "cosine",
        backend: str = "auto",
        params: HNSWParams | IVFPQParams | None = None,
        target_recall: float = 0.95,
        fields: Mapping[str, str] | None = None,
        storage: str | Path | None = None,
        memory_budget_gb: float | None = None,
        compact_at: float = 0.25,
        max_workers: int | None = None,
    ) -> None:
        _check_granularity(granularity, "granularity")
        if fields and TIME_FIELD in fields:
            raise IndexConfigError(f"{TIME_FIELD!r} is reserved for the listing timestamp.")
        self.dim, self.granularity, self.max_workers = int(dim), granularity, max_workers
        self._options: dict[str, Any] = {
            "metric": metric,
            "backend": backend,
            "params": params,
            "target_recall": target_recall,
            "fields": {**(fields or {}), TIME_FIELD: "float"},
            "storage": storage,
            "memory_budget_gb": memory_budget_gb,
            "compact_at": compact_at,
        }
        VectorIndex(dim, **self._options)  # validates the options now, not at the first add
        self._shards: dict[str, _Shard] = {}
        self._pool: ThreadPoolExecutor | None = None

    # -- introspection -------------------------------------------------------------------

    @property
    def metric(self) -> str:
        return str(self._options["metric"])

    @property
    def shards(self) -> list[ShardInfo]:
        """The shards, oldest first."""
        return [
            ShardInfo(s.key, s.granularity, s.start, s.end, len(s.index), s.index.backend)
            for s in self._ordered()
        ]

    def __len__(self) -> int:
        return sum(len(s.index) for s in self._shards.values())

    def __contains__(self, listing_id: object) -> bool:
        return any(listing_id in s.index for s in self._shards.values())

    def contains(self, ids: Any) -> np.ndarray:
        """Boolean array: which of ``ids`` are in some shard."""
        ids = as_ids(ids)
        found = np.zeros(len(ids), bool)
        for shard in self._shards.values():
            found |= shard.index.contains(ids)
        return found

    def __repr__(self) -> str:
        return (
            f"ShardedIndex(dim={self.dim}, granularity={self.granularity!r}, "
            f"shards={len(self._shards)}, size={len(self)})"
        )

    # -- writes --------------------------------------------------------------------------

    def add(self, ids: Any, vectors: Any, timestamps: Any, metadata: Any = None) -> ShardedIndex:
        """Add new listings to the shards of their timestamps; known ids are refused."""
        ids, vectors, times, columns = self._checked(ids, vectors, timestamps, metadata)
        present = ids[self.contains(ids)]
        if len(present):
            raise DataError(
                f"{len(present)} id(s) are already in the index: {describe_ids(present)}. "
                "Use upsert() to replace them, or delete() them first."
            )
        self._place(ids, vectors, times, columns)
        return self

    def upsert(self, ids: Any, vectors: Any, timestamps: Any, metadata: Any = None) -> ShardedIndex:
        """Add listings, replacing those already present (moving shard if the time moved)."""
        ids, vectors, times, columns = self._checked(ids, vectors, timestamps, metadata)
        for shard in self._shards.values():
            present = shard.index.contains(ids)
            if present.any():
                shard.index.delete(ids[present])
        self._place(ids, vectors, times, columns)
        return self

    def delete(self, ids: Any) -> ShardedIndex:
        """Remove listings; unknown ids raise :class:`UnknownListingError`, changing nothing."""
        ids = np.unique(as_ids(ids))
        missing = ids[~self.contains(ids)]
        if len(missing):
            raise unknown_ids_error(missing)
        for shard in self._shards.values():
            present = shard.index.contains(ids)
            if present.any():
                shard.index.delete(ids[present])
        self._drop_empty()
        return self

    def _checked(
        self, ids: Any, vectors: Any, timestamps: Any, metadata: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        ids = as_ids(ids)
        vectors = as_vectors(vectors, self.dim, self.metric)
        check_lengths(ids, len(vectors))
        check_unique(ids)
        times = as_times(timestamps, len(ids))
        columns = columns_of(metadata, len(ids))
        if TIME_FIELD in columns:
            raise DataError(f"{TIME_FIELD!r} is set from the timestamps; drop it from metadata.")
        columns[TIME_FIELD] = times.astype(np.int64).astype(np.float64)
        Metadata(self._options["fields"]).parse(len(ids), columns)  # all or nothing
        return ids, vectors, times, columns

    def _place(
        self, ids: np.ndarray, vectors: np.ndarray, times: np.ndarray, columns: dict[str, Any]
    ) -> None:
        for shard, rows in self._route(times):
            part = {name: values[rows] for name, values in columns.items()}
            shard.index.add(ids[rows], vectors[rows], part)

    def _route(self, times: np.ndarray) -> Iterator[tuple[_Shard, np.ndarray]]:
        """Rows of ``times`` per shard, creating shards for times no shard covers."""
        left = np.ones(len(times), bool)
        for shard in list(self._shards.values()):
            inside = left & (times >= shard.start) & (times < shard.end)
            if inside.any():
                left &= ~inside
                yield shard, np.flatnonzero(inside)
        unit = _UNITS[self.granularity]
        periods = times.astype(f"datetime64[{unit}]")
        for period in np.unique(periods[left]):
            rows = np.flatnonzero(left & (periods == period))
            yield self._new_shard(period, self.granularity, expected=len(rows)), rows

    def _new_shard(self, period: Any, granularity: str, expected: int) -> _Shard:
        unit = _UNITS[granularity]
        start = period.astype(f"datetime64[{unit}]")
        end = (start + np.timedelta64(1, cast(Any, unit))).astype("datetime64[s]")
        index = VectorIndex(self.dim, expected_size=expected, **self._options)
        shard = _Shard(str(start), granularity, start.astype("datetime64[s]"), end, index)
        self._shards[shard.key] = shard
        return shard

    def _drop_empty(self) -> None:
        for key in [k for k, s in self._shards.items() if len(s.index) == 0]:
            del self._shards[key]

    # -- reads ---------------------------------------------------------------------------

    def get_vectors(self, ids: Any) -> np.ndarray:
        """Stored vectors of ``ids`` (normalised under cosine), float32 ``[n, dim]``."""
        ids = as_ids(ids)
        out = np.empty((len(ids), self.dim), np.float32)
        found = np.zeros(len(ids), bool)
        for shard in self._shards.values():
            here = shard.index.contains(ids) & ~found
            if here.any():
                out[here] = shard.index.get_vectors(ids[here])
                found |= here
        if not found.all():
            raise unknown_ids_error(ids[~found])
        return out

    def search(
        self,
        queries: Any,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
        *,
        since: Any = None,
        until: Any = None,
    ) -> SearchResult:
        """Top ``k`` over all shards, or only listings with ``since <= time < until``."""
        queries = as_queries(queries, self.dim, self.metric)
        low, high = time_bound(since, "since"), time_bound(until, "until")
        jobs = [(s, _shard_filters(s, filters, low, high)) for s in self._ordered()]
        jobs = [(s, f) for s, f in jobs if f is not None]
        if not jobs:
            if not isinstance(k, int | np.integer) or k < 1:
                raise IndexConfigError(f"k must be a positive integer, but got {k!r}.")
            scores, ids = pad_topk(
                np.empty((len(queries), 0), np.float32),
                np.empty((len(queries), 0), np.int64),
                int(k),
            )
            return SearchResult(ids, scores)
        results = self._fan_out(queries, k, jobs)
        scores, ids = merge_topk([(r.scores, r.ids) for r in results], int(k))
        return SearchResult(ids.astype(np.int64), scores.astype(np.float32))

    def _fan_out(
        self, queries: np.ndarray, k: int, jobs: list[tuple[_Shard, dict[str, Any] | None]]
    ) -> list[SearchResult]:
        if len(jobs) == 1:
            shard, conditions = jobs[0]
            return [shard.index.search(queries, k, conditions or None)]
        pool = self._executor()
        futures = [pool.submit(s.index.search, queries, k, f or None) for s, f in jobs]
        return [future.result() for future in futures]

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            workers = self.max_workers or os.cpu_count() or 1
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="furima-shard")
            weakref.finalize(self, self._pool.shutdown, wait=False)
        return self._pool

    def _ordered(self) -> list[_Shard]:
        return sorted(self._shards.values(), key=lambda s: s.start)

    # -- compaction ----------------------------------------------------------------------

    def compact(self, older_than: Any, into: str = "month") -> int:
        """Merge shards that end before ``older_than`` into one shard per ``into`` period.

        ``older_than`` is a time, or a ``timedelta`` / ``np.timedelta64`` before now.
        Returns the number of shards merged away.
        """
        _check_granularity(into, "into")
        limit = cutoff(older_than)
        groups: dict[Any, list[_Shard]] = {}
        for shard in self._ordered():
            if shard.end <= limit and _finer_or_equal(shard.granularity, into):
                period = shard.start.astype(f"datetime64[{_UNITS[into]}]")
                groups.setdefault(period, []).append(shard)
        merged = 0
        for period, members in groups.items():
            if len(members) > 1 or members[0].granularity != into:
                self._merge(period, into, members)
                merged += len(members) - 1
        return merged

    def _merge(self, period: Any, into: str, members: list[_Shard]) -> None:
        total = sum(len(m.index) for m in members)
        index = VectorIndex(self.dim, expected_size=total, **self._options)
        for member in members:
            for ids, vectors, metadata in member.index.items():
                index.add(ids, vectors, metadata)
        for member in members:
            del self._shards[member.key]
        key = str(period.astype(f"datetime64[{_UNITS[into]}]"))
        start, end = min(m.start for m in members), max(m.end for m in members)
        self._shards[key] = _Shard(key, into, start, end, index)

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save every shard under ``path`` in one atomic swap (see :meth:`VectorIndex.save`)."""
        return save_atomically(Path(path), self._write)

    def _write(self, folder: Path) -> None:
        from furima.index._persistence import versions, write_index_folder

        shards = []
        for number, shard in enumerate(self._ordered()):
            target = folder / "shards" / f"{number:05d}"
            target.mkdir(parents=True)
            write_index_folder(shard.index, target)
            shards.append(
                {
                    "key": shard.key,
                    "granularity": shard.granularity,
                    "start": str(shard.start),
                    "end": str(shard.end),
                    "folder": f"shards/{number:05d}",
                }
            )
        options = {k: v for k, v in self._options.items() if k not in ("params", "storage")}
        params = self._options["params"]
        options["params"] = (
            None if params is None else {"kind": type(params).__name__, **asdict(params)}
        )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": versions(),
            "dim": self.dim,
            "granularity": self.granularity,
            "count": len(self),
            "options": options,
            "shards": shards,
        }
        stamp(folder, manifest)

    @classmethod
    def load(
        cls, path: str | Path, *, verify: bool = True, storage: str | Path | None = None
    ) -> ShardedIndex:
        """Load a sharded index saved by :meth:`save`."""
        from furima.index._persistence import FORMAT as SHARD_FORMAT
        from furima.index._persistence import FORMAT_VERSION as SHARD_VERSION
        from furima.index._persistence import index_artifact, read_index_folder

        path = Path(path)
        hint = "ShardedIndex(...).add(...) and save()"
        kind = index_artifact(FORMAT, FORMAT_VERSION, hint)
        manifest = read_manifest(path, kind)
        if verify:
            check_files(path, manifest, kind)
        options = dict(manifest["options"])
        fields = {k: v for k, v in options.pop("fields").items() if k != TIME_FIELD}
        options["params"] = _params_from(options.get("params"))
        index = cls(
            manifest["dim"],
            granularity=manifest["granularity"],
            fields=fields,
            storage=storage,
            **options,
        )
        for entry in manifest["shards"]:
            folder = path.resolve() / entry["folder"]
            shard_kind = index_artifact(SHARD_FORMAT, SHARD_VERSION, hint)
            shard_manifest = read_manifest(folder, shard_kind)
            shard_index = read_index_folder(folder, shard_manifest, storage)
            start = np.datetime64(entry["start"], "s")
            shard = _Shard(
                entry["key"],
                entry["granularity"],
                start,
                np.datetime64(entry["end"], "s"),
                shard_index,
            )
            index._shards[shard.key] = shard
        return index


def _shard_filters(
    shard: _Shard,
    filters: Mapping[str, Any] | None,
    low: Any,
    high: Any,
) -> dict[str, Any] | None:
    """The filters for one shard, or None when the time range excludes it entirely."""
    if (low is not None and shard.end <= low) or (high is not None and shard.start >= high):
        return None
    conditions = dict(filters or {})
    if (low is not None and shard.start < low) or (high is not None and shard.end > high):
        lowest = float(low.astype(np.int64)) if low is not None else None
        highest = float(high.astype(np.int64)) - 0.5 if high is not None else None
        conditions[TIME_FIELD] = (lowest, highest)
    return conditions


def _params_from(saved: dict[str, Any] | None) -> HNSWParams | IVFPQParams | None:
    if saved is None:
        return None
    kinds: dict[str, type[HNSWParams] | type[IVFPQParams]] = {
        "HNSWParams": HNSWParams,
        "IVFPQParams": IVFPQParams,
    }
    values = {k: v for k, v in saved.items() if k != "kind"}
    return kinds[saved["kind"]](**values)


def _check_granularity(value: str, name: str) -> None:
    if value not in GRANULARITIES:
        raise IndexConfigError(f"{name} must be one of {GRANULARITIES}, but got {value!r}.")


def _finer_or_equal(granularity: str, into: str) -> bool:
    return GRANULARITIES.index(granularity) <= GRANULARITIES.index(into)
