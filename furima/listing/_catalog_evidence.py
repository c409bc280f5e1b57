"""The catalog listings a :class:`~furima.listing.ListingAssistant` shows as evidence.

At fit, the assistant keeps a small reference table of its catalog (title, suggested fields,
price and photo bytes, indexed by listing id); at suggestion time, the neighbours the pool
finds are read back from it as :class:`~furima.listing.SimilarListing` records. Both sides of
that table live here, so its layout is written down once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.listing._fields import ListingFields
from furima.listing._suggestion import SimilarListing

__all__ = ["reference_table", "similar_listings"]


def reference_table(catalog: pd.DataFrame, ids: np.ndarray, fields: ListingFields) -> pd.DataFrame:
    """What suggestions show of catalog listings: title, fields, price and photo bytes."""
    columns = [fields.title, *fields.suggested, *((fields.price,) if fields.price else ())]
    table = catalog[columns].copy()
    for name in (fields.title, *fields.suggested):
        table[name] = table[name].astype("string")
    if fields.photo:
        table["photo_bytes"] = [_photo_bytes(value) for value in catalog[fields.photo]]
    table.index = pd.Index(ids, name="id")
    return table


def similar_listings(
    table: pd.DataFrame, fields: ListingFields, ids: np.ndarray, scores: np.ndarray
) -> list[SimilarListing]:
    """The listings ``ids`` (``-1``: none found) of a :func:`reference_table`, with scores."""
    kept = ids >= 0
    records = table.loc[ids[kept]].to_dict("records")
    return [
        SimilarListing(
            id=int(listing_id),
            title=str(record[fields.title]),
            score=float(score),
            attributes={n: str(record[n]) for n in fields.suggested if pd.notna(record[n])},
            price=_price_of(record, fields.price),
        )
        for listing_id, record, score in zip(ids[kept], records, scores[kept], strict=True)
    ]


def _price_of(record: Mapping[Any, Any], column: str | None) -> float | None:
    value = record[column] if column else None
    return None if value is None or pd.isna(value) else float(value)


def _photo_bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str | Path) and str(value) and Path(value).is_file():
        return Path(value).read_bytes()
    return None
