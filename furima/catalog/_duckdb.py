"""``DuckDBStore``: what the catalog and interaction stores share about their DuckDB file.

Both keep their data in an embedded DuckDB file marked by a ``furima_meta`` table holding a
format name and version. This base opens the file with a clear error, creates the marking and
the store's tables in one transaction when the file is new, checks the mark otherwise, and
runs writes in transactions that roll back on failure. DuckDB is imported only when a store
is opened, so ``import furima.catalog`` stays light.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import pandas as pd
import pyarrow as pa

from furima import __version__
from furima.exceptions import StoreError

__all__ = ["INCOMING", "META", "DuckDBStore"]

META = "furima_meta"
INCOMING = "_furima_incoming"
"""The name under which :meth:`DuckDBStore._registered` shows a frame to SQL."""


class DuckDBStore(ABC):
    """A furima store in a DuckDB file (created when missing; ``":memory:"`` works).

    Subclasses name their format (``_FORMAT``, ``_FORMAT_VERSION``), say what they are in
    errors (``_KIND``, ``_NEW_PATH_EXAMPLE``), create their tables and say why an existing
    file is refused.

    Raises:
        StoreError: The file is not a store of this kind, or cannot be opened.
    """

    _FORMAT: ClassVar[str]
    _FORMAT_VERSION: ClassVar[str]
    _KIND: ClassVar[str]
    _NEW_PATH_EXAMPLE: ClassVar[str] = ""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._con: Any = self._connect()
        try:
            self._check_or_create()
        except BaseException:
            self._con.close()
            raise

    # -- what each store says -----------------------------------------------------------------

    @abstractmethod
    def _create_tables(self) -> None:
        """Create the store's own tables in a new file (inside a transaction)."""

    @abstractmethod
    def _refusal(self, tables: set[str], meta: dict[str, str]) -> str | None:
        """Why a file with ``tables`` and ``meta`` is not a store of this format (None: it is)."""

    # -- lifecycle ------------------------------------------------------------------------------

    def _connect(self) -> Any:
        import duckdb

        try:
            return duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open {self.path!r} as a furima {self._KIND} store "
                f"({str(exc).rstrip('.!')}). Pass the path of a store that furima created, or a "
                f"new path{self._NEW_PATH_EXAMPLE} to create one."
            ) from None

    def _check_or_create(self) -> None:
        query = (
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        )
        tables = {row[0] for row in self._sql(query)}
        if not tables:
            with self._transaction():
                self._create_meta()
                self._create_tables()
            return
        refusal = self._refusal(tables, self._meta(tables))
        if refusal is not None:
            raise StoreError(refusal)

    def _create_meta(self) -> None:
        self._sql(f"CREATE TABLE {META} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        meta = [
            ("format", self._FORMAT),
            ("version", self._FORMAT_VERSION),
            ("created_by", __version__),
        ]
        self._connection.executemany(f"INSERT INTO {META} VALUES (?, ?)", meta)

    def _meta(self, tables: set[str]) -> dict[str, str]:
        """The file's ``furima_meta`` entries (none when it has no such table)."""
        return dict(self._sql(f"SELECT key, value FROM {META}")) if META in tables else {}

    def _is_current(self, meta: dict[str, str]) -> bool:
        """Whether ``meta`` marks this store's format and version."""
        return meta.get("format") == self._FORMAT and meta.get("version") == self._FORMAT_VERSION

    def close(self) -> None:
        """Close the file; later calls raise StoreError. Closing twice is fine."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    # -- queries --------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Run the block as one transaction: it lands whole, or is rolled back and re-raised."""
        self._connection.begin()
        try:
            yield
        except BaseException:
            self._connection.rollback()
            raise
        self._connection.commit()

    @contextmanager
    def _registered(self, data: pd.DataFrame | pa.Table) -> Iterator[None]:
        """Show ``data`` to SQL as :data:`INCOMING` for the block."""
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        self._connection.register(INCOMING, data)
        try:
            yield
        finally:
            self._connection.unregister(INCOMING)

    @property
    def _connection(self) -> Any:
        if self._con is None:
            raise StoreError(
                f"the store {self.path!r} is closed; open a new {type(self).__name__}."
            )
        return self._con

    def _sql(self, query: str, params: list[Any] | None = None) -> list[Any]:
        import duckdb

        try:
            rows: list[Any] = self._connection.execute(query, params).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"store {self.path!r}: {exc}") from exc
        return rows

    def _arrow(self, query: str, params: list[Any] | None = None) -> pa.Table:
        """The result of ``query`` as an Arrow table."""
        import duckdb

        try:
            table: pa.Table = self._connection.sql(query, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"store {self.path!r}: {exc}") from exc
        return table
