"""CatalogStore: CRUD on real listings, errors that name the ids, and crash safety."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from furima.catalog import LISTING_COLUMNS, CatalogStore, read_listings
from furima.exceptions import ListingNotFoundError, SchemaError, StoreError, ValidationError


@pytest.fixture
def listings(fixtures: Path) -> pd.DataFrame:
    """150 real Myntra listings, with the gender and primary_color attributes."""
    return read_listings(fixtures / "myntra_150.parquet").listings


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CatalogStore]:
    with CatalogStore(tmp_path / "catalog.duckdb") as opened:
        yield opened


def test_add_then_read_back_the_same_frame(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings)
    assert len(store) == 150
    assert listings["listing_id"].iloc[0] in store
    assert "nope" not in store
    stored = store.to_frame()
    expected = listings.sort_values("listing_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected)


def test_store_persists_across_opens(tmp_path: Path, listings: pd.DataFrame) -> None:
    with CatalogStore(tmp_path / "c.duckdb") as store:
        store.add(listings)
    with CatalogStore(tmp_path / "c.duckdb") as store:
        assert len(store) == 150
        assert store.columns() == [*LISTING_COLUMNS, "gender", "primary_color"]


def test_get_keeps_the_order_asked(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings)
    ids = listings["listing_id"].tolist()
    got = store.get([ids[5], ids[0], ids[5]])
    assert got["listing_id"].tolist() == [ids[5], ids[0], ids[5]]
    assert got["name"].iloc[1] == listings["name"].iloc[0]
    assert store.get(ids[3])["listing_id"].tolist() == [ids[3]]


def test_get_unknown_ids_names_them(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings)
    with pytest.raises(ListingNotFoundError, match=r"2 listing ids.*'ghost-1', 'ghost-2'"):
        store.get([listings["listing_id"].iloc[0], "ghost-2", "ghost-1"])


def test_add_existing_ids_is_refused_whole(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings.head(10))
    with pytest.raises(StoreError, match=r"2 listing ids are already in the store.*upsert"):
        store.add(listings.iloc[8:20])
    assert len(store) == 10


def test_upsert_replaces_and_inserts(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings.head(10))
    changed = listings.iloc[5:15].assign(price=1.0)
    store.upsert(changed)
    assert len(store) == 15
    prices = store.get(listings["listing_id"].iloc[:15].tolist())["price"].tolist()
    assert prices[:5] == listings["price"].iloc[:5].tolist()
    assert prices[5:] == [1.0] * 10


def test_new_attribute_columns_are_added(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings.head(3).drop(columns=["gender", "primary_color"]))
    store.add(listings.iloc[3:6].assign(season="Summer"))
    frame = store.to_frame().set_index("listing_id")
    assert list(frame.columns[-3:]) == ["gender", "primary_color", "season"]
    assert frame.loc[listings["listing_id"].iloc[3], "season"] == "Summer"
    assert pd.isna(frame.loc[listings["listing_id"].iloc[0], "season"])


def test_update_validates_fields(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings.head(3))
    first = listings["listing_id"].iloc[0]
    store.update(first, price=42.0, gender="Unisex", condition=2)
    row = store.get(first).iloc[0]
    assert (row["price"], row["gender"], row["condition"]) == (42.0, "Unisex", 2)
    assert row["name"] == listings["name"].iloc[0]
    with pytest.raises(ValidationError, match=r"column 'price'.*> 0, got '-1'"):
        store.update(first, price=-1)
    with pytest.raises(SchemaError, match=r"\['colour'\].*'primary_color'"):
        store.update(first, colour="red")
    with pytest.raises(ListingNotFoundError, match="'ghost'"):
        store.update("ghost", price=1.0)
    assert store.get(first)["price"].iloc[0] == 42.0


def test_delete(store: CatalogStore, listings: pd.DataFrame) -> None:
    store.add(listings.head(5))
    ids = listings["listing_id"].iloc[:5].tolist()
    store.delete(ids[:2])
    assert len(store) == 3
    assert ids[0] not in store
    with pytest.raises(ListingNotFoundError, match=r"'ghost'"):
        store.delete([ids[3], "ghost"])
    assert len(store) == 3  # nothing removed when any id is unknown


def test_invalid_listings_are_refused(store: CatalogStore, listings: pd.DataFrame) -> None:
    bad = listings.head(3).copy()
    bad.loc[1, "category"] = "Women//Tops"
    with pytest.raises(ValidationError, match=r"row 2, column 'category'"):
        store.add(bad)
    with pytest.raises(SchemaError, match="'listing_id' column"):
        store.add(listings.drop(columns="listing_id"))
    duplicated = pd.concat([listings.head(2), listings.head(1)])
    with pytest.raises(ValidationError, match="duplicate listing_id"):
        store.upsert(duplicated)
    assert len(store) == 0


def test_not_a_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.duckdb.*not a valid DuckDB"):
        CatalogStore(junk)
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE sales (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match=r"not a furima catalog store.*\['sales'\]"):
        CatalogStore(other)


def test_newer_store_format_is_refused(tmp_path: Path) -> None:
    CatalogStore(tmp_path / "c.duckdb").close()
    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.execute("UPDATE furima_meta SET value = '99' WHERE key = 'version'")
    con.close()
    with pytest.raises(StoreError, match="version '99'"):
        CatalogStore(tmp_path / "c.duckdb")


def test_closed_store(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "c.duckdb")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        len(store)


def test_in_memory_store(listings: pd.DataFrame) -> None:
    with CatalogStore(":memory:") as store:
        store.add(listings)
        assert len(store) == 150
        assert np.isclose(store.to_frame()["price"].sum(), listings["price"].sum())
