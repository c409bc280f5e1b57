"""Price suggestion: a point estimate and a calibrated range, backed by comparable listings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima._progress import Tracker, tracker
from furima.catalog import categorical_attribute_columns, fingerprint, numeric_attribute_columns
from furima.exceptions import NotFittedError
from furima.pricing._listing_inputs import prediction_data, training_data
from furima.pricing._members import (
    JoinedTextRidge,
    KeyEncoding,
    NameQuantities,
    Neighbours,
    PriceMember,
    TextRidge,
    take_rows,
)
from furima.pricing._numeric_members import check_money
from furima.pricing._photo_members import (
    PhotoPrices,
    fit_blend,
    photo_present,
    photo_views,
    split_photos,
    with_photo_column,
)
from furima.pricing._reference_members import numeric_members
from furima.pricing._stacker import Stacker

__all__ = ["Comparable", "PriceSuggester", "PriceSuggestion"]


@dataclass(frozen=True)
class Comparable:
    """A past listing that backs a suggestion."""

    listing_id: str
    price: float
    similarity: float


@dataclass(frozen=True)
class PriceSuggestion:
    """What a seller sees: a price, a range, and the listings it comes from."""

    listing_id: str
    price: float
    low: float
    high: float
    coverage: float
    comparables: list[Comparable] = field(default_factory=list)
    missing_attributes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The suggestion as JSON-able values; ``missing_attributes`` only when some are."""
        missing = {"missing_attributes": list(self.missing_attributes)}
        return {
            "listing_id": self.listing_id,
            "price": round(self.price, 2),
            "low": round(self.low, 2),
            "high": round(self.high, 2),
            "coverage": self.coverage,
            "comparables": [
                {
                    "listing_id": c.listing_id,
                    "price": round(c.price, 2),
                    "similarity": round(c.similarity, 3),
                }
                for c in self.comparables
            ],
        } | (missing if self.missing_attributes else {})


_PRICE_ESTIMATES = {
    "text_ridge",
    "joined_text_ridge",
    "nn_weighted",
    "nn_top1",
    "nn_mean5",
    "reference_offset",
    "offset_neighbours:weighted",
    "offset_neighbours:top1",
    "offset_neighbours:mean5",
    "photo_ridge",
    "photo_nn_weighted",
}


