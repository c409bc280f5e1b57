"""Moving an index's rows into a backend in bounded chunks, and training it on a sample.

:class:`~furima.index.VectorIndex` keeps its rows in a raw store (or in the backend itself);
whatever reads or re-adds many of them goes through here, ``CHUNK_ROWS`` at a time, so no step
of a feed, rebuild or exact search holds more than one chunk of vectors in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from furima.index._base import Backend

__all__ = ["CHUNK_ROWS", "Take", "add_blocks", "add_from", "gather", "in_chunks", "train_on_sample"]

CHUNK_ROWS = 262_144

Take = Callable[[np.ndarray], np.ndarray]
"""Reads the float32 vectors stored at some positions (``VectorIndex._take``)."""


def in_chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    """``rows`` in consecutive slices of at most ``CHUNK_ROWS``."""
    for start in range(0, len(rows), CHUNK_ROWS):
        yield rows[start : start + CHUNK_ROWS]


def gather(take: Take, positions: np.ndarray, dim: int) -> np.ndarray:
    """The vectors at ``positions`` as one float32 ``[n, dim]`` array, read chunk by chunk."""
    out = np.empty((len(positions), dim), np.float32)
    for start in range(0, len(positions), CHUNK_ROWS):
        chunk = positions[start : start + CHUNK_ROWS]
        out[start : start + len(chunk)] = take(chunk)
    return out


def add_from(backend: Backend, rows: int, take: Take) -> None:
    """Add positions ``backend.ntotal..rows-1`` to ``backend``, chunk by chunk."""
    for start in range(backend.ntotal, rows, CHUNK_ROWS):
        backend.add(take(np.arange(start, min(start + CHUNK_ROWS, rows))))


def train_on_sample(
    backend: Backend, rows: int, expected_size: int | None, rng: np.random.Generator, take: Take
) -> bool:
    """Train ``backend`` on a random sample of the ``rows`` positions, when there are enough.

    The pool it plans for is ``max(rows, expected_size)``; returns False (and trains nothing)
    while fewer rows are stored than the backend wants for that pool.
    """
    pool = max(rows, expected_size or 0)
    wanted = backend.train_rows(pool)
    if rows < wanted:
        return False
    sample = np.sort(rng.choice(rows, wanted, replace=False))
    backend.train(take(sample), pool)
    return True


def add_blocks(backend: Backend, blocks: Iterable[np.ndarray]) -> None:
    """Add ``blocks`` of rows to ``backend`` in turn (made C-contiguous first)."""
    for block in blocks:
        backend.add(np.ascontiguousarray(block))
