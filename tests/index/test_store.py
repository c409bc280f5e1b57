"""The on-disk raw vector store behind IVF-PQ re-ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furima.index._store import RawVectors


def test_sparse_and_dense_takes_return_the_same_rows(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).standard_normal((100_000, 4)).astype(np.float32)
    store = RawVectors(4, tmp_path)
    store.append(rows[:60_000])
    store.append(rows[60_000:])
    picked = np.random.default_rng(1).permutation(len(rows))
    np.testing.assert_array_equal(store.take(picked[:10]), rows[picked[:10]])  # memory map
    np.testing.assert_array_equal(store.take(picked[:90_000]), rows[picked[:90_000]])  # streamed
    starts = [start for start, _ in store.chunks(rows=30_000)]
    assert starts == [0, 30_000, 60_000, 90_000]


def test_opened_store_copies_on_write_and_compacts(tmp_path: Path) -> None:
    saved = tmp_path / "vectors.f32"
    rows = np.arange(40, dtype=np.float32).reshape(10, 4)
    saved.write_bytes(rows.tobytes())
    store = RawVectors.open(saved, 4, 10, tmp_path / "work")
    store.append(rows[:2])
    assert saved.read_bytes() == rows.tobytes()  # the saved file is never written
    keep = np.zeros(12, bool)
    keep[[1, 11]] = True
    store.keep(keep)
    np.testing.assert_array_equal(store.take(np.arange(2)), rows[[1, 1]])
    path = store.path
    del store
    assert not path.exists()  # the store's own file goes with it
