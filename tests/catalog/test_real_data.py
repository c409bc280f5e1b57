"""The full real listing files from the shared data folder (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

from furima.catalog import CatalogStore, read_listings


def test_full_myntra_catalog(shared_data: Path) -> None:
    result = read_listings(shared_data / "listings" / "myntra_catalog.parquet")
    assert (result.n_read, result.n_rejected) == (12_491, 0)
    listings = result.listings
    assert listings["listing_id"].is_unique
    assert (listings["price"] > 0).all()
    assert set(listings["gender"].dropna()) >= {"Men", "Women"}


def test_full_flipkart_sample_for_training(shared_data: Path, tmp_path: Path) -> None:
    result = read_listings(
        shared_data / "listings" / "flipkart_sample.parquet",
        on_error="skip",
        require_price=True,
        rejects_path=tmp_path / "rejects.csv",
    )
    assert (result.n_read, result.n_rejected, len(result.listings)) == (20_000, 78, 19_922)
    assert result.rejects["column"].eq("retail_price").all()
    with CatalogStore(tmp_path / "c.duckdb") as store:
        store.add(result.listings)
        assert len(store) == 19_922
