"""Stable listing ids for sources without an id column.

The id is the first 16 hex digits of SHA-1 over the listing's describing fields (name, brand,
description, category, condition, shipping), so re-reading the same file gives the same ids.
Price and attributes are left out on purpose: a re-priced listing, or the same file read with
more attributes kept, keeps its id. Exact repeats get ``-2``, ``-3``... in file order.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from furima.catalog._columns import TEXT_DTYPE

__all__ = ["HASHED_COLUMNS", "content_ids"]

HASHED_COLUMNS: tuple[str, ...] = (
    "name",
    "brand",
    "description",
    "category",
    "condition",
    "shipping",
)
_SEPARATOR = "\x1f"  # ASCII unit separator: never part of listing text


def content_ids(listings: pd.DataFrame) -> pd.Series:
    """Deterministic ids for the rows of a conformed listings frame."""
    parts = [
        pa.array(listings[column].astype(TEXT_DTYPE).fillna("")).cast(pa.large_string())
        for column in HASHED_COLUMNS
    ]
    separator = pa.scalar(_SEPARATOR, pa.large_string())
    joined = pc.binary_join_element_wise(*parts, separator).to_pylist()
    digests = pd.Series(
        [
            hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]
            for text in joined
        ],
        index=listings.index,
        dtype=TEXT_DTYPE,
    )
    repeat = digests.groupby(digests).cumcount()
    suffixed = digests + "-" + (repeat + 1).astype(str).astype(TEXT_DTYPE)
    return digests.where(repeat == 0, suffixed)


def fingerprint(listings: pd.DataFrame) -> str:
    """SHA-256 over the content of a listings frame (row order included, index ignored)."""
    import hashlib

    hashed = pd.util.hash_pandas_object(listings, index=False).to_numpy()
    columns = "\x1f".join(map(str, listings.columns)).encode()
    return hashlib.sha256(columns + hashed.tobytes()).hexdigest()
