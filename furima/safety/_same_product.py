"""The same product in other words: a trained matcher over the catalog's nearest listings.

A seller who relists an item with a new title and a new photo slips past hashes and MinHash;
a :class:`~furima.safety.ProductMatcher` trained on labelled pairs still tells that two
listings are the same product. Candidates come from a vector index over the catalog's text
vectors, so a new listing is scored against its ``k`` nearest catalog listings only.

Many sellers sell the same product honestly; what is a duplicate is the same seller listing
it again. When both listings carry a ``seller_id`` only the same seller's matches count; a
catalog without sellers counts every match (and says so in the reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.safety._results import Evidence, Finding

if TYPE_CHECKING:
    from furima.index import VectorIndex
    from furima.safety._listings import SafetyListings
    from furima.safety._matching import ProductMatcher

__all__ = ["SameProductCheck"]

_COLUMNS = ("listing_id", "name", "description", "brand", "price", "seller_id")
_CATALOG, _VECTORS = "catalog.parquet", "vectors.npy"


class SameProductCheck:
    """Scores each listing by its best same-product match in the catalog.

    Args:
        matcher: A fitted product matcher.
        k: Catalog candidates scored per listing.
    """

    def __init__(self, matcher: ProductMatcher, *, k: int = 5) -> None:
        self.matcher = matcher
        self.k = k

    def fit(self, catalog: pd.DataFrame) -> SameProductCheck:
        """Index the catalog's listings (``listing_id``, ``name``, ...)."""
        kept = [column for column in _COLUMNS if column in catalog.columns]
        self.catalog_ = catalog[kept].reset_index(drop=True).astype({"listing_id": str})
        self.vectors_ = self.matcher.encode_listings(self.catalog_)
        self._index: VectorIndex | None = None
        return self

    def add(self, listings: pd.DataFrame) -> None:
        """Grow the catalog with listings now live."""
        kept = [column for column in self.catalog_.columns if column in listings.columns]
        more = listings[kept].astype({"listing_id": str})
        self.vectors_ = np.vstack([self.vectors_, self.matcher.encode_listings(more)])
        self.catalog_ = pd.concat([self.catalog_, more], ignore_index=True)
        self._index = None

    def findings(self, batch: SafetyListings) -> list[Finding]:
        """One finding per listing: the probability of its best counted match."""
        frame = batch.frame
        named = frame if "name" in frame.columns else frame.assign(name=batch.texts)
        has_text = np.array([bool(text) for text in batch.texts])
        out = [Finding(0.0)] * len(batch)
        if not has_text.any() or len(self.catalog_) == 0:
            return out
        queries = named[has_text].reset_index(drop=True)
        pairs = self.matcher.candidate_pairs(
            queries, None, self.index_, k=min(self.k, len(self.catalog_)), catalog=self.catalog_
        )
        rows = np.flatnonzero(has_text)
        for position, group in pairs.groupby("listing"):
            listing = int(position)  # type: ignore[arg-type]
            out[rows[listing]] = self._finding(queries.iloc[listing], group)
        return out

    def _finding(self, query: pd.Series, group: pd.DataFrame) -> Finding:
        candidates = self.catalog_.iloc[group["candidate_id"].to_numpy()]
        own = candidates["listing_id"].to_numpy() != str(query["listing_id"])
        sellers = "seller_id" in candidates.columns and pd.notna(query.get("seller_id"))
        if sellers:
            own &= candidates["seller_id"].astype(str).to_numpy() == str(query["seller_id"])
        probability = np.where(own, group["probability"].to_numpy(), 0.0)
        if not probability.any():
            return Finding(0.0)
        best = int(probability.argmax())
        other = str(candidates["listing_id"].iloc[best])
        who = "the same seller's" if sellers else "another"
        reason = f"it looks like the same product as {who} listing {other} in other words"
        evidence = Evidence(
            "duplicate",
            f"same product: {candidates['name'].iloc[best]}",
            listing_id=other,
            similarity=round(float(probability[best]), 3),
        )
        return Finding(float(probability[best]), (reason,), (evidence,))

    @property
    def index_(self) -> VectorIndex:
        """The catalog's text vectors in a cosine index (positions as ids), built on demand."""
        if self._index is None:
            from furima.index import VectorIndex

            index = VectorIndex(self.vectors_.shape[1], metric="cosine")
            self._index = index.add(np.arange(len(self.vectors_), dtype=np.int64), self.vectors_)
        return self._index

    def write(self, folder: Path) -> dict[str, Any]:
        (folder / "matcher").mkdir()
        described = self.matcher.write(folder / "matcher")
        self.catalog_.to_parquet(folder / _CATALOG, index=False)
        np.save(folder / _VECTORS, self.vectors_, allow_pickle=False)
        return {"k": self.k, "matcher": described}

    @classmethod
    def read(cls, folder: Path, description: dict[str, Any]) -> SameProductCheck:
        from furima.safety._matching import ProductMatcher

        matcher = ProductMatcher.read(folder / "matcher", description["matcher"])
        check = cls(matcher, k=int(description["k"]))
        check.catalog_ = pd.read_parquet(folder / _CATALOG)
        check.vectors_ = np.load(folder / _VECTORS, allow_pickle=False)
        check._index = None
        return check
