"""Which columns of a listings table buyer search reads, and the page of results it answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, SchemaError

__all__ = ["BuyerColumns", "SearchHit", "SearchPage", "as_number", "as_text", "catalog_frame"]

TITLE = "title"
_NAMED = ("category", "colour", "condition")  # filter/facet fields named after their role
_RESERVED = {"title", "category", "colour", "condition", "price", "status"}


@dataclass(frozen=True)
class BuyerColumns:
    """Column names in the listings table (``None`` or ``()``: the table has none).

    Attributes:
        id: Integer listing id (unique, >= 0).
        title: Listing title: searched by words and by meaning.
        texts: More text searched by words only (description, brand).
        category: Searched, filtered and counted as the ``category`` field.
        colour: Searched, filtered and counted as ``colour``.
        condition: Searched, filtered and counted as ``condition``.
        price: Filtered (ranges) and counted in buckets as ``price``.
        status: ``on_sale`` / ``sold`` (blank: on sale); sold listings are left out unless a
            filter asks for them.
        photo: Photo bytes or path; only tells whether a result has a photo.
        popularity: A number the ranker may read (views, likes, sales).
        attributes: More fields searched, filtered and counted under their column names
            (``gender``, ``article_type``, ``usage``, ``brand``).
    """

    id: str = "id"
    title: str = "title"
    texts: tuple[str, ...] = ()
    category: str | None = None
    colour: str | None = None
    condition: str | None = None
    price: str | None = None
    status: str | None = None
    photo: str | None = None
    popularity: str | None = None
    attributes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifests."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BuyerColumns:
        """The inverse of :meth:`to_dict` (lists back to tuples)."""
        fixed: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in values.items()
        }
        return cls(**fixed)

    def check(self, listings: pd.DataFrame) -> None:
        """Raise :class:`SchemaError` naming the configured columns the table lacks."""
        clash = sorted(set(self.attributes) & _RESERVED)
        if clash:
            raise SchemaError(
                f"attribute column(s) {clash} share a name with a built-in search field; "
                "pass them as category=, colour=, condition= (or rename them)."
            )
        wanted = [self.id, self.title, *self.texts, *self.attributes]
        wanted += [v for v in self._optional().values() if v is not None]
        missing = [name for name in wanted if name not in listings.columns]
        if missing:
            raise SchemaError(
                f"the listings lack the column(s) {missing}; the table has "
                f"{list(listings.columns)}. Pass the right names in BuyerColumns, or None "
                "for columns the listings do not have."
            )

    def _optional(self) -> dict[str, str | None]:
        return {
            "category": self.category,
            "colour": self.colour,
            "condition": self.condition,
            "price": self.price,
            "status": self.status,
            "photo": self.photo,
            "popularity": self.popularity,
        }

    def lexical_fields(self, listings: pd.DataFrame) -> dict[str, list[str]]:
        """Search field -> text per listing: the title, the texts, the named and attribute
        fields (missing values as empty text)."""
        fields = {TITLE: self.title, **{c: c for c in self.texts}}
        fields |= {n: c for n, c in self._optional().items() if n in _NAMED and c is not None}
        fields |= {c: c for c in self.attributes}
        return {name: _texts(listings[column]) for name, column in fields.items()}

    def facet_texts(self, listings: pd.DataFrame) -> dict[str, np.ndarray]:
        """Filter field -> values (category, colour, condition, attributes, and status: all
        on sale when the table has no status column)."""
        named = {n: c for n, c in self._optional().items() if n in _NAMED and c is not None}
        out = {name: listings[column].to_numpy(dtype=object) for name, column in named.items()}
        out |= {c: listings[c].to_numpy(dtype=object) for c in self.attributes}
        status = listings[self.status] if self.status is not None else None
        out["status"] = (
            statuses(status) if status is not None else np.full(len(listings), "on_sale", object)
        )
        return out

    def ids(self, listings: pd.DataFrame) -> np.ndarray:
        """Listing ids as int64, checked to be unique integers >= 0."""
        values = pd.to_numeric(listings[self.id], errors="coerce")
        bad = values.isna() | (values < 0) | (values % 1 != 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"listing ids must be integers >= 0; got {listings[self.id].iloc[row]!r}.",
                row=row + 1,
                column=self.id,
            )
        ids = values.to_numpy(dtype=np.int64)
        duplicated = pd.Series(ids).duplicated().to_numpy()
        if duplicated.any():
            raise DataError(f"listing id {int(ids[duplicated][0])} appears more than once.")
        return ids


def catalog_frame(listings: pd.DataFrame, columns: BuyerColumns) -> pd.DataFrame:
    """What results show, one row per listing, in a fixed shape."""

    def column(name: str | None) -> pd.Series:
        if name is None:
            return pd.Series([None] * len(listings), dtype=object)
        return listings[name].reset_index(drop=True)

    photos = column(columns.photo)
    return pd.DataFrame(
        {
            "id": columns.ids(listings),
            "title": column(columns.title).astype("string").fillna("").astype(object),
            "price": pd.to_numeric(column(columns.price), errors="coerce").astype(np.float64),
            "category": column(columns.category).astype(object),
            "colour": column(columns.colour).astype(object),
            "condition": column(columns.condition).astype(object),
            "has_photo": [present(v) for v in photos] if columns.photo else False,
            "popularity": pd.to_numeric(column(columns.popularity), errors="coerce").astype(
                np.float64
            ),
        }
    )


def statuses(values: pd.Series) -> np.ndarray:
    """``on_sale`` / ``sold`` per listing (blank or missing: on sale)."""
    text = values.astype("string").str.strip().str.lower().fillna("").replace("", "on_sale")
    strange = sorted(set(text.unique()) - {"on_sale", "sold"})
    if strange:
        raise DataError(
            f"status values must be 'on_sale' or 'sold' (blank: on sale), but got {strange[:5]}."
        )
    return text.to_numpy(dtype=object)


def _texts(values: pd.Series) -> list[str]:
    return [str(v) for v in values.astype("string").fillna("").tolist()]


@dataclass
class SearchHit:
    """One result: what a results grid shows."""

    id: int
    title: str
    score: float
    price: float | None = None
    category: str | None = None
    colour: str | None = None
    condition: str | None = None
    has_photo: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchPage:
    """One page of results, the facets over every match, and notes for the buyer.

    Attributes:
        query: The query as searched (after trimming and truncation; None: photo only).
        results: This page's hits, best first.
        total: Listings ranked for the query (the pages run over these).
        offset: Position of the first hit among them.
        k: Page size asked for.
        facets: Field -> value counts over all ``total`` matches (price: buckets).
        notes: Plain-language remarks (query cut short, words no listing has, ...).
        ranking: How results were ordered: ``learned``, ``rrf``, ``photo`` or
            ``text+photo``.
    """

    query: str | None
    results: list[SearchHit]
    total: int
    offset: int
    k: int
    facets: dict[str, list[dict[str, Any]]]
    notes: list[str]
    ranking: str

    @property
    def ids(self) -> np.ndarray:
        """The page's listing ids, best first."""
        return np.array([hit.id for hit in self.results], dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain ints, floats, strings, lists)."""
        return {
            "query": self.query,
            "results": [hit.to_dict() for hit in self.results],
            "total": self.total,
            "offset": self.offset,
            "k": self.k,
            "facets": self.facets,
            "notes": list(self.notes),
            "ranking": self.ranking,
        }


def present(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return not (isinstance(value, bytes | str) and len(value) == 0)


def as_number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def as_text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
