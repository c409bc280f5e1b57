"""The listings a price model learns from and prices, checked and typed as the model reads them.

Training listings must have a finite price > 0 and money attributes that are finite and not
negative. Listings to price are conformed with the model's own numeric attributes
(``ListingSchema(numeric=...)``): a number sent for a text attribute stays text, and text sent
for a numeric attribute is an error naming the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from furima.catalog import LISTING_COLUMNS, ListingSchema, content_ids, numeric_attribute_columns
from furima.exceptions import DataError, ValidationError
from furima.pricing._numeric_members import check_money

__all__ = ["prediction_data", "training_data"]


def training_data(
    listings: pd.DataFrame, y: np.ndarray | None, numeric: tuple[str, ...] | list[str] | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Validated listings and their log prices; every price must be a finite number > 0,
    every money attribute a finite number >= 0."""
    if len(listings) == 0:
        raise DataError("No listings to learn from: the training frame has 0 rows.")
    if y is not None:
        if len(y) != len(listings):
            raise DataError(f"`y` has {len(y)} values but there are {len(listings)} listings.")
        listings = listings.assign(price=np.asarray(y, dtype=np.float64))
    schema = ListingSchema(require_price=True, numeric=None if numeric is None else tuple(numeric))
    listings, problems = schema.conform(listings)
    if problems:
        shown = "; ".join(f"row {p.row}, column {p.column!r}: {p.reason}" for p in problems[:5])
        raise ValidationError(
            f"{len(problems)} training listing(s) are invalid ({shown}). Fix or drop them "
            "(furima ingest --on-error skip drops bad rows and writes a rejects file).",
            problems=[(p.row, p.column, p.reason) for p in problems],
        )
    if len(listings) < 20:
        raise DataError(f"Price models need at least 20 priced listings, but got {len(listings)}.")
    check_money(listings, numeric_attribute_columns(listings), action="fit")
    if "listing_id" not in listings:
        listings.insert(0, "listing_id", content_ids(listings))
    return listings.reset_index(drop=True), np.log1p(listings["price"].to_numpy(np.float64))


def prediction_data(
    listings: pd.DataFrame, attributes: list[str], numeric: list[str]
) -> pd.DataFrame:
    """Listings conformed to the schema, with the model's ``numeric`` attributes read as
    numbers (and every other attribute as text); prices and unknown attributes are ignored."""
    if "listing_id" not in listings:
        listings = listings.assign(listing_id=[f"new-{i}" for i in range(len(listings))])
    columns = [*LISTING_COLUMNS, *attributes, *numeric]
    if ListingSchema.is_conformed(listings) and _typed_as(listings, attributes, numeric):
        return listings.reindex(columns=columns)
    if "price" in listings:
        listings = listings.drop(columns="price")
    listings, problems = ListingSchema(numeric=tuple(numeric)).conform(listings)
    if problems:
        p = problems[0]
        raise ValidationError(
            f"{p.reason}. Fix this listing and ask again.",
            problems=[(q.row, q.column, q.reason) for q in problems],
            row=p.row,
            column=p.column,
        )
    for column in attributes:
        if column not in listings:
            listings[column] = pd.NA
    for column in numeric:
        if column not in listings:
            listings[column] = np.nan
    return listings[columns].reset_index(drop=True)


def _typed_as(listings: pd.DataFrame, attributes: list[str], numeric: list[str]) -> bool:
    """Whether the attributes ``listings`` has are already the model's types: the
    ``numeric`` ones float, the others not (a conformed frame may skip conforming)."""
    is_float = pd.api.types.is_float_dtype
    return all(is_float(listings[c].dtype) for c in numeric if c in listings) and not any(
        is_float(listings[c].dtype) for c in attributes if c in listings
    )
