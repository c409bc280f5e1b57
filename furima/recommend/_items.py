"""What a recommender knows of the listings it recommends: display fields, filters, sold.

Recommendations are only useful when they can be shown (title, price, photo) and when they
respect the marketplace's rules: a sold or unavailable listing is never recommended, and a
buyer can narrow a feed by category or price, as :class:`~furima.search.SimilarSearch` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.catalog._interactions import IdMap
from furima.exceptions import DataError, FilterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AVAILABLE_STATUSES", "ItemCatalog", "ItemColumns"]

AVAILABLE_STATUSES: frozenset[str] = frozenset({"on_sale", "available", "active", ""})
"""Statuses a listing can be recommended in; anything else (``sold``, ``reserved``...) is not."""


@dataclass(frozen=True)
class ItemColumns:
    """Which catalog columns give each listing's display fields (``None``: the catalog has
    none). ``photo`` is a column of JPEG bytes; ``attributes`` are extra filterable columns."""

    id: str = "id"
    title: str | None = "name"
    category: str | None = "category"
    price: str | None = "price"
    status: str | None = "status"
    photo: str | None = None
    attributes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class ItemCatalog:
    """Display and filter fields aligned with a recommender's item indices.

    Attributes:
        titles, categories, statuses: Strings per item (``""`` when unknown).
        prices: Float per item (NaN when unknown).
        attributes: Extra filterable string columns.
        photos: JPEG bytes per item (empty when none), or ``None`` without a photo column.
    """

    titles: np.ndarray
    categories: np.ndarray
    prices: np.ndarray
    statuses: np.ndarray
    attributes: dict[str, np.ndarray]
    photos: list[bytes] | None = None
    _available: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        status = np.char.lower(self.statuses.astype(str))
        object.__setattr__(self, "_available", np.isin(status, list(AVAILABLE_STATUSES)))

    @classmethod
    def empty(cls, n_items: int) -> ItemCatalog:
        blank = np.full(n_items, "", dtype=object)
        return cls(blank, blank.copy(), np.full(n_items, np.nan), blank.copy(), {})

    @classmethod
    def from_listings(
        cls, listings: pd.DataFrame, columns: ItemColumns, items: IdMap
    ) -> ItemCatalog:
        """Fields of ``listings`` in the order of ``items``; listings missing from the frame
        keep blank fields (they are still recommendable unless a status says otherwise)."""
        rows = _rows_for(listings[columns.id].astype(str).to_numpy(), items)
        return cls(
            titles=_strings(listings, columns.title, rows),
            categories=_strings(listings, columns.category, rows),
            prices=_numbers(listings, columns.price, rows),
            statuses=_strings(listings, columns.status, rows),
            attributes={name: _strings(listings, name, rows) for name in columns.attributes},
            photos=_photos(listings, columns.photo, rows),
        )

    def available(self) -> np.ndarray:
        """Items that may be recommended (not sold, reserved or removed)."""
        return self._available.copy()

    def allowed(self, filters: Mapping[str, Any] | None) -> np.ndarray:
        """Available items that pass ``filters``: ``{"category": "Shoes"}`` (a value or a list
        of values), ``{"price": (10, 50)}`` (inclusive; ``None`` for an open end)."""
        mask = self.available()
        for name, wanted in (filters or {}).items():
            mask &= self._passes(name, wanted)
        return mask

    def _passes(self, name: str, wanted: Any) -> np.ndarray:
        if name == "price":
            return _in_range(self.prices, wanted)
        values = {"category": self.categories, "status": self.statuses} | self.attributes
        if name not in values:
            raise FilterError(
                f"cannot filter on {name!r}; filterable fields: price, "
                f"{', '.join(sorted(values))}. Keep other columns with ItemColumns(attributes=...)."
            )
        options = [wanted] if isinstance(wanted, str | int | float) else list(wanted)
        return np.isin(values[name].astype(str), [str(v) for v in options])

    def has_attributes(self) -> bool:
        """Whether any listing has a category or an attribute value."""
        columns = [self.categories, *self.attributes.values()]
        return any(bool((column.astype(str) != "").any()) for column in columns)

    def attribute_ids(self) -> np.ndarray:
        """``[n_items, n_columns]`` int ids of each listing's category and attribute values
        (one id space across columns; ``-1`` where blank), for models' side information."""
        columns = [self.categories, *self.attributes.values()]
        ids = np.full((len(self.titles), len(columns)), -1, dtype=np.int64)
        offset = 0
        for j, column in enumerate(columns):
            values = column.astype(str)
            present = values != ""
            codes, uniques = np.unique(values[present], return_inverse=True)
            ids[present, j] = uniques + offset
            offset += len(codes)
        return ids

    def display(self, index: int) -> dict[str, Any]:
        price = float(self.prices[index])
        return {
            "title": str(self.titles[index]),
            "category": str(self.categories[index]),
            "price": None if np.isnan(price) else price,
            "status": str(self.statuses[index]),
            "has_photo": bool(self.photos and self.photos[index]),
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "titles": self.titles.astype(str),
            "categories": self.categories.astype(str),
            "prices": self.prices.astype(np.float64),
            "statuses": self.statuses.astype(str),
        } | {f"attribute.{name}": values.astype(str) for name, values in self.attributes.items()}
        if self.photos is not None:
            lengths = np.fromiter((len(p) for p in self.photos), np.int64, len(self.photos))
            arrays["photo_offsets"] = np.concatenate([[0], np.cumsum(lengths)])
            arrays["photo_bytes"] = np.frombuffer(b"".join(self.photos), dtype=np.uint8)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ItemCatalog:
        photos = None
        if "photo_offsets" in arrays:
            offsets, data = arrays["photo_offsets"], arrays["photo_bytes"]
            photos = [data[a:b].tobytes() for a, b in itertools.pairwise(offsets)]
        prefix = "attribute."
        return cls(
            titles=arrays["titles"].astype(object),
            categories=arrays["categories"].astype(object),
            prices=arrays["prices"].astype(np.float64),
            statuses=arrays["statuses"].astype(object),
            attributes={
                name[len(prefix) :]: values.astype(object)
                for name, values in arrays.items()
                if name.startswith(prefix)
            },
            photos=photos,
        )

    def extended(self, n_items: int) -> ItemCatalog:
        """The same catalog with blank fields for items added since (new listings)."""
        extra = n_items - len(self.titles)
        if extra <= 0:
            return self
        blank = np.full(extra, "", dtype=object)
        return ItemCatalog(
            titles=np.concatenate([self.titles, blank]),
            categories=np.concatenate([self.categories, blank]),
            prices=np.concatenate([self.prices, np.full(extra, np.nan)]),
            statuses=np.concatenate([self.statuses, blank]),
            attributes={k: np.concatenate([v, blank]) for k, v in self.attributes.items()},
            photos=None if self.photos is None else [*self.photos, *([b""] * extra)],
        )


