"""Listings in: read marketplace files, validate them, keep them in a catalog store::

    from furima.catalog import CatalogStore, read_listings

    result = read_listings("train.tsv", on_error="skip", rejects_path="rejects.csv")
    with CatalogStore("catalog.duckdb") as store:
        store.upsert(result.listings)

``import furima.catalog`` stays light: DuckDB is imported only when a store is opened.
"""

from __future__ import annotations

from furima.catalog._formats import FORMATS
from furima.catalog._ids import content_ids, fingerprint
from furima.catalog._mapping import MAPPING_PRESETS, ColumnMapping, detect_mapping, get_mapping
from furima.catalog._readers import IngestResult, read_listings, write_rejects
from furima.catalog._schema import LISTING_COLUMNS, ListingSchema, Problem, attribute_columns
from furima.catalog._store import CatalogStore

__all__ = [
    "FORMATS",
    "LISTING_COLUMNS",
    "MAPPING_PRESETS",
    "CatalogStore",
    "ColumnMapping",
    "IngestResult",
    "ListingSchema",
    "Problem",
    "attribute_columns",
    "content_ids",
    "detect_mapping",
    "fingerprint",
    "get_mapping",
    "read_listings",
    "write_rejects",
]
