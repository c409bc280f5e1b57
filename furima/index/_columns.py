"""Growable numpy columns and the listing-id -> position map of an index."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Column", "IdMap"]


class Column:
    """A 1-D numpy array that grows by doubling; ``values`` is the live prefix (a view)."""

    def __init__(self, dtype: Any, fill: Any = 0, values: np.ndarray | None = None) -> None:
        self._fill = fill
        self._data = np.asarray(values if values is not None else [], dtype=dtype).copy()
        self._size = len(self._data)

    def __len__(self) -> int:
        return self._size

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._size]

    def append(self, values: np.ndarray) -> None:
        end = self._size + len(values)
        if end > len(self._data):
            grown = np.full(max(end, 2 * len(self._data), 16), self._fill, self._data.dtype)
            grown[: self._size] = self.values
            self._data = grown
        self._data[self._size : end] = values
        self._size = end

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` is False (compaction)."""
        self._data = self.values[mask].copy()
        self._size = len(self._data)


class IdMap:
    """int64 listing id -> int64 position, without a Python dict per id.

    A sorted pair of arrays plus a small unsorted pending part that is merged in when it grows
    past an eighth of the sorted part, so bulk and one-at-a-time adds both stay cheap
    (amortised O(log n) per id). A deleted id maps to -1 until the next merge drops it.
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, np.int64)
        self._values = np.empty(0, np.int64)
        self._pending_keys = Column(np.int64)
        self._pending_values = Column(np.int64)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Positions of ``ids``; -1 for ids that are not present."""
        found = np.full(len(ids), -1, np.int64)
        for keys, values in self._parts():
            if len(keys) == 0:
                continue
            at = np.searchsorted(keys, ids).clip(max=len(keys) - 1)
            hit = (keys[at] == ids) & (found < 0)
            found[hit] = values[at[hit]]
        return found

    def insert(self, ids: np.ndarray, positions: np.ndarray) -> None:
        """Map new ``ids`` (not currently present) to ``positions``."""
        at = np.searchsorted(self._keys, ids).clip(max=max(len(self._keys) - 1, 0))
        reuse = (self._keys[at] == ids) if len(self._keys) else np.zeros(len(ids), bool)
        self._values[at[reuse]] = positions[reuse]
        self._pending_keys.append(ids[~reuse])
        self._pending_values.append(positions[~reuse])
        if len(self._pending_keys) > max(4096, len(self._keys) // 8):
            self._merge()

    def remove(self, ids: np.ndarray) -> None:
        """Forget ``ids`` (present ones; absent ones are ignored)."""
        self._merge()
        at = np.searchsorted(self._keys, ids).clip(max=max(len(self._keys) - 1, 0))
        if len(self._keys):
            hit = self._keys[at] == ids
            self._values[at[hit]] = -1

    def rebuild(self, ids: np.ndarray, alive: np.ndarray | None = None) -> None:
        """Map ``ids[p]`` to ``p`` for every (live) position ``p`` (after compaction or load)."""
        positions = np.arange(len(ids)) if alive is None else np.flatnonzero(alive)
        order = np.argsort(ids[positions], kind="stable")
        self._keys = ids[positions][order].astype(np.int64)
        self._values = positions[order].astype(np.int64)
        self._pending_keys = Column(np.int64)
        self._pending_values = Column(np.int64)

    def _parts(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        pending = self._pending_keys.values
        order = np.argsort(pending, kind="stable")
        return (self._keys, self._values), (pending[order], self._pending_values.values[order])

    def _merge(self) -> None:
        if not len(self._pending_keys):
            return
        keys = np.concatenate([self._keys, self._pending_keys.values])
        values = np.concatenate([self._values, self._pending_values.values])
        live = values >= 0
        keys, values = keys[live], values[live]
        order = np.argsort(keys, kind="stable")
        self._keys, self._values = keys[order], values[order]
        self._pending_keys = Column(np.int64)
        self._pending_values = Column(np.int64)