def _rows_for(listing_ids: np.ndarray, items: IdMap) -> np.ndarray:
    """For each item index, its row in the listings frame (``-1`` when absent)."""
    rows = np.full(len(items), -1, dtype=np.int64)
    positions = items.index(listing_ids)
    known = positions >= 0
    rows[positions[known]] = np.flatnonzero(known)
    return rows


def _strings(listings: pd.DataFrame, column: str | None, rows: np.ndarray) -> np.ndarray:
    out = np.full(len(rows), "", dtype=object)
    if column is None or column not in listings.columns:
        return out
    values = listings[column].astype("string").fillna("").to_numpy(dtype=object)
    present = rows >= 0
    out[present] = values[rows[present]]
    return out


def _numbers(listings: pd.DataFrame, column: str | None, rows: np.ndarray) -> np.ndarray:
    import pandas as pd

    out = np.full(len(rows), np.nan)
    if column is None or column not in listings.columns:
        return out
    values = pd.to_numeric(listings[column], errors="coerce").to_numpy(dtype=np.float64)
    present = rows >= 0
    out[present] = values[rows[present]]
    return out


def _photos(listings: pd.DataFrame, column: str | None, rows: np.ndarray) -> list[bytes] | None:
    if column is None:
        return None
    if column not in listings.columns:
        raise DataError(f"the listings have no photo column {column!r}.")
    values = listings[column].to_numpy(dtype=object)
    return [bytes(values[r]) if r >= 0 and values[r] is not None else b"" for r in rows]


def _in_range(values: np.ndarray, wanted: Any) -> np.ndarray:
    try:
        low, high = wanted
    except (TypeError, ValueError):
        raise FilterError(
            f"a price filter is a (low, high) pair, e.g. (10, 50); got {wanted!r}."
        ) from None
    low = -np.inf if low is None else float(low)
    high = np.inf if high is None else float(high)
    if low > high:
        raise FilterError(f"a price filter needs low <= high, but got ({low}, {high}).")
    with np.errstate(invalid="ignore"):
        return (values >= low) & (values <= high)