class PriceSuggester:
    """Suggest a price and a range for listings, scikit-learn style.

    Level 1 (:mod:`furima.pricing._members`): ridge on sparse TF-IDF views and crosses, ridge
    on the classic joined-text TF-IDF plus one-hot, nearest-neighbour prices, and smoothed key
    encodings. Their out-of-fold evidence feeds a LightGBM blend (or a linear blend of the
    price estimates when that validates better) with conformalized quantile ranges
    (:class:`Stacker`). Small catalogs are cross-fitted (``n_folds``); above
    ``holdout_threshold`` rows the members learn once and a held-out slice of ``holdout_rows``
    trains the blend, keeping large fits fast.

    Numeric attributes (float columns, or those named in ``fit(numeric=...)``; kept in
    ``numeric_columns_``, apart from the categorical ``attribute_columns_``) join as members
    of their own (:mod:`furima.pricing._numeric_members`): their log-scaled values with
    missing indicators, and the price's offset from the first money column (a retail price)
    learned from the words, the nearest listings and shared keys; the text members read them
    as tags too (an exact retail price often names the product). A listing to price that lacks
    a numeric attribute is priced from the rest (indicator set, offset estimate from the words
    alone) and its suggestion names the column in ``missing_attributes``.

    Photos (``fit(photos="jpeg")``: a column of image bytes or file paths) join as a member of
    their own (:class:`~furima.pricing._photo_members.PhotoPrices`) only when they earn it: the
    blend is fitted with and without their evidence and the photos are kept only when the
    out-of-fold RMSLE drops by at least ``PHOTO_GAIN`` (0.5%); ``training_["photos"]`` records
    both errors and the decision. A model that kept photos prices a listing without one from
    the rest and names the photo column in its ``missing_attributes``.

    Args:
        coverage: Target share of true prices inside the suggested range.
        n_folds: Folds for cross-fitting level 1 on small catalogs.
        holdout_threshold: Rows above which a single holdout replaces cross-fitting.
        holdout_rows: Size of that holdout.
        n_comparables: Comparable listings returned with each suggestion.
        n_threads: Threads for LightGBM.
        random_state: Seed for folds, sampling and boosting.
    """

    def __init__(
        self,
        *,
        coverage: float = 0.8,
        n_folds: int = 5,
        holdout_threshold: int = 100_000,
        holdout_rows: int = 60_000,
        n_comparables: int = 5,
        n_threads: int = 2,
        random_state: int = 0,
    ) -> None:
        self.coverage = coverage
        self.n_folds = n_folds
        self.holdout_threshold = holdout_threshold
        self.holdout_rows = holdout_rows
        self.n_comparables = n_comparables
        self.n_threads = n_threads
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        listings: pd.DataFrame,
        y: np.ndarray | None = None,
        *,
        numeric: tuple[str, ...] | list[str] | None = None,
        photos: str | None = None,
        progress: bool = False,
    ) -> PriceSuggester:
        """Learn from listings with known prices (``listings.price`` unless ``y`` is given).

        ``numeric`` names the numeric attribute columns; by default the float columns are.
        ``photos`` names a column of photos (image bytes or file paths; empty cells allowed),
        tried as a member and kept only when it lowers the out-of-fold error.

        Raises:
            ValidationError: Invalid listings (text in a numeric column, an infinite value...).
            SchemaError: ``photos`` is not a column of ``listings``.
            DataError: Too few listings, a negative money value (``msrp``...), or too few
                usable photos. ImageError: a photo that cannot be decoded (naming its row).
        """
        self._check_params()
        photo_values: list[object] = []
        if photos is not None:
            listings, photo_values = split_photos(listings, photos, training=True)
        listings, log_price = training_data(listings, y, numeric)
        started = time.perf_counter()
        self.data_fingerprint_ = fingerprint(listings)
        self.numeric_columns_ = numeric_attribute_columns(listings)
        self.attribute_columns_ = categorical_attribute_columns(listings)
        self.members_: list[PriceMember] = [
            TextRidge(),
            JoinedTextRidge(),
            Neighbours(),
            KeyEncoding(),
            NameQuantities(),
            *numeric_members(self.numeric_columns_),
            *([PhotoPrices(photos, threads=self.n_threads)] if photos is not None else []),
        ]
        with tracker(progress) as track:
            if photos is not None:
                listings = with_photo_column(listings, photos, photo_values)
            stack_rows, evidence = self._level_one(listings, log_price, track)
            track.start("Fitting the price blend and its range")
            self.stacker_, self.members_, photo_report = fit_blend(
                self.members_, evidence, log_price[stack_rows], self._new_stacker
            )
        self.training_: dict[str, Any] = {
            "rows": len(listings),
            "stack_rows": len(stack_rows),
            "mode": "cross_fit" if len(stack_rows) == len(listings) else "holdout",
            "fit_seconds": round(time.perf_counter() - started, 2),
        } | ({"photos": photo_report} if photo_report else {})
        self.metrics_ = self._validation_metrics(log_price[stack_rows])
        return self

    def _new_stacker(self, members: list[PriceMember]) -> Stacker:
        return Stacker(
            coverage=self.coverage,
            n_threads=self.n_threads,
            random_state=self.random_state,
            estimate_columns=self._estimate_columns(members),
        )

    def _estimate_columns(self, members: list[PriceMember]) -> np.ndarray:
        """Positions of the evidence columns that are log-price estimates."""
        names = [name for member in members for name in member.feature_names]
        return np.flatnonzero(
            [name in _PRICE_ESTIMATES or name.endswith(":mean") for name in names]
        )

    def _check_params(self) -> None:
        if not 0.0 < self.coverage < 1.0:
            raise ValueError(f"`coverage` must be in (0, 1), but got {self.coverage}.")
        if self.n_folds < 2:
            raise ValueError(f"`n_folds` must be at least 2, but got {self.n_folds}.")

    def _level_one(
        self, listings: pd.DataFrame, log_price: np.ndarray, track: Tracker
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-sample member evidence for the rows that train the blend."""
        n = len(listings)
        ids = listings["listing_id"].to_numpy().astype(str)
        rng = np.random.default_rng(self.random_state)
        if n > self.holdout_threshold:
            held_out = np.sort(rng.choice(n, min(self.holdout_rows, n // 5), replace=False))
            learn = np.setdiff1d(np.arange(n), held_out)
            folds = [(learn, held_out)]
            refit = False
        else:
            fold_of = rng.permutation(n) % self.n_folds
            folds = [
                (np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f))
                for f in range(self.n_folds)
            ]
            held_out, refit = np.arange(n), True
        blocks, views = [], photo_views(self.members_, listings)
        for member in self.members_:
            track.start(f"Encoding listings ({member.kind})")
            rep = member.encode(views[isinstance(member, PhotoPrices)], fit=True)
            block = np.empty((n, len(member.feature_names)))
            for i, (train, test) in enumerate(folds):
                track.start(f"Fitting {member.kind} ({i + 1}/{len(folds)})")
                member.fit(take_rows(rep, train), log_price[train], ids[train])
                block[test] = member.predict(take_rows(rep, test))
            if refit:
                track.start(f"Fitting {member.kind} on all listings")
                member.fit(rep, log_price, ids)
            blocks.append(block[held_out])
        return held_out, np.hstack(blocks)

    def _validation_metrics(self, log_price: np.ndarray) -> dict[str, float]:
        point, interval = self.stacker_.oof_point_, self.stacker_.oof_interval_
        inside = (interval[:, 0] <= log_price) & (log_price <= interval[:, 1])
        return {
            "validation_rmsle": float(np.sqrt(np.mean((point - log_price) ** 2))),
            "validation_coverage": float(np.mean(inside)),
            "margin": self.stacker_.margin_,
        }

    @property
    def photo_column_(self) -> str | None:
        """The photo column the model reads (given to ``fit(photos=...)`` and kept), else None."""
        report = getattr(self, "training_", {}).get("photos") or {}
        return str(report["column"]) if report.get("kept") else None

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "stacker_"):
            raise NotFittedError(
                "This PriceSuggester is not fitted yet; call fit() or PriceSuggester.load()."
            )

    def _evidence(self, listings: pd.DataFrame) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Member evidence, plus the nearest reference listings (positions, similarities)."""
        blocks, nearest = [], (np.empty((0, 0), np.int64), np.empty((0, 0)))
        views = photo_views(self.members_, listings)
        for member in self.members_:
            rep = member.encode(views[isinstance(member, PhotoPrices)])
            if isinstance(member, Neighbours):
                nearest = member.nearest(rep, max(member.k, self.n_comparables))
                blocks.append(member.features(*nearest))
            else:
                blocks.append(member.predict(rep))
        return np.hstack(blocks), nearest

    def predict_log(self, listings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point, low and high ``log1p(price)`` for each listing."""
        self._check_fitted()
        listings, _ = self._prediction_data(listings)
        evidence, _ = self._evidence(listings)
        return self.stacker_.predict(evidence)

    def predict(self, listings: pd.DataFrame) -> np.ndarray:
        """Suggested prices (point estimates)."""
        return np.asarray(np.expm1(self.predict_log(listings)[0]), dtype=np.float64)

    def predict_interval(self, listings: pd.DataFrame) -> np.ndarray:
        """Suggested ranges, shape ``(n, 2)``: low and high price."""
        _, low, high = self.predict_log(listings)
        return np.asarray(np.expm1(np.column_stack([low, high])), dtype=np.float64)

    def suggest(self, listings: pd.DataFrame) -> list[PriceSuggestion]:
        """Price, range and comparable past listings for each listing."""
        self._check_fitted()
        listings, missing = self._prediction_data(listings)
        evidence, (positions, sims) = self._evidence(listings)
        point, low, high = np.expm1(self.stacker_.predict(evidence))
        neighbours = self._neighbours()
        ids = listings["listing_id"].astype(str).tolist()
        return [
            PriceSuggestion(
                listing_id=ids[i],
                price=float(point[i]),
                low=float(low[i]),
                high=float(high[i]),
                coverage=self.coverage,
                comparables=self._comparables(
                    neighbours, positions[i, : self.n_comparables], sims[i, : self.n_comparables]
                ),
                missing_attributes=missing[i],
            )
            for i in range(len(listings))
        ]

    def _prediction_data(
        self, listings: pd.DataFrame
    ) -> tuple[pd.DataFrame, list[tuple[str, ...]]]:
        """Listings as the members read them (with the photo column when the model kept
        photos), and the numeric attributes (and photo) each one lacks."""
        numeric = getattr(self, "numeric_columns_", [])
        column = self.training_.get("photos", {}).get("column")  # kept or not: never text
        photos: list[object] = [None] * len(listings)
        if column is not None and column in listings:
            listings, photos = split_photos(listings, column)
        listings = prediction_data(listings, self.attribute_columns_, numeric)
        missing: list[tuple[str, ...]] = [()] * len(listings)
        if numeric:
            check_money(listings, numeric, action="ask for a price")
            gaps = listings[numeric].isna().to_numpy()
            missing = [tuple(c for c, gap in zip(numeric, row, strict=True) if gap) for row in gaps]
        if self.photo_column_ is not None:
            listings = with_photo_column(listings, self.photo_column_, photos)
            missing = [
                gap if photo_present(photo) else (*gap, self.photo_column_)
                for gap, photo in zip(missing, photos, strict=True)
            ]
        return listings, missing

    def _neighbours(self) -> Neighbours:
        return next(m for m in self.members_ if isinstance(m, Neighbours))

    @staticmethod
    def _comparables(
        neighbours: Neighbours, positions: np.ndarray, sims: np.ndarray
    ) -> list[Comparable]:
        return [
            Comparable(
                listing_id=str(neighbours.reference_ids_[p]),
                price=round(float(np.expm1(neighbours.reference_y_[p])), 2),
                similarity=float(s),
            )
            for p, s in zip(positions, sims, strict=True)
            if p >= 0
        ]

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the model as open formats with a JSON manifest, atomically."""
        from furima.pricing._persistence import save_model

        self._check_fitted()
        return save_model(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> PriceSuggester:
        """Load a model written by :meth:`save` (by this or a compatible furima version)."""
        from furima.pricing._persistence import load_model

        return load_model(Path(path))
