"""The throwaway PostgreSQL server that the registry tests run against."""

from __future__ import annotations

from pathlib import Path

import postgres
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool


def test_url_names_the_furima_database_on_loopback(postgres_uri: str) -> None:
    url = make_url(postgres_uri)
    assert url.drivername == "postgresql+psycopg2"  # SQLAlchemy 2.1 would pick psycopg 3
    assert (url.username, url.host, url.database) == ("postgres", "127.0.0.1", "furima")
    assert url.port is not None and url.port > 0


def test_server_runs_queries_and_keeps_tables(postgres_uri: str) -> None:
    engine = create_engine(postgres_uri)
    try:
        with engine.begin() as connection:
            assert connection.execute(text("select 1")).scalar_one() == 1
            assert connection.execute(text("show listen_addresses")).scalar_one() == "127.0.0.1"
            connection.execute(
                text("create table furima_probe (id integer primary key, name text)")
            )
            connection.execute(
                text("insert into furima_probe values (1, 'baseline'), (2, 'tuned')")
            )
        with engine.begin() as connection:  # a new transaction sees the committed rows
            rows = connection.execute(text("select id, name from furima_probe order by id")).all()
            assert [tuple(row) for row in rows] == [(1, "baseline"), (2, "tuned")]
            connection.execute(text("drop table furima_probe"))
            assert (
                connection.execute(text("select to_regclass('furima_probe')")).scalar_one() is None
            )
    finally:
        engine.dispose()


def test_missing_binaries_raise_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "find_postgres_bin", lambda: None)
    with (
        pytest.raises(postgres.PostgresUnavailable, match="no PostgreSQL server binaries"),
        postgres.running_postgres(tmp_path),
    ):
        pass


def test_server_is_stopped_on_exit(tmp_path: Path) -> None:
    engine: Engine | None = None
    try:
        with postgres.running_postgres(tmp_path) as uri:
            engine = create_engine(uri, poolclass=NullPool)  # no pooled connection outlives it
            with engine.connect() as connection:
                database = connection.execute(text("select current_database()")).scalar_one()
            assert database == "furima"
    except postgres.PostgresUnavailable as reason:
        pytest.skip(postgres.skip_message(reason))
    assert engine is not None
    with pytest.raises(OperationalError, match="Connection refused"), engine.connect():
        pass
