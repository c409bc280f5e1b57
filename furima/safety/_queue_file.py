"""``QueueFile``: the review queue's DuckDB file, shared safely by threads and processes.

DuckDB lets one process write a file at a time and shares one database per file within a
process. This base waits a while for another process that holds the file, opens and closes
files one at a time within the process (DuckDB's cache races otherwise), serialises the use of
one connection between threads, and turns a write that lost a race with another connection
(a uniqueness or write-write conflict) into :class:`LostRace` after rolling it back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from furima.catalog._duckdb import DuckDBStore
from furima.exceptions import StoreError

__all__ = ["Clock", "LostRace", "QueueFile", "utc_now"]

Clock = Callable[[], datetime]
_OPENING = threading.Lock()
"""Opening and closing DuckDB files, one at a time in this process."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class LostRace(Exception):
    """Another connection wrote the same rows first (the transaction was rolled back)."""


class QueueFile(DuckDBStore):
    """A DuckDB store that waits for the file, is safe to share between threads, and reports
    lost write races.

    Args:
        path: The file.
        lock_wait_seconds: How long to wait for another process that holds the file.
        clock: Returns the current time (UTC); tests pass their own.
    """

    def __init__(
        self, path: str | Path, *, lock_wait_seconds: float = 5.0, clock: Clock = utc_now
    ) -> None:
        self._lock = threading.RLock()
        self._lock_wait_seconds = lock_wait_seconds
        self._clock = clock
        super().__init__(path)

    # -- the file ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        import duckdb

        deadline = time.monotonic() + self._lock_wait_seconds
        while True:
            try:
                with _OPENING:
                    return duckdb.connect(self.path)
            except (duckdb.IOException, duckdb.ResourceInUseException) as exc:
                held = "lock" in str(exc).lower() or isinstance(exc, duckdb.ResourceInUseException)
                if not held:
                    return super()._connect()
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the {self._KIND} {self.path!r} is held by another process "
                        f"({str(exc).split(': ', 1)[-1].split('. See')[0]}); DuckDB lets one "
                        "process write a file at a time. Close the queue there, or try again."
                    ) from None
                time.sleep(0.02)

    def close(self) -> None:
        """Close the file; later calls raise StoreError. Closing twice is fine."""
        with _OPENING, self._lock:
            super().close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction under the object's lock; a write that loses a race with another
        connection raises :class:`LostRace` after rolling back."""
        import duckdb

        with self._lock:
            try:
                with self._transaction():
                    yield
            except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
                self._rollback_quietly()
                raise LostRace from exc
            except StoreError as exc:
                if isinstance(
                    exc.__cause__, duckdb.TransactionException | duckdb.ConstraintException
                ):
                    raise LostRace from exc
                raise

    def _rollback_quietly(self) -> None:
        with suppress(Exception):  # a failed commit may have ended the transaction already
            self._connection.rollback()

    def _now(self) -> datetime:
        """The clock's time as naive UTC, the way DuckDB's TIMESTAMP keeps it."""
        return self._clock().astimezone(UTC).replace(tzinfo=None)

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Any]:
        with self._lock:  # one DuckDB connection refuses a second call at once
            return super()._sql(query, params)

    def _arrow(self, query: str, params: list[Any] | None = None) -> pa.Table:
        with self._lock:
            return super()._arrow(query, params)

    def _rows(self, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._arrow(query, params).to_pylist()
        return rows
