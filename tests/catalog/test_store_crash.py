"""Crash safety: a process killed in the middle of a write leaves the store as it was.

A child process opens a store that holds real listings and starts a large upsert that both
replaces those listings and adds new rows and a new attribute column. It dies inside the
write's transaction, after every row has been written but before the commit: by ``os._exit``,
or blocked there until the test SIGKILLs it. Reopening must show exactly the old store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from furima.catalog import CatalogStore, read_listings

BIG_WRITE_ROWS = 300_000
CHILD = """
import os, sys, time
import pandas as pd
from furima.catalog import CatalogStore

path, how, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
insert = CatalogStore._insert

def insert_then_die(self, frame):
    insert(self, frame)  # every row is in, the transaction is still open
    if how == "exit":
        os._exit(3)
    print("inserted", flush=True)
    time.sleep(120)  # the test SIGKILLs us here

CatalogStore._insert = insert_then_die
with CatalogStore(path) as store:
    old = store.to_frame()
    new = pd.DataFrame({
        "listing_id": [f"new-{i}" for i in range(n)],
        "name": [f"listing {i}" for i in range(n)],
        "price": [1.0 + i % 500 for i in range(n)],
        "season": ["Summer"] * n,
    })
    changed = old.assign(price=1.0, name="overwritten")
    print("writing", flush=True)
    store.upsert(pd.concat([changed, new], ignore_index=True))
print("committed", flush=True)
"""


@pytest.fixture
def filled_store(tmp_path: Path, fixtures: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "catalog.duckdb"
    with CatalogStore(path) as store:
        store.add(read_listings(fixtures / "myntra_150.parquet").listings)
        before = store.to_frame()
    return path, before


def child(path: Path, how: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), how, str(BIG_WRITE_ROWS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_unchanged(path: Path, before: pd.DataFrame) -> None:
    with CatalogStore(path) as store:
        assert len(store) == len(before)
        assert "season" not in store.columns()
        pd.testing.assert_frame_equal(store.to_frame(), before)
        store.add(before.head(0))  # the store still takes writes
        store.upsert(before.head(2).assign(price=5.0))
        assert store.get(before["listing_id"].iloc[0])["price"].iloc[0] == 5.0


def test_exit_mid_write_leaves_store_unchanged(filled_store: tuple[Path, pd.DataFrame]) -> None:
    path, before = filled_store
    process = child(path, "exit")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, err
    assert "writing" in out and "committed" not in out
    assert_unchanged(path, before)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_leaves_store_unchanged(
    filled_store: tuple[Path, pd.DataFrame],
) -> None:
    path, before = filled_store
    process = child(path, "kill")
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if line.strip() == "inserted":
            break
    assert lines[-1:] == ["inserted"], process.stderr.read() if process.stderr else ""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert_unchanged(path, before)
