"""Level-1 members that learn how far a price sits from a reference price (an MSRP).

The reference is the first money column among the numeric attributes (see
:func:`~furima.pricing._numeric_members.is_money_column`), typically the retail price; the
offset ``log1p(price) - log1p(reference)`` is the price-to-retail ratio in log space. It is
learned three ways: from the words (:class:`ReferenceOffset`), from the most similar past
listings (:class:`OffsetNeighbours`) and from listings sharing keys such as the brand
(:class:`OffsetKeys`). A listing without a reference gets each member's documented fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from furima.features import (
    SPLIT_VIEWS,
    ListingTextVectorizer,
    TargetEncoder,
    as_text,
    listing_keys,
)
from furima.pricing._members import Neighbours, PriceMember
from furima.pricing._numeric_members import (
    NumericAttributes,
    is_money_column,
    median_or_zero,
    scaled_columns,
)

__all__ = [
    "NUMERIC_MEMBERS",
    "OffsetKeys",
    "OffsetNeighbours",
    "ReferenceOffset",
    "numeric_members",
]


class ReferenceOffset(PriceMember):
    """Ridge on the words for ``log1p(price) - log1p(reference)``: the price-to-reference
    ratio (a discount off the retail price, say), learned where the reference is given.

    Its estimate is ``log1p(reference)`` plus that offset; for a listing without a reference
    it is a second ridge's, on the same words, for the price itself. The words are the text
    members' (numeric attributes included as tags: an exact retail price often names the
    product).
    """

    kind = "reference_offset"
    views: ClassVar[tuple[str, ...]] = SPLIT_VIEWS

    def __init__(self, reference: str, alpha: float = 1.0) -> None:
        self.reference = reference
        self.alpha = alpha
        self.vectorizer = ListingTextVectorizer(self.views)

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> dict[str, Any]:
        text = (
            self.vectorizer.fit_transform(listings) if fit else self.vectorizer.transform(listings)
        )
        reference = scaled_columns(listings, [self.reference])[:, 0]
        return {"text": text, "reference": reference}

    def fit(
        self, representation: dict[str, Any], y: np.ndarray, ids: np.ndarray
    ) -> ReferenceOffset:
        text, reference = representation["text"], representation["reference"]
        given = np.isfinite(reference)
        if given.any():
            offset = _ridge(text[given], y[given] - reference[given], self.alpha)
        else:
            offset = (np.zeros(text.shape[1], dtype=np.float32), 0.0)
        self.offset_coef_, self.offset_intercept_ = offset
        self.price_coef_, self.price_intercept_ = _ridge(text, y, self.alpha)
        return self

    def predict(self, representation: dict[str, Any]) -> np.ndarray:
        text, reference = representation["text"], representation["reference"]
        offset = np.asarray(text @ self.offset_coef_ + self.offset_intercept_).ravel()
        words_only = np.asarray(text @ self.price_coef_ + self.price_intercept_).ravel()
        given = np.isfinite(reference)
        estimate = np.where(given, np.nan_to_num(reference) + offset, words_only)
        return np.column_stack([estimate, offset])

    @property
    def feature_names(self) -> list[str]:
        return [self.kind, f"{self.kind}:ratio"]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.vectorizer.to_arrays()
        arrays["offset_coef"] = self.offset_coef_
        arrays["price_coef"] = self.price_coef_
        return {
            "reference": self.reference,
            "alpha": self.alpha,
            "offset_intercept": self.offset_intercept_,
            "price_intercept": self.price_intercept_,
            "vectorizer": meta,
        }, arrays

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> ReferenceOffset:
        self = cls(str(meta["reference"]), float(meta["alpha"]))
        self.vectorizer = ListingTextVectorizer.from_arrays(meta["vectorizer"], arrays)
        self.offset_coef_ = arrays["offset_coef"]
        self.price_coef_ = arrays["price_coef"]
        self.offset_intercept_ = float(meta["offset_intercept"])
        self.price_intercept_ = float(meta["price_intercept"])
        return self


class OffsetNeighbours(PriceMember):
    """The price-to-reference offsets of the most similar past listings (same product from
    another seller, the brand's other items), added to this listing's own reference.

    The search is :class:`~furima.pricing._members.Neighbours`' (brand + name TF-IDF) with
    one more word, the reference's price band (``ref153``: bands ``1 / bands_per_log`` wide
    in log price, about 5%), so that the same product at the same retail price comes first.
    Its features are computed twice, over the neighbours' offsets and over their log prices,
    and a listing without a reference gets the plain neighbour prices.
    """

    kind = "offset_neighbours"

    def __init__(self, reference: str, k: int = 10, bands_per_log: float = 20.0) -> None:
        self.reference = reference
        self.bands_per_log = bands_per_log
        self.search = Neighbours(k=k)

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> dict[str, Any]:
        reference = scaled_columns(listings, [self.reference])[:, 0]
        bands = [
            "" if np.isnan(value) else f" ref{round(value * self.bands_per_log)}"
            for value in reference
        ]
        names = [
            f"{name}{band}" for name, band in zip(as_text(listings["name"]), bands, strict=True)
        ]
        text = self.search.encode(listings.assign(name=names), fit=fit)
        return {"text": text, "reference": reference}

    def fit(
        self, representation: dict[str, Any], y: np.ndarray, ids: np.ndarray
    ) -> OffsetNeighbours:
        text, reference = representation["text"], representation["reference"]
        given = np.flatnonzero(np.isfinite(reference))
        self.search.fit(text[given], y[given], ids[given])
        self.reference_offset_ = y[given] - reference[given]
        return self

    def predict(self, representation: dict[str, Any]) -> np.ndarray:
        reference = representation["reference"]
        positions, sims = self.search.nearest(representation["text"], self.search.k)
        prices = self.search.features(positions, sims)
        log_prices = self.search.reference_y_
        try:
            self.search.reference_y_ = self.reference_offset_
            offsets = self.search.features(positions, sims)
        finally:
            self.search.reference_y_ = log_prices
        given = np.isfinite(reference)[:, None]
        estimates = np.where(
            given, np.nan_to_num(reference)[:, None] + offsets[:, [0, 1, 3]], prices[:, [0, 1, 3]]
        )
        return np.column_stack([estimates, offsets[:, 4]])

    @property
    def feature_names(self) -> list[str]:
        return [f"{self.kind}:{name}" for name in ("weighted", "top1", "mean5", "std")]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.search.to_arrays()
        arrays["reference_offset"] = self.reference_offset_
        meta = {"reference": self.reference, "bands_per_log": self.bands_per_log, "search": meta}
        return meta, arrays

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> OffsetNeighbours:
        self = cls(str(meta["reference"]), bands_per_log=float(meta["bands_per_log"]))
        self.search = Neighbours.from_arrays(meta["search"], arrays)
        self.reference_offset_ = np.asarray(arrays["reference_offset"], dtype=np.float64)
        return self


class OffsetKeys(PriceMember):
    """Smoothed mean price-to-reference offset of the listings sharing each key (brand,
    product type, their crosses: a brand's usual discount), added to the reference.

    Where a listing has no reference, the training median reference stands in: a neutral
    value the blend sees flagged by :class:`NumericAttributes`' missing indicator, which is
    why these columns are left out of the linear blend of price estimates.
    """

    kind = "offset_keys"

    def __init__(self, reference: str, smoothing: float = 5.0) -> None:
        self.reference = reference
        self.smoothing = smoothing

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> dict[str, np.ndarray]:
        keys = listing_keys(listings)
        if fit:
            self.columns_ = list(keys)
        missing = [""] * len(listings)
        encoded = {c: np.asarray(keys.get(c, missing), dtype=object) for c in self.columns_}
        return {**encoded, _REFERENCE: scaled_columns(listings, [self.reference])[:, 0]}

    def fit(
        self, representation: dict[str, np.ndarray], y: np.ndarray, ids: np.ndarray
    ) -> OffsetKeys:
        reference = representation[_REFERENCE]
        given = np.isfinite(reference)
        keys = {c: representation[c][given] for c in self.columns_}
        self.encoder_ = TargetEncoder(self.smoothing).fit(keys, y[given] - reference[given])
        self.fill_ = median_or_zero(reference)
        return self

    def predict(self, representation: dict[str, np.ndarray]) -> np.ndarray:
        reference = representation[_REFERENCE]
        offsets = self.encoder_.transform({c: representation[c] for c in self.columns_})[:, ::2]
        filled = np.where(np.isnan(reference), self.fill_, reference)
        return np.asarray(filled[:, None] + offsets, dtype=np.float64)

    @property
    def feature_names(self) -> list[str]:
        return [f"{self.kind}:{c}:price" for c in self.columns_]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.encoder_.to_arrays()
        return {
            "reference": self.reference,
            "columns": self.columns_,
            "fill": self.fill_,
            "encoder": meta,
        }, arrays

    @classmethod
    def from_arrays(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> OffsetKeys:
        self = cls(str(meta["reference"]))
        self.encoder_ = TargetEncoder.from_arrays(meta["encoder"], arrays)
        self.smoothing = self.encoder_.smoothing
        self.columns_ = list(meta["columns"])
        self.fill_ = float(meta["fill"])
        return self


_REFERENCE = "\x00reference"  # the reference's slot among the keys (no key is named so)


def numeric_members(numeric: Sequence[str]) -> list[PriceMember]:
    """The members for these numeric columns: their values, and the price's offset from the
    first money column (its reference price) when there is one: from the words, from the
    nearest listings and from listings sharing keys."""
    if not numeric:
        return []
    members: list[PriceMember] = [NumericAttributes(numeric)]
    money = [c for c in numeric if is_money_column(c)]
    if money:
        members.append(ReferenceOffset(money[0]))
        members.append(OffsetNeighbours(money[0]))
        members.append(OffsetKeys(money[0]))
    return members


def _ridge(x: sp.csr_matrix, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha, solver="lsqr", tol=1e-4).fit(x, y)
    return np.asarray(model.coef_, dtype=np.float32), float(model.intercept_)


NUMERIC_MEMBERS: dict[str, type[PriceMember]] = {
    m.kind: m for m in (NumericAttributes, ReferenceOffset, OffsetNeighbours, OffsetKeys)
}
