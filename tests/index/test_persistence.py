"""Saving and loading: identical results, manifest, version and checksum errors, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import furima.index._persistence as persistence
from furima.exceptions import IndexFormatError
from furima.index import HNSWParams, VectorIndex

from .conftest import DIM, Pool

FILTERS = {"category": ["Shoes", "Toys"], "status": "on_sale"}


def test_round_trip_returns_identical_results(
    built: VectorIndex, pool: Pool, backend: str, tmp_path: Path
) -> None:
    built.delete(pool.ids[:20])
    before = built.search(pool.queries, 10), built.search(pool.queries, 10, FILTERS)
    built.save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index")
    after = loaded.search(pool.queries, 10), loaded.search(pool.queries, 10, FILTERS)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old.ids, new.ids)
        np.testing.assert_allclose(old.scores, new.scores, rtol=1e-6)
    assert (loaded.backend, len(loaded), loaded.effort) == (backend, len(built), built.effort)
    np.testing.assert_array_equal(
        loaded.get_vectors(pool.ids[20:25]), built.get_vectors(pool.ids[20:25])
    )
    assert pool.ids[0] not in loaded


def test_manifest_records_versions_shape_and_checksums(built: VectorIndex, tmp_path: Path) -> None:
    built.save(tmp_path / "index")
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["format_version"] == persistence.FORMAT_VERSION
    assert {"furima", "faiss-cpu", "numpy"} <= set(manifest["versions"])
    assert (manifest["dim"], manifest["metric"], manifest["count"]) == (DIM, "cosine", 3000)
    assert manifest["backend"] == built.backend
    assert set(manifest["files"]) >= {"arrays.npz"}
    assert all(len(digest) == 64 for digest in manifest["files"].values())


def test_newer_format_asks_to_upgrade_or_rebuild(built: VectorIndex, tmp_path: Path) -> None:
    path = built.save(tmp_path / "index")
    manifest_file = path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["format_version"] = persistence.FORMAT_VERSION + 1
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match=r"Upgrade furima, or rebuild the index"):
        VectorIndex.load(path)


def test_an_hnsw_index_saved_before_codes_existed_loads_as_float32(
    pool: Pool, tmp_path: Path
) -> None:
    index = VectorIndex(DIM, backend="hnsw", params=HNSWParams(codes="flat"))
    path = index.add(pool.ids, pool.vectors).save(tmp_path / "index")
    manifest_file = path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    del manifest["params"]["codes"]  # what furima wrote before HNSW had half-precision codes
    manifest_file.write_text(json.dumps(manifest))
    loaded = VectorIndex.load(path)
    assert loaded._backend is not None and loaded._backend.params()["codes"] == "flat"
    np.testing.assert_array_equal(
        loaded.search(pool.queries, 10).ids, index.search(pool.queries, 10).ids
    )


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_tampered_or_truncated_files_fail_the_checksum(
    pool: Pool, tmp_path: Path, damage: str
) -> None:
    index = VectorIndex(DIM, backend="hnsw").add(pool.ids[:500], pool.vectors[:500])
    path = index.save(tmp_path / "index")
    file = path / "index.faiss"
    data = file.read_bytes()
    if damage == "flip":
        file.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "truncate":
        file.write_bytes(data[: len(data) // 2])
    else:
        file.unlink()
    with pytest.raises(IndexFormatError, match=r"checksum|missing"):
        VectorIndex.load(path)


def test_not_an_index_folder(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError, match=r"no manifest\.json"):
        VectorIndex.load(tmp_path)


def test_exception_mid_save_keeps_the_previous_index(
    pool: Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index"
    VectorIndex(DIM, backend="exact").add(pool.ids[:100], pool.vectors[:100]).save(path)
    bigger = VectorIndex(DIM, backend="exact").add(pool.ids, pool.vectors)

    def crash(folder: Path, manifest: dict[str, object]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "stamp", crash)
    with pytest.raises(OSError, match="disk full"):
        bigger.save(path)
    assert len(VectorIndex.load(path)) == 100
    assert [p.name for p in tmp_path.iterdir() if p.name != "index"] == [path.resolve().name]


_KILLED_SAVE = """
import sys, time
import numpy as np
import furima.index._persistence as persistence
from furima.index import HNSWParams, VectorIndex

def slow_stamp(folder, manifest):
    print("writing", flush=True)
    time.sleep(60)

persistence.stamp = slow_stamp
vectors = np.random.default_rng(0).standard_normal((50, 32)).astype("float32")
VectorIndex(32, backend="exact").add(np.arange(50), vectors).save(sys.argv[1])
"""


def test_sigkill_mid_save_leaves_previous_index_and_nothing_half_written(
    pool: Pool, tmp_path: Path
) -> None:
    path = tmp_path / "index"
    VectorIndex(DIM, backend="exact").add(pool.ids[:100], pool.vectors[:100]).save(path)
    before = VectorIndex.load(path).search(pool.queries, 5).ids
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_KILLED_SAVE), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    loaded = VectorIndex.load(path)
    assert len(loaded) == 100
    np.testing.assert_array_equal(loaded.search(pool.queries, 5).ids, before)
    visible = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible == [path]
    VectorIndex(DIM, backend="exact").add(pool.ids[:7], pool.vectors[:7]).save(path)
    assert len(list(tmp_path.glob(".index@*"))) == 1  # the killed save's folder is cleaned up
    assert len(VectorIndex.load(path)) == 7


def test_loaded_ivfpq_copies_on_write_and_can_replace_itself(pool: Pool, tmp_path: Path) -> None:
    from furima.index import IVFPQParams

    index = VectorIndex(DIM, backend="ivfpq", params=IVFPQParams(nlist=16, nprobe=8))
    path = index.add(pool.ids[:2000], pool.vectors[:2000]).save(tmp_path / "index")
    loaded = VectorIndex.load(path)
    loaded.add(pool.ids[2000:], pool.vectors[2000:])
    assert len(VectorIndex.load(path)) == 2000  # checksums still match: saved files untouched
    loaded.save(path)  # replaces the version folder the loaded store came from
    again = VectorIndex.load(path)
    assert len(again) == len(pool.ids)
    np.testing.assert_array_equal(
        again.search(pool.queries, 10).ids, loaded.search(pool.queries, 10).ids
    )
