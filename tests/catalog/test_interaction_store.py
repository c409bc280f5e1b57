"""InteractionStore: appends land whole or not at all, reads filter by time, ids stay external."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import CatalogStore, IdMap, Interactions, InteractionStore, read_interactions
from furima.exceptions import DataError, StoreError


@pytest.fixture
def log(fixtures: Path) -> Interactions:
    """Every event of 20 real Taobao users."""
    return read_interactions(fixtures / "taobao_20_users.parquet").interactions


def test_append_and_read_round_trip(tmp_path: Path, log: Interactions) -> None:
    path = tmp_path / "events.duckdb"
    with InteractionStore(path) as store:
        assert len(store) == 0 and len(store.read()) == 0
        assert store.append(log) == len(log) == 2554
        assert store.append(log) == 0  # the same log again adds nothing
    with InteractionStore(path) as store:  # reopened from disk
        assert len(store) == 2554
        assert store.event_weights == log.weights_by_event
        back = store.read()
    pd.testing.assert_frame_equal(back.to_frame(), log.to_frame())
    assert back.event_types == log.event_types
    assert np.array_equal(back.weight, log.weight)


def test_read_since_until(tmp_path: Path, log: Interactions) -> None:
    at = int(np.median(log.timestamp))
    with InteractionStore(tmp_path / "events.duckdb") as store:
        store.append(log)
        before, after = store.read(until=at), store.read(since=at)
        iso = store.read(since=pd.Timestamp(at, unit="s").isoformat())
    assert len(before) == int((log.timestamp < at).sum()) and (before.timestamp < at).all()
    assert len(after) == len(log) - len(before) and (after.timestamp >= at).all()
    assert len(iso) == len(after)


def test_read_on_the_catalogs_item_map(tmp_path: Path, log: Interactions) -> None:
    catalog = IdMap.of(["extra", *log.items.to_list()])
    with InteractionStore(":memory:") as store:
        store.append(log)
        data = store.read(items=catalog)
        assert data.items is catalog
        assert catalog.external(data.item).tolist() == log.items.external(log.item).tolist()
        with pytest.raises(DataError, match="not in the item map"):
            store.read(items=IdMap.of(["extra"]))


def test_append_a_frame_keeps_stored_weights(tmp_path: Path) -> None:
    with InteractionStore(":memory:") as store:
        first = pd.DataFrame(
            {"user": ["a"], "item": ["x"], "timestamp": [1], "event": ["view"], "value": [1.0]}
        )
        store.append(Interactions.from_frame(first, event_weights={"view": 0.5}))
        more = pd.DataFrame(
            {
                "user": ["a", "b", "b"],
                "item": ["y", "x", "x"],
                "timestamp": [2, 3, 3],
                "event": ["view", "purchase", "purchase"],
            }
        )
        assert store.append(more) == 2  # the repeat inside the frame is stored once
        assert store.event_weights == {"view": 0.5, "purchase": 5.0}
        assert store.read().weight.tolist() == [0.5, 0.5, 5.0]


def test_conflicting_weights_write_nothing(tmp_path: Path, log: Interactions) -> None:
    with InteractionStore(":memory:") as store:
        store.append(log.subset(log.timestamp < np.median(log.timestamp)))
        before = store.read().to_frame()
        other = Interactions.from_frame(
            log.to_frame(), event_weights={**log.weights_by_event, "view": 9.0}
        )
        with pytest.raises(StoreError, match=r"'view' stored 1, given 9\); nothing was written"):
            store.append(other)
        pd.testing.assert_frame_equal(store.read().to_frame(), before)


def test_a_failing_append_leaves_the_store_as_it_was(
    tmp_path: Path, log: Interactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.duckdb"
    early = log.subset(log.timestamp < np.median(log.timestamp))
    with InteractionStore(path) as store:
        store.append(early)
    insert = InteractionStore._insert

    def insert_then_fail(self: InteractionStore) -> None:
        insert(self)  # every row is in, the transaction still open
        raise OSError("disk full")

    monkeypatch.setattr(InteractionStore, "_insert", insert_then_fail)
    renamed = log.to_frame().assign(event=lambda f: f["event"].replace({"like": "favourite"}))
    with InteractionStore(path) as store, pytest.raises(OSError, match="disk full"):
        store.append(renamed)
    monkeypatch.undo()
    with InteractionStore(path) as store:
        assert len(store) == len(early)
        assert "favourite" not in store.event_weights  # the new type rolled back too
        pd.testing.assert_frame_equal(store.read().to_frame(), early.to_frame())
        assert store.append(log) == len(log) - len(early)  # still takes writes


def test_bad_frames_and_bad_files(tmp_path: Path) -> None:
    with InteractionStore(":memory:") as store:
        with pytest.raises(DataError, match="missing values"):
            store.append(pd.DataFrame({"user": [None], "item": ["x"], "timestamp": [1]}))
        assert len(store) == 0
    with CatalogStore(tmp_path / "catalog.duckdb"):
        pass
    with pytest.raises(StoreError, match=r"not a furima interaction store.*events\.duckdb beside"):
        InteractionStore(tmp_path / "catalog.duckdb")
    (tmp_path / "junk.duckdb").write_bytes(b"not a database at all")
    with pytest.raises(StoreError, match="cannot open"):
        InteractionStore(tmp_path / "junk.duckdb")
    store = InteractionStore(tmp_path / "events.duckdb")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        len(store)
