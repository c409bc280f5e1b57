"""Listings in: read marketplace files, validate them, keep them in a catalog store::

    from furima.catalog import CatalogStore, read_listings

    result = read_listings("train.tsv", on_error="skip", rejects_path="rejects.csv")
    with CatalogStore("catalog.duckdb") as store:
        store.upsert(result.listings)

Attributes are categorical (text) or numeric (float64), declared in the mapping
(``{"numeric": ["msrp"], "attributes": ["size"]}``); conditions are levels 1..5 or words of a
:class:`ConditionScale` (Mercari's by default, or the mapping's ``"conditions"``).

Interaction logs in, for recommenders: events validated into dense-indexed
:class:`Interactions` with explicit id maps, kept in an :class:`InteractionStore` beside the
catalog, and split without leaking the future::

    result = read_interactions("events.parquet", mapping="taobao", known_items=catalog_ids)
    split = leave_last_out(result.interactions)  # or time_cut(result.interactions, "2017-12-01")

``import furima.catalog`` stays light: DuckDB is imported only when a store is opened.
"""

from __future__ import annotations

from furima.catalog._conditions import (
    CONDITION_SCALES,
    MERCARI_CONDITIONS,
    MERCARI_JP_CONDITIONS,
    ConditionScale,
)
from furima.catalog._event_frame import EVENT_COLUMNS
from furima.catalog._formats import FORMATS
from furima.catalog._ids import content_ids, fingerprint
from furima.catalog._interaction_mapping import (
    INTERACTION_PRESETS,
    InteractionMapping,
    get_interaction_mapping,
)
from furima.catalog._interaction_readers import InteractionsResult, read_interactions
from furima.catalog._interaction_store import InteractionStore
from furima.catalog._interactions import DEFAULT_EVENT_WEIGHTS, IdMap, Interactions
from furima.catalog._mapping import MAPPING_PRESETS, ColumnMapping, detect_mapping, get_mapping
from furima.catalog._readers import IngestResult, read_listings, write_rejects
from furima.catalog._schema import (
    LISTING_COLUMNS,
    ListingSchema,
    Problem,
    attribute_columns,
    categorical_attribute_columns,
    numeric_attribute_columns,
)
from furima.catalog._sequence_reader import read_sequences
from furima.catalog._splits import LeaveLastOut, NextItemTargets, TimeCut, leave_last_out, time_cut
from furima.catalog._store import CatalogStore

__all__ = [
    "CONDITION_SCALES",
    "DEFAULT_EVENT_WEIGHTS",
    "EVENT_COLUMNS",
    "FORMATS",
    "INTERACTION_PRESETS",
    "LISTING_COLUMNS",
    "MAPPING_PRESETS",
    "MERCARI_CONDITIONS",
    "MERCARI_JP_CONDITIONS",
    "CatalogStore",
    "ColumnMapping",
    "ConditionScale",
    "IdMap",
    "IngestResult",
    "InteractionMapping",
    "InteractionStore",
    "Interactions",
    "InteractionsResult",
    "LeaveLastOut",
    "ListingSchema",
    "NextItemTargets",
    "Problem",
    "TimeCut",
    "attribute_columns",
    "categorical_attribute_columns",
    "content_ids",
    "detect_mapping",
    "fingerprint",
    "get_interaction_mapping",
    "get_mapping",
    "leave_last_out",
    "numeric_attribute_columns",
    "read_interactions",
    "read_listings",
    "read_sequences",
    "time_cut",
    "write_rejects",
]
