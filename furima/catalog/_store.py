"""``CatalogStore``: listings kept in an embedded DuckDB file.

Every write (``add``, ``upsert``, ``update``, ``delete``) runs in one transaction: it lands
whole or not at all, so a process killed mid-write leaves the store as it was before that write.
DuckDB is imported only when a store is opened, so ``import furima.catalog`` stays light.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

from furima.catalog._columns import (
    LISTING_COLUMNS,
    TEXT_DTYPE,
    attribute_columns,
    numeric_attribute_columns,
)
from furima.catalog._duckdb import INCOMING, META, DuckDBStore
from furima.catalog._schema import ListingSchema, validation_error
from furima.exceptions import ListingNotFoundError, SchemaError, StoreError

__all__ = ["CatalogStore"]

_TABLE = "listings"
_SQL_TYPES = {
    "listing_id": "VARCHAR NOT NULL",
    "name": "VARCHAR NOT NULL",
    "description": "VARCHAR NOT NULL",
    "brand": "VARCHAR",
    "category": "VARCHAR",
    "condition": "TINYINT",
    "shipping": "TINYINT",
    "price": "DOUBLE",
}
_SHOWN_IDS = 10
_STORE_HINT = "Fix these listings before storing them (read_listings() validates files)."


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _id_list(ids: str | Iterable[str]) -> list[str]:
    return [ids] if isinstance(ids, str) else [str(i) for i in ids]


def _shown_ids(ids: list[str]) -> str:
    listed = ", ".join(repr(i) for i in ids[:_SHOWN_IDS])
    more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
    return f"{listed}{more}"


class CatalogStore(DuckDBStore):
    """A catalog of listings in a DuckDB file (created when missing; ``":memory:"`` works).

    Use as a context manager, or call :meth:`close`. Listings go in and come out as canonical
    listings frames (:data:`~furima.catalog.LISTING_COLUMNS` then attribute columns, which
    the store adds as they appear). Every write is validated first.

    Raises:
        StoreError: The file is not a furima catalog store, or cannot be opened.
    """

    _FORMAT = "furima-catalog"
    _FORMAT_VERSION = "1"
    _KIND = "catalog"

    # -- lifecycle --------------------------------------------------------------------------

    def _refusal(self, tables: set[str], meta: dict[str, str]) -> str | None:
        if META not in tables or _TABLE not in tables:
            return (
                f"{self.path!r} is a DuckDB database but not a furima catalog store (it has "
                f"tables {sorted(tables)}, no {META!r}). Pass another path."
            )
        if self._is_current(meta):
            return None
        return (
            f"{self.path!r} holds store format {meta.get('format')!r} version "
            f"{meta.get('version')!r}; this furima reads {self._FORMAT!r} version "
            f"{self._FORMAT_VERSION!r}."
        )

    def _create_tables(self) -> None:
        columns = ", ".join(f"{_quote(c)} {_SQL_TYPES[c]}" for c in LISTING_COLUMNS)
        self._sql(f"CREATE TABLE {_TABLE} ({columns})")

    # -- reads ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._sql(f"SELECT count(*) FROM {_TABLE}")[0][0])

    def __contains__(self, listing_id: object) -> bool:
        query = f"SELECT 1 FROM {_TABLE} WHERE listing_id = ? LIMIT 1"
        return isinstance(listing_id, str) and bool(self._sql(query, [listing_id]))

    def columns(self) -> list[str]:
        """The stored columns: canonical ones, then attributes in the order they appeared."""
        return [row[0] for row in self._sql(f"SELECT name FROM pragma_table_info('{_TABLE}')")]

    def to_frame(self) -> pd.DataFrame:
        """Every listing, ordered by ``listing_id``."""
        return self._frame(f"SELECT * FROM {_TABLE} ORDER BY listing_id")

    def get(self, ids: str | Iterable[str]) -> pd.DataFrame:
        """The listings with ``ids``, in the order asked.

        Raises:
            ListingNotFoundError: Some ids are not in the store (all of them are named).
        """
        wanted = _id_list(ids)
        order = pa.table({"listing_id": wanted, "_position": list(range(len(wanted)))})
        with self._registered(order):
            self._require_incoming()
            return self._frame(
                f"SELECT l.* FROM {INCOMING} i JOIN {_TABLE} l USING (listing_id) "
                "ORDER BY i._position"
            )

    # -- writes -----------------------------------------------------------------------------

    def add(self, listings: pd.DataFrame) -> None:
        """Insert new listings; ids already in the store are an error (use :meth:`upsert`)."""
        frame = self._validated(listings)
        with self._transaction(), self._registered(frame):
            taken = self._incoming_ids(stored=True)
            if taken:
                raise StoreError(
                    f"{len(taken)} listing ids are already in the store: {_shown_ids(taken)}. "
                    "Use upsert() (CLI: --upsert) to replace them."
                )
            self._insert(frame)

    def upsert(self, listings: pd.DataFrame) -> None:
        """Insert listings, replacing whole rows whose ids are already stored."""
        frame = self._validated(listings)
        with self._transaction(), self._registered(frame):
            self._sql(
                f"DELETE FROM {_TABLE} WHERE listing_id IN (SELECT listing_id FROM {INCOMING})"
            )
            self._insert(frame)

    def update(self, listing_id: str, **fields: object) -> None:
        """Change some fields of one listing, validated like any write.

        Raises:
            SchemaError: A field that is neither canonical nor a stored attribute.
            ListingNotFoundError: ``listing_id`` is not in the store.
            ValidationError: The new values break the listing schema.
        """
        editable = [c for c in self.columns() if c != "listing_id"]
        unknown = sorted(set(fields) - set(editable))
        if unknown:
            raise SchemaError(f"cannot update fields {unknown}; updatable fields are {editable}.")
        row = self.get([listing_id])
        for name, value in fields.items():
            row[name] = pd.Series([value], index=row.index, dtype=object)
        self.upsert(row)

    def delete(self, ids: str | Iterable[str]) -> None:
        """Remove listings; unknown ids are an error and nothing is removed."""
        doomed = pa.table({"listing_id": _id_list(ids)})
        with self._transaction(), self._registered(doomed):
            self._require_incoming()
            self._sql(
                f"DELETE FROM {_TABLE} WHERE listing_id IN (SELECT listing_id FROM {INCOMING})"
            )

    # -- internals --------------------------------------------------------------------------

    def _validated(self, listings: pd.DataFrame) -> pd.DataFrame:
        if "listing_id" not in listings.columns:
            raise SchemaError(
                "listings to store need a 'listing_id' column; read files with read_listings() "
                "or make ids with content_ids()."
            )
        frame, problems = ListingSchema().conform(listings)
        if problems:
            raise validation_error(problems, len(frame), hint=_STORE_HINT)
        return frame

    def _insert(self, frame: pd.DataFrame) -> None:
        """Add missing attribute columns, then insert ``frame`` (registered as incoming)."""
        stored = {column.lower() for column in self.columns()}
        numeric = set(numeric_attribute_columns(frame))
        for column in attribute_columns(frame):
            if column.lower() not in stored:
                sql_type = "DOUBLE" if column in numeric else "VARCHAR"
                self._sql(f"ALTER TABLE {_TABLE} ADD COLUMN {_quote(column)} {sql_type}")
        names = ", ".join(_quote(str(column)) for column in frame.columns)
        self._sql(f"INSERT INTO {_TABLE} ({names}) SELECT {names} FROM {INCOMING}")

    def _incoming_ids(self, *, stored: bool) -> list[str]:
        """Distinct ids of the registered incoming table that are (not) in the store."""
        join = "SEMI" if stored else "ANTI"
        query = (
            f"SELECT DISTINCT i.listing_id FROM {INCOMING} i "
            f"{join} JOIN {_TABLE} l ON i.listing_id = l.listing_id"
        )
        return sorted(row[0] for row in self._sql(query))

    def _require_incoming(self) -> None:
        missing = self._incoming_ids(stored=False)
        if missing:
            raise ListingNotFoundError(
                f"{len(missing)} listing ids are not in the store: {_shown_ids(missing)}."
            )

    def _frame(self, query: str) -> pd.DataFrame:
        frame: pd.DataFrame = self._arrow(query).to_pandas()
        dtypes: dict[str, Any] = {
            c: "float64" if pd.api.types.is_float_dtype(frame[c].dtype) else TEXT_DTYPE
            for c in frame.columns
        }
        dtypes.update(condition="Int64", shipping="Int64", price="float64")
        return frame.astype(dtypes)
