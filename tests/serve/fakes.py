"""An in-memory listing assistant for the server tests: same methods, real answer objects.

It "recognises" a photo only when its bytes are one of the catalog's own photos, and answers
with that listing's category and attributes; ``usage`` is always left empty (confidence below
its threshold), so the page's "please choose" path is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from furima.exceptions import DataError, UnknownListingError
from furima.features._images import decode_image
from furima.listing._suggestion import (
    Choice,
    FieldSuggestion,
    ListingSuggestion,
    PriceRange,
    SimilarListing,
    TitleSuggestion,
)

CATEGORY = ("master_category", "sub_category", "article_type")
ATTRIBUTES = ("base_colour", "gender", "usage")
LABELS = {
    "master_category": "Category",
    "sub_category": "Subcategory",
    "article_type": "Article type",
    "base_colour": "Colour",
    "gender": "Gender",
    "usage": "Usage",
}
CONFIDENCE = {"master_category": 0.97, "sub_category": 0.91, "article_type": 0.83}


@dataclass(frozen=True)
class FakeFields:
    category: tuple[str, ...] = CATEGORY
    attributes: tuple[str, ...] = ATTRIBUTES
    brand: str | None = None


@dataclass
class FakeAssistant:
    """Answers from a catalog table (the 240-photo fixture); records every call."""

    catalog: pd.DataFrame
    fields_: FakeFields = field(default_factory=FakeFields)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def suggest(
        self,
        photo: bytes | None = None,
        text: str | None = None,
        brand: str | None = None,
        condition: int | None = None,
    ) -> ListingSuggestion:
        self.calls.append({"photo": photo, "text": text, "brand": brand, "condition": condition})
        if photo is None and text is None:
            raise DataError("give a photo, text or both.")
        if photo is not None:
            decode_image(photo, name="photo")  # the real assistant's ImageError
        row = self._row(photo)
        source = "photo+text" if photo is not None and text else "photo" if photo else "text"
        alike = self.catalog[self.catalog["article_type"] == row["article_type"]].head(4)
        evidence = [int(i) for i in alike["id"]]
        return ListingSuggestion(
            fields=[self._field(name, row, evidence, source) for name in CATEGORY + ATTRIBUTES],
            title=TitleSuggestion(f"{row['gender']} {row['base_colour']} {row['article_type']}"),
            price=PriceRange(999.0, 699.0, 1499.0, 0.8, evidence[:2]),
            similar=[
                SimilarListing(
                    int(r.id), str(r.title), 0.9 - 0.1 * n, {"article_type": str(r.article_type)}
                )
                for n, r in enumerate(alike.itertuples())
            ],
            notes=["Usage was left empty: please choose it."],
        )

    def photo(self, listing_id: int) -> bytes:
        found = self.catalog.loc[self.catalog["id"] == listing_id, "jpeg"]
        if found.empty:
            raise UnknownListingError(
                f"listing {listing_id} is not in the catalog.", ids=[listing_id]
            )
        return bytes(found.iloc[0])

    def _row(self, photo: bytes | None) -> pd.Series:
        same = self.catalog[self.catalog["jpeg"] == photo] if photo else self.catalog.iloc[:0]
        fallback = self.catalog[self.catalog["article_type"] == "Tshirts"]
        return (same if not same.empty else fallback).iloc[0]

    def _field(
        self, name: str, row: pd.Series, evidence: list[int], source: str
    ) -> FieldSuggestion:
        values = [str(v) for v in self.catalog[name].value_counts().index if v != row[name]]
        if name == "usage":  # always unsure: left for the seller
            top = [Choice(str(row[name]), 0.41), Choice(values[0], 0.33), Choice(values[1], 0.1)]
            return FieldSuggestion(name, LABELS[name], None, 0.41, 0.5, top, [], source)
        confidence = CONFIDENCE.get(name, 0.88)
        top = [Choice(str(row[name]), confidence), Choice(values[0], (1 - confidence) / 2)]
        return FieldSuggestion(
            name, LABELS[name], str(row[name]), confidence, 0.5, top, evidence, source
        )
