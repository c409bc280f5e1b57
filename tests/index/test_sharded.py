"""ShardedIndex: routing by time, parallel fan-out equal to one pool, time ranges, compaction."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from furima.exceptions import DataError, IndexConfigError, UnknownListingError
from furima.index import HNSWParams, ShardedIndex, VectorIndex

from .conftest import DIM, Pool, exact_ids, recall

START = np.datetime64("2024-01-01T00:00:00", "s")


@pytest.fixture(scope="module")
def times(pool: Pool) -> np.ndarray:
    """Listing times spread over 90 days."""
    seconds = np.random.default_rng(3).integers(0, 90 * 86400, len(pool.ids))
    return START + seconds.astype("timedelta64[s]")


@pytest.fixture
def sharded(pool: Pool, times: np.ndarray) -> ShardedIndex:
    index = ShardedIndex(DIM, granularity="month", backend="exact")
    return index.add(pool.ids, pool.vectors, times, pool.metadata)


def test_listings_go_to_the_shard_of_their_time(pool: Pool, times: np.ndarray) -> None:
    index = ShardedIndex(DIM, granularity="day", backend="exact")
    index.add(pool.ids[:500], pool.vectors[:500], times[:500])
    days = np.unique(times[:500].astype("datetime64[D]"))
    assert [s.key for s in index.shards] == [str(d) for d in days]
    assert sum(s.size for s in index.shards) == len(index) == 500


def test_fan_out_search_equals_exact_search_over_the_whole_pool(
    sharded: ShardedIndex, pool: Pool
) -> None:
    assert [s.key for s in sharded.shards] == ["2024-01", "2024-02", "2024-03"]
    assert recall(sharded.search(pool.queries, 10).ids, exact_ids(pool, pool.queries, 10)) == 1.0
    ids = sharded.search(pool.queries, 10, filters={"status": "sold"}).ids
    assert np.isin(ids, pool.ids[pool.metadata["status"] == "sold"]).all()


def test_since_and_until_restrict_to_a_time_range(
    sharded: ShardedIndex, pool: Pool, times: np.ndarray
) -> None:
    since, until = np.datetime64("2024-02-10"), "2024-03-05T12:00:00"
    ids = sharded.search(pool.queries, 10, since=since, until=until).ids
    keep = (times >= since) & (times < np.datetime64(until))
    assert np.isin(ids[ids >= 0], pool.ids[keep]).all()
    assert recall(ids, exact_ids(pool, pool.queries, 10, keep)) == 1.0
    empty = sharded.search(pool.queries[:1], 3, since="2030-01-01")
    assert (empty.ids == -1).all()


def test_delete_upsert_and_moving_a_listing_in_time(
    sharded: ShardedIndex, pool: Pool, times: np.ndarray
) -> None:
    sharded.delete(pool.ids[:10])
    assert len(sharded) == len(pool.ids) - 10 and pool.ids[0] not in sharded
    with pytest.raises(UnknownListingError, match=str(pool.ids[0])):
        sharded.delete(pool.ids[:1])
    moved = pool.ids[20]
    sharded.upsert([moved], [pool.vectors[21]], [datetime(2024, 6, 1, tzinfo=UTC)])
    assert sharded.shards[-1].key == "2024-06" and sharded.shards[-1].size == 1
    assert len(sharded) == len(pool.ids) - 10
    assert sharded.search(pool.vectors[21], 2, since="2024-06-01").ids[0, 0] == moved
    np.testing.assert_allclose(
        sharded.get_vectors([moved])[0],
        pool.vectors[21] / np.linalg.norm(pool.vectors[21]),
        rtol=1e-5,
    )
    with pytest.raises(DataError, match="already in the index"):
        sharded.add(pool.ids[30:31], pool.vectors[30:31], times[30:31])


def test_compact_merges_old_day_shards_into_months(pool: Pool, times: np.ndarray) -> None:
    index = ShardedIndex(DIM, granularity="day", backend="exact")
    index.add(pool.ids, pool.vectors, times, pool.metadata)
    before = index.search(pool.queries, 10, filters={"category": "Shoes"})
    days = len(index.shards)
    merged = index.compact(older_than="2024-03-01", into="month")
    keys = [s.key for s in index.shards]
    assert keys[:2] == ["2024-01", "2024-02"] and all(len(k) == 10 for k in keys[2:])
    assert merged == days - len(keys)
    after = index.search(pool.queries, 10, filters={"category": "Shoes"})
    np.testing.assert_array_equal(before.ids, after.ids)
    index.add([10**10], pool.vectors[:1], ["2024-01-15T08:00:00"])  # lands in the month shard
    assert index.shards[0].size == int(np.sum(times < np.datetime64("2024-02-01"))) + 1


def test_save_load_round_trip(sharded: ShardedIndex, pool: Pool, tmp_path: Path) -> None:
    sharded.delete(pool.ids[:5])
    path = sharded.save(tmp_path / "pool")
    loaded = ShardedIndex.load(path)
    assert [s.key for s in loaded.shards] == [s.key for s in sharded.shards]
    for kwargs in ({}, {"since": "2024-02-15"}):
        np.testing.assert_array_equal(
            loaded.search(pool.queries, 10, **kwargs).ids,
            sharded.search(pool.queries, 10, **kwargs).ids,
        )
    assert len(loaded) == len(pool.ids) - 5


def test_timestamps_in_every_accepted_form(pool: Pool) -> None:
    index = ShardedIndex(DIM, granularity="hour", backend="exact")
    epoch = int(START.astype(np.int64))
    index.add(pool.ids[:1], pool.vectors[:1], [epoch])
    index.add(pool.ids[1:2], pool.vectors[1:2], ["2024-01-01T00:30:00"])
    index.add(pool.ids[2:3], pool.vectors[2:3], [datetime(2024, 1, 1, 1, 0)])
    assert [(s.key, s.size) for s in index.shards] == [
        ("2024-01-01T00", 2),
        ("2024-01-01T01", 1),
    ]
    with pytest.raises(DataError, match="NaT"):
        index.add([9], pool.vectors[:1], [np.datetime64("NaT")])
    with pytest.raises(DataError, match="timestamps"):
        index.add([9], pool.vectors[:1], ["yesterday-ish"])


def test_bad_configuration() -> None:
    with pytest.raises(IndexConfigError, match="granularity must be one of"):
        ShardedIndex(DIM, granularity="week")
    with pytest.raises(IndexConfigError, match="reserved"):
        ShardedIndex(DIM, fields={"listed_at": "float"})
    with pytest.raises(IndexConfigError, match="into must be one of"):
        ShardedIndex(DIM).compact("2024-01-01", into="year")


def test_shards_use_the_index_options(pool: Pool, times: np.ndarray, tmp_path: Path) -> None:
    params = HNSWParams(m=16, ef_construction=40, ef_search=48)
    index = ShardedIndex(DIM, granularity="month", backend="hnsw", params=params, max_workers=2)
    index.add(pool.ids, pool.vectors, times)
    assert {s.backend for s in index.shards} == {"hnsw"}
    assert recall(index.search(pool.queries, 10).ids, exact_ids(pool, pool.queries, 10)) >= 0.95
    loaded = ShardedIndex.load(index.save(tmp_path / "pool"))
    loaded.add([10**10], pool.vectors[:1], ["2025-01-01"])  # a new shard, same parameters
    newest = loaded._shards["2025-01"].index
    assert isinstance(newest, VectorIndex) and newest._backend is not None
    assert newest._backend.params() == asdict(params)
