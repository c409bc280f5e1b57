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

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from furima.catalog._duckdb import INCOMING, DuckDBStore
from furima.catalog._event_frame import DEFAULT_EVENT_WEIGHTS, as_seconds
from furima.catalog._interactions import IdMap, Interactions
from furima.exceptions import StoreError

__all__ = ["InteractionStore"]

_EVENTS = "events"
_TYPES = "event_types"
_COLUMNS = '"user", "item", "timestamp", "event", "value"'
_MATCH = " AND ".join(f'f."{c}" = e."{c}"' for c in ("user", "item", "timestamp", "event", "value"))
Moment = int | float | str | datetime | pd.Timestamp


class InteractionStore(DuckDBStore):
    """Interaction events in a DuckDB file (created when missing; ``":memory:"`` works).

    Use as a context manager, or call :meth:`close`. Event types keep one weight each: the first
    append that names a type sets it.

    Raises:
        StoreError: The file is not a furima interaction store, or cannot be opened.
    """

    _FORMAT = "furima-events"
    _FORMAT_VERSION = "1"
    _KIND = "interaction"
    _NEW_PATH_EXAMPLE = " (e.g. events.duckdb beside the catalog store)"

    # -- lifecycle --------------------------------------------------------------------------

    def _refusal(self, tables: set[str], meta: dict[str, str]) -> str | None:
        if self._is_current(meta):
            return None
        return (
            f"{self.path!r} is not a furima interaction store (format {self._FORMAT!r} "
            f"version {self._FORMAT_VERSION!r}): it has tables {sorted(tables)} and format "
            f"{meta.get('format')!r}. Keep events in a file of their own, e.g. "
            "events.duckdb beside the catalog store."
        )

    def _create_tables(self) -> None:
        self._sql(
            f'CREATE TABLE {_EVENTS} ("user" VARCHAR NOT NULL, "item" VARCHAR NOT NULL, '
            '"timestamp" BIGINT NOT NULL, "event" VARCHAR NOT NULL, "value" DOUBLE NOT NULL, '
            '"seq" BIGINT NOT NULL)'
        )
        self._sql(
            f'CREATE TABLE {_TYPES} ("event" VARCHAR PRIMARY KEY, "weight" DOUBLE NOT NULL, '
            '"position" INTEGER NOT NULL)'
        )

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
            f'FROM (SELECT {_COLUMNS}, min("_order") AS "_order" FROM {INCOMING} GROUP BY ALL) f '
            f"ANTI JOIN {_EVENTS} e ON {_MATCH}",
            [start],
        )

    # -- internals --------------------------------------------------------------------------

    def _frame(self, query: str, params: list[Any]) -> pd.DataFrame:
        frame: pd.DataFrame = self._arrow(query, params).to_pandas()
        return frame
