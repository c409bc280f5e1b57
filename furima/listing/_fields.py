"""Which columns of a catalog the listing assistant learns from and suggests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from furima.exceptions import SchemaError

__all__ = ["ListingFields"]


@dataclass(frozen=True)
class ListingFields:
    """Column names in the catalog table (``None`` or empty: the catalog has no such column).

    Attributes:
        id: Integer listing id (unique).
        title: Listing title: learned from, and the model for suggested titles.
        photo: Photo as encoded bytes or a path.
        category: Category levels, coarse to fine (``master_category, ..., article_type``).
        attributes: Other fields to suggest (colour, gender, usage, ...).
        brand: Brand column; suggested from words and from similar listings.
        price: Price column of the catalog (neighbours' prices back the price suggestion).
        price_attributes: Field -> attribute name in the price model, where they differ
            (e.g. ``{"base_colour": "primary_color"}``).
        labels: Display names (defaults: ``article_type`` -> ``"Article type"``).
    """

    id: str = "id"
    title: str = "title"
    photo: str | None = "photo"
    category: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    brand: str | None = None
    price: str | None = None
    price_attributes: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def myntra_photos(cls) -> ListingFields:
        """The Myntra fashion photo catalog (``images/myntra_fashion_44k.parquet`` and the
        bundled sample), with ``brand`` as added by :func:`furima.datasets.with_brand`."""
        return cls(
            photo="jpeg",
            category=("master_category", "sub_category", "article_type"),
            attributes=("base_colour", "gender", "usage"),
            brand="brand",
            price_attributes={"base_colour": "primary_color"},
            labels={"base_colour": "Colour"},
        )

    @property
    def suggested(self) -> tuple[str, ...]:
        """Every suggested field, category levels first."""
        return (*self.category, *self.attributes, *((self.brand,) if self.brand else ()))

    def label(self, name: str) -> str:
        """How a person calls the field ``name``."""
        return self.labels.get(name) or name.replace("_", " ").strip().capitalize()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifests."""
        values = asdict(self)
        values["category"], values["attributes"] = list(self.category), list(self.attributes)
        values["price_attributes"], values["labels"] = (
            dict(self.price_attributes),
            dict(self.labels),
        )
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ListingFields:
        return cls(
            **{
                **values,
                "category": tuple(values["category"]),
                "attributes": tuple(values["attributes"]),
            }
        )

    def check(self, listings: pd.DataFrame) -> None:
        """Raise :class:`SchemaError` naming configured columns the table lacks."""
        wanted = [self.id, self.title, self.photo, *self.suggested, self.price]
        missing = [name for name in wanted if name is not None and name not in listings.columns]
        if missing:
            raise SchemaError(
                f"the catalog lacks the column(s) {missing}; it has {list(listings.columns)}. "
                "Pass ListingFields naming the catalog's columns."
            )
        if not self.suggested:
            raise SchemaError(
                "nothing to suggest: give category levels, attributes or a brand column."
            )
