"""Raw float32 vectors on disk, for backends that keep only codes (HNSW fp16, IVF-PQ).

Rows are appended with ordinary file writes and read back through a read-only memory map, so
a pool of 10M x 384 (15 GB) needs no RAM of its own: only the rows a search re-ranks are paged
in, and the kernel may drop them again. A store opened from a saved index is read-only until
its first write, which copies it to a fresh file (copy on write), so the saved index is never
modified in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RawVectors"]

_CHUNK_BYTES = 256 << 20


class RawVectors:
    """Append-only ``[n, dim]`` float32 rows in a file under ``folder`` (system temp if None)."""

    def __init__(self, dim: int, folder: Path | None = None) -> None:
        self.dim = dim
        self._folder = folder
        self._path = self._new_file()
        self._owned: weakref.finalize[Any, Any] | None = weakref.finalize(self, _unlink, self._path)
        self._count = 0
        self._readonly = False
        self._map: np.ndarray | None = None

    @classmethod
    def open(cls, file: Path, dim: int, count: int, folder: Path | None = None) -> RawVectors:
        """Read ``count`` rows of a saved ``file`` (read-only; copied on first write).

        The store reads through a hard link of its own where the file system allows, so a
        later save that replaces the saved index does not pull the file from under it.
        """
        store = cls.__new__(cls)
        store.dim, store._folder = dim, folder
        store._path, store._owned = _private_link(Path(file), folder, store)
        store._count, store._readonly, store._map = count, True, None
        return store

    def __len__(self) -> int:
        return self._count

    @property
    def path(self) -> Path:
        return self._path

    def append(self, rows: np.ndarray) -> None:
        self._writable()
        with self._path.open("ab") as handle:
            handle.write(np.ascontiguousarray(rows, dtype=np.float32).tobytes())
        self._count += len(rows)
        self._map = None

    def take(self, positions: np.ndarray) -> np.ndarray:
        """Rows at ``positions`` as a new in-memory array.

        Few rows come through the memory map; dense selections (over an eighth of the rows,
        e.g. an exact scan) stream the file instead, so they do not fill the process's
        resident set with mapped pages.
        """
        if len(positions) == 0:
            return np.empty((0, self.dim), np.float32)
        if len(positions) * 8 < self._count or len(positions) < 65_536:
            return np.asarray(self._mapped()[positions], dtype=np.float32)
        order = np.argsort(positions, kind="stable")
        wanted = positions[order]
        out = np.empty((len(positions), self.dim), np.float32)
        for start, block in self.chunks():
            low, high = np.searchsorted(wanted, [start, start + len(block)])
            out[order[low:high]] = block[wanted[low:high] - start]
        return out

    def chunks(self, rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, block)`` over all rows in order, read from the file (not mapped)."""
        rows = rows or max(1, _CHUNK_BYTES // (4 * self.dim))
        with self._path.open("rb") as handle:
            for start in range(0, self._count, rows):
                n = min(rows, self._count - start)
                block = np.fromfile(handle, np.float32, n * self.dim).reshape(n, self.dim)
                yield start, block

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` is False (compaction), writing a new file."""
        fresh = RawVectors(self.dim, self._folder)
        for start, block in self.chunks():
            fresh.append(block[mask[start : start + len(block)]])
        self._replace_with(fresh)

    def copy_to(self, file: Path) -> None:
        with self._path.open("rb") as source, file.open("wb") as target:
            shutil.copyfileobj(source, target, 1 << 24)
            target.truncate(self._count * self.dim * 4)

    def _mapped(self) -> np.ndarray:
        if self._map is None:
            mapped = np.memmap(self._path, np.float32, mode="r", shape=(self._count, self.dim))
            self._map = mapped.view(np.ndarray)  # plain indexing, no memmap subclass overhead
        return self._map

    def _writable(self) -> None:
        if not self._readonly:
            return
        fresh = RawVectors(self.dim, self._folder)
        self.copy_to(fresh.path)
        fresh._count = self._count
        self._replace_with(fresh)

    def _replace_with(self, fresh: RawVectors) -> None:
        if self._owned is not None:
            self._owned()  # unlinks our previous file
        if fresh._owned is not None:
            fresh._owned.detach()
        self._path, self._count, self._readonly, self._map = fresh._path, fresh._count, False, None
        self._owned = weakref.finalize(self, _unlink, self._path)

    def _new_file(self) -> Path:
        if self._folder is not None:
            self._folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="furima-vectors-", suffix=".f32", dir=self._folder)
        os.close(handle)
        return Path(name)


def _private_link(
    file: Path, folder: Path | None, owner: RawVectors
) -> tuple[Path, weakref.finalize[Any, Any] | None]:
    for place in (folder, Path(tempfile.gettempdir()), file.resolve().parent.parent):
        if place is None:
            continue
        try:
            place.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".furima-vectors-", suffix=".f32", dir=place)
            os.close(handle)
            os.unlink(name)
            os.link(file, name)
        except OSError:
            continue
        return Path(name), weakref.finalize(owner, _unlink, Path(name))
    return file, None


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
