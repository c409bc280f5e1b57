"""``InteractionStore``: the event log kept in an embedded DuckDB file beside the catalog.

Events live in a file of their own (``events.duckdb`` next to ``catalog.duckdb``), not in a table
of the catalog store, because:

* DuckDB lets one process at a time write a file. Events arrive all day while listings change
  on their own schedule; two files keep a long event import from locking out catalog edits.
* Each file carries its own format name and version, so either can change or be rebuilt
  without migrating the other (an event log is often rebuilt from raw logs).
* The log grows far faster than the catalog and is archived on its own.

Every ``append`` runs in one transaction: it lands whole or not at all. Events are kept with
external ids (user, item, event type as text) so that the store never depends on one model's
dense indices; :meth:`InteractionStore.read` builds the indices, on the catalog's item map when
given one. DuckDB is imported only when a store is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from furima import __version__
from furima.catalog._event_frame import DEFAULT_EVENT_WEIGHTS, as_seconds
from furima.catalog._interactions import IdMap, Interactions
from furima.exceptions import StoreError

__all__ = ["InteractionStore"]

_EVENTS = "events"
_TYPES = "event_types"
_META = "furima_meta"
_FORMAT = "furima-events"
_FORMAT_VERSION = "1"
_INCOMING = "_furima_incoming"
_COLUMNS = '"user", "item", "timestamp", "event", "value"'
_MATCH = " AND ".join(f'f."{c}" = e."{c}"' for c in ("user", "item", "timestamp", "event", "value"))
Moment = int | float | str | datetime | pd.Timestamp


class InteractionStore:
    """Interaction events in a DuckDB file (created when missing; ``":memory:"`` works).

    Use as a context manager, or call :meth:`close`. Event types keep one weight each: the first
    append that names a type sets it.

    Raises:
        StoreError: The file is not a furima interaction store, or cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._con: Any = self._connect()
        try:
            self._check_or_create()
        except BaseException:
            self._con.close()
            raise

    # -- lifecycle --------------------------------------------------------------------------

    def _connect(self) -> Any:
        import duckdb

        try:
            return duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open {self.path!r} as a furima interaction store "
                f"({str(exc).rstrip('.!')}). Pass the path of a store that furima created, or a "
                "new path (e.g. events.duckdb beside the catalog store) to create one."
            ) from None

    def _check_or_create(self) -> None:
        query = (
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        )
        tables = {row[0] for row in self._sql(query)}
        if not tables:
            with self._transaction():
                self._create()
            return
        meta = dict(self._sql(f"SELECT key, value FROM {_META}")) if _META in tables else {}
        if meta.get("format") != _FORMAT or meta.get("version") != _FORMAT_VERSION:
            raise StoreError(
                f"{self.path!r} is not a furima interaction store (format {_FORMAT!r} version "
                f"{_FORMAT_VERSION!r}): it has tables {sorted(tables)} and format "
                f"{meta.get('format')!r}. Keep events in a file of their own, e.g. "
                "events.duckdb beside the catalog store."
            )

    def _create(self) -> None:
        self._sql(f"CREATE TABLE {_META} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        meta = [("format", _FORMAT), ("version", _FORMAT_VERSION), ("created_by", __version__)]
        self._con.executemany(f"INSERT INTO {_META} VALUES (?, ?)", meta)
        self._sql(
            f'CREATE TABLE {_EVENTS} ("user" VARCHAR NOT NULL, "item" VARCHAR NOT NULL, '
            '"timestamp" BIGINT NOT NULL, "event" VARCHAR NOT NULL, "value" DOUBLE NOT NULL, '
            '"seq" BIGINT NOT NULL)'
        )
        self._sql(
            f'CREATE TABLE {_TYPES} ("event" VARCHAR PRIMARY KEY, "weight" DOUBLE NOT NULL, '
            '"position" INTEGER NOT NULL)'
        )

    def close(self) -> None:
        """Close the file; later calls raise StoreError. Closing twice is fine."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> InteractionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InteractionStore({self.path!r})"

    # -- reads ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._sql(f"SELECT count(*) FROM {_EVENTS}")[0][0])

    @property
    def event_weights(self) -> dict[str, float]:
        """The stored event types and their weights, in the order they first came."""
        rows = self._sql(f'SELECT "event", "weight" FROM {_TYPES} ORDER BY "position"')
        return {str(name): float(weight) for name, weight in rows}

    def read(
        self,
        since: Moment | None = None,
        until: Moment | None = None,
        *,
        items: IdMap | None = None,
    ) -> Interactions:
        """The events with ``since <= timestamp < until`` (either bound optional; Unix
        seconds, ISO 8601 or datetimes), in the order they were appended before sorting.

        Args:
            items: The catalog's item map, so that dense indices match the catalog's (an event
                on another item is a DataError); default: the items read, in order.
        """
        low = as_seconds(since) if since is not None else np.iinfo(np.int64).min
        high = as_seconds(until) if until is not None else np.iinfo(np.int64).max
        frame = self._frame(
            f'SELECT {_COLUMNS} FROM {_EVENTS} WHERE "timestamp" >= ? AND "timestamp" < ? '
            'ORDER BY "seq"',
            [low, high],
        )
        return Interactions.from_frame(frame, event_weights=self.event_weights or None, items=items)

    # -- writes -----------------------------------------------------------------------------

    def append(self, events: Interactions | pd.DataFrame) -> int:
        """Add events (an :class:`Interactions`, or a frame of its :meth:`~Interactions.to_frame`
        columns, validated as :meth:`Interactions.from_frame` does); returns how many were new.

        Events already stored (all five fields equal) are not stored twice, so appending the
        same log again adds nothing. With a frame, stored event types keep their weights and
        new ones get :data:`~furima.catalog.DEFAULT_EVENT_WEIGHTS`' (1.0 for others).

        Raises:
            DataError: A frame that is not valid events.
            StoreError: An event type whose weight differs from the stored one (nothing is
                written); the store cannot be written.
        """
        if isinstance(events, pd.DataFrame):
            events = Interactions.from_frame(events, event_weights=self._frame_weights(events))
        else:
            events.validate()
        incoming = events.to_frame()
        incoming["_order"] = np.arange(len(incoming), dtype=np.int64)
        with self._transaction(), self._registered(incoming):
            before = len(self)
            self._add_types(events.weights_by_event)
            self._insert()
            return len(self) - before

    def _frame_weights(self, frame: pd.DataFrame) -> dict[str, float]:
        stored = self.event_weights
        names = ["interaction"]
        if "event" in frame.columns:
            names = [str(name) for name in frame["event"].dropna().unique()]
        new = [name for name in names if name not in stored]
        return {**stored, **{name: DEFAULT_EVENT_WEIGHTS.get(name, 1.0) for name in new}}

    def _add_types(self, weights: dict[str, float]) -> None:
        stored = self.event_weights
        clash = {t: (stored[t], w) for t, w in weights.items() if t in stored and stored[t] != w}
        if clash:
            shown = ", ".join(f"{t!r} stored {s:g}, given {w:g}" for t, (s, w) in clash.items())
            raise StoreError(
                f"event weights differ from the store's ({shown}); nothing was written. Append "
                "with the store's weights (store.event_weights), or start a new store."
            )
        fresh = [name for name in weights if name not in stored]
        rows = [(name, float(weights[name]), len(stored) + i) for i, name in enumerate(fresh)]
        if rows:
            self._connection.executemany(f"INSERT INTO {_TYPES} VALUES (?, ?, ?)", rows)

    def _insert(self) -> None:
        """Insert the registered incoming events that are not stored yet (first of repeats)."""
        start = int(self._sql(f'SELECT coalesce(max("seq") + 1, 0) FROM {_EVENTS}')[0][0])
        self._sql(
            f"INSERT INTO {_EVENTS} "
            f'SELECT f."user", f."item", f."timestamp", f."event", f."value", ? + f."_order" '
            f'FROM (SELECT {_COLUMNS}, min("_order") AS "_order" FROM {_INCOMING} GROUP BY ALL) f '
            f"ANTI JOIN {_EVENTS} e ON {_MATCH}",
            [start],
        )

    # -- internals --------------------------------------------------------------------------

    def _frame(self, query: str, params: list[Any]) -> pd.DataFrame:
        import duckdb

        try:
            table = self._connection.sql(query, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"store {self.path!r}: {exc}") from exc
        frame: pd.DataFrame = table.to_pandas()
        return frame

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._connection.begin()
        try:
            yield
        except BaseException:
            self._connection.rollback()
            raise
        self._connection.commit()

    @contextmanager
    def _registered(self, frame: pd.DataFrame) -> Iterator[None]:
        self._connection.register(_INCOMING, pa.Table.from_pandas(frame, preserve_index=False))
        try:
            yield
        finally:
            self._connection.unregister(_INCOMING)

    @property
    def _connection(self) -> Any:
        if self._con is None:
            raise StoreError(f"the store {self.path!r} is closed; open a new InteractionStore.")
        return self._con

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Any]:
        import duckdb

        try:
            rows: list[Any] = self._connection.execute(query, params).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"store {self.path!r}: {exc}") from exc
        return rows
