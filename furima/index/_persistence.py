"""Saving and loading vector indexes as a folder with a JSON manifest.

A saved :class:`VectorIndex` is a folder::

    manifest.json   format, versions (furima, faiss, numpy), backend, dim, metric, count,
                    parameters, metadata fields, sha256 of every file
    index.faiss     the FAISS index (absent before the first vectors)
    vectors.f32     raw float32 rows, for backends that keep only codes (IVF-PQ)
    arrays.npz      ids and live flags per position, metadata columns and vocabularies
                    (numpy, loaded with allow_pickle=False)

``path`` is a symlink swapped atomically to a new version folder on each save (see
:mod:`furima._artifacts`): a crash mid-save leaves the previous index loadable.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import ArtifactKind, check_files, read_manifest, save_atomically, stamp
from furima.exceptions import IndexFormatError
from furima.index._backends import read_backend
from furima.index._columns import Column
from furima.index._metadata import Metadata
from furima.index._store import RawVectors

if TYPE_CHECKING:
    from furima.index._vector_index import VectorIndex

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "index_artifact",
    "load_index",
    "read_index_folder",
    "save_index",
]

FORMAT = "furima.vector_index"
FORMAT_VERSION = 1
_INDEX, _VECTORS, _ARRAYS = "index.faiss", "vectors.f32", "arrays.npz"
REBUILD_HINT = "VectorIndex(...).add(...) and save()"


def index_artifact(kind: str, version: int, rebuild_hint: str) -> ArtifactKind:
    """How a saved index-layer folder (``kind`` format, up to ``version``) reports problems."""
    return ArtifactKind(
        format=kind,
        version=version,
        noun=f"saved {kind}",
        written_by="save()",
        too_new=(
            f"in format {{saved}}; this furima reads {kind} format {{supported}} and older. "
            f"Upgrade furima, or rebuild the index with this version ({rebuild_hint})."
        ),
        damaged="the index is corrupt, truncated or was modified. Restore it from a backup or "
        "rebuild it.",
        error=IndexFormatError,
    )


def versions() -> dict[str, str]:
    """furima, faiss and numpy versions, for manifests."""
    import furima

    found = {"furima": furima.__version__}
    for name in ("faiss-cpu", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def save_index(index: VectorIndex, path: Path) -> Path:
    """Write ``index`` so that ``path`` names it, replacing any index there atomically."""
    return save_atomically(path, lambda folder: write_index_folder(index, folder))


def write_index_folder(index: VectorIndex, folder: Path) -> None:
    """Write the files and manifest of ``index`` into an existing, empty ``folder``."""
    backend = index._backend
    if backend is not None and (backend.is_trained or backend.ntotal):
        backend.write(folder / _INDEX)
    if index._raw is not None:
        index._raw.copy_to(folder / _VECTORS)
    arrays = {"ids": index._ids.values, "alive": index._alive.values}
    arrays.update(index._meta.to_arrays())
    np.savez(folder / _ARRAYS, allow_pickle=False, **arrays)
    stamp(folder, _manifest(index))


def _manifest(index: VectorIndex) -> dict[str, Any]:
    backend = index._backend
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": versions(),
        "backend": backend.name if backend is not None else None,
        "requested_backend": index.requested_backend,
        "dim": index.dim,
        "metric": index.metric,
        "count": len(index),
        "positions": len(index._ids),
        "params": backend.params() if backend is not None else None,
        "effort": index.effort,
        "fields": index.fields,
        "target_recall": index.target_recall,
        "expected_size": index.expected_size,
        "memory_budget_gb": index.memory_budget_gb,
        "compact_at": index.compact_at,
    }


def load_index(
    path: Path, *, verify: bool = True, storage: str | Path | None = None
) -> VectorIndex:
    """Rebuild a :class:`VectorIndex` saved by :func:`save_index`."""
    kind = index_artifact(FORMAT, FORMAT_VERSION, REBUILD_HINT)
    manifest = read_manifest(path, kind)
    if verify:
        check_files(path, manifest, kind)
    return read_index_folder(path.resolve(), manifest, storage)


def read_index_folder(
    folder: Path, manifest: dict[str, Any], storage: str | Path | None
) -> VectorIndex:
    """The index stored in ``folder`` (checksums already checked or skipped)."""
    from furima.index._vector_index import VectorIndex

    try:
        with np.load(folder / _ARRAYS, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, KeyError) as error:
        raise IndexFormatError(f"{str(folder / _ARRAYS)!r} cannot be read ({error}).") from error
    index = VectorIndex(
        manifest["dim"],
        metric=manifest["metric"],
        backend=manifest["requested_backend"],
        target_recall=manifest["target_recall"],
        expected_size=manifest["expected_size"],
        fields={k: v for k, v in manifest["fields"].items()},
        storage=storage,
        memory_budget_gb=manifest["memory_budget_gb"],
        compact_at=manifest["compact_at"],
    )
    _restore_rows(index, manifest, arrays)
    _restore_backend(index, folder, manifest)
    return index


def _restore_rows(index: VectorIndex, manifest: dict[str, Any], arrays: dict[str, Any]) -> None:
    ids, alive = arrays["ids"].astype(np.int64), arrays["alive"].astype(np.bool_)
    if len(ids) != manifest["positions"] or len(alive) != len(ids):
        raise IndexFormatError("arrays.npz does not match its manifest: the index is corrupt.")
    index._ids = Column(np.int64, -1, ids)
    index._alive = Column(np.bool_, False, alive)
    index._meta = Metadata.from_arrays(manifest["fields"], arrays)
    index._dead = int(len(ids) - np.count_nonzero(alive))
    index._idmap.rebuild(ids, alive)


def _restore_backend(index: VectorIndex, folder: Path, manifest: dict[str, Any]) -> None:
    name = manifest["backend"]
    if name is None:
        return
    file = folder / _INDEX
    backend = read_backend(name, index.dim, manifest["params"], file if file.exists() else None)
    if (folder / _VECTORS).exists():
        expected = manifest["positions"] * index.dim * 4
        if (folder / _VECTORS).stat().st_size != expected:
            raise IndexFormatError(
                f"{str(folder / _VECTORS)!r} has the wrong size (expected {expected} bytes): "
                "the index is truncated or corrupt. Restore it or rebuild it."
            )
        index._raw = RawVectors.open(
            folder / _VECTORS, index.dim, manifest["positions"], index.storage
        )
    index._install(backend)
    if manifest.get("effort") and backend.efforts():
        backend.effort = int(manifest["effort"])
