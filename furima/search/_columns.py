"""Which columns of a listings table feed the feature pool."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, SchemaError

__all__ = ["LABEL", "PoolColumns"]

LABEL = "label"  # the index metadata field that holds PoolColumns.label


@dataclass(frozen=True)
class PoolColumns:
    """Column names in the listings table (``None``: the table has no such column).

    Attributes:
        id: Integer listing id (unique).
        title: Listing title, encoded as text.
        photo: Photo as encoded bytes (JPEG, PNG, ...) or a path to an image file.
        label: Product type used to train the embedding (e.g. ``article_type``).
        category: Filterable category.
        price: Filterable price.
        status: Filterable status (``on_sale`` / ``sold``); no column or a blank means on sale.
    """

    id: str = "id"
    title: str | None = "title"
    photo: str | None = "photo"
    label: str | None = None
    category: str | None = None
    price: str | None = None
    status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifests."""
        return asdict(self)

    def check(self, listings: pd.DataFrame, *, source: str = "listings") -> None:
        """Raise :class:`SchemaError` naming the configured columns the table lacks."""
        wanted = {field: name for field, name in self.to_dict().items() if name is not None}
        missing = {field: name for field, name in wanted.items() if name not in listings.columns}
        if missing:
            described = ", ".join(f"{field}={name!r}" for field, name in missing.items())
            raise SchemaError(
                f"{source} lack the column(s) {described}; the table has "
                f"{list(listings.columns)}. Pass the right names (e.g. --photo-column) "
                "or None for columns the listings do not have."
            )
        if self.title is None and self.photo is None:
            raise SchemaError("a feature pool needs a title column, a photo column, or both.")

    def ids(self, listings: pd.DataFrame) -> np.ndarray:
        """Listing ids as int64, checked to be unique integers >= 0."""
        values = pd.to_numeric(listings[self.id], errors="coerce")
        if values.isna().any() or (values < 0).any() or (values % 1 != 0).any():
            row = int(np.flatnonzero(values.isna() | (values < 0) | (values % 1 != 0))[0])
            raise DataError(
                f"listing ids must be integers >= 0; got {listings[self.id].iloc[row]!r}.",
                row=row + 1,
                column=self.id,
            )
        ids = values.to_numpy(dtype=np.int64)
        if len(np.unique(ids)) != len(ids):
            duplicated = pd.Series(ids).duplicated()
            first = int(ids[duplicated.to_numpy()][0])
            raise DataError(f"listing id {first} appears more than once.", column=self.id)
        return ids

    def index_fields(self) -> dict[str, str]:
        """Metadata fields the index declares beyond the built-in ones: ``label`` when set."""
        return {LABEL: "str"} if self.label is not None else {}

    def metadata(self, listings: pd.DataFrame) -> dict[str, np.ndarray]:
        """Index metadata from the configured columns: the filter fields (category, price,
        status) and ``label`` (which re-ranking reads, and filters may use)."""
        fields: dict[str, np.ndarray] = {}
        if self.label is not None:
            labels = listings[self.label].astype("string").str.strip()
            labels = labels.where(labels != "")
            fields[LABEL] = labels.astype(object).where(labels.notna(), None).to_numpy()
        if self.category is not None:
            fields["category"] = listings[self.category].astype("string").fillna("").to_numpy()
        if self.price is not None:
            fields["price"] = pd.to_numeric(listings[self.price], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        status = listings[self.status] if self.status is not None else None
        fields["status"] = (
            status.astype("string").fillna("on_sale").to_numpy(dtype=object)
            if status is not None
            else np.full(len(listings), "on_sale", dtype=object)
        )
        return fields
