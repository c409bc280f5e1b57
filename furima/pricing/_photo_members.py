"""A level-1 member that prices listings from their photos, and the test of whether it helps.

:class:`PhotoPrices` reads one photo column (JPEG/PNG bytes or file paths, missing allowed),
encodes each photo with :class:`~furima.features.PhotoEncoder` (EfficientNet-Lite0, average
pooling), projects the 1280 values onto their first principal components (learned from the
training photos, never the prices) and gives the blend four columns: a ridge estimate of the
log price from the projected photo, the similarity-weighted mean log price of the most similar
training photos, the top similarity, and a photo-missing indicator. A listing without a photo
gets the training mean for both estimates and the indicator set, never NaN.

Photos do not help every catalog (a phone's price is in its words, not in how it looks), and
encoding them costs time at every suggestion; so the suggester fits its blend with and without
this member's columns and keeps the member only when the out-of-fold error drops by at least
:data:`PHOTO_GAIN` (:func:`photo_decision`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, ImageError, SchemaError
from furima.features._base import l2_normalise
from furima.pricing._members import PriceMember

if TYPE_CHECKING:
    from furima.features import PhotoEncoder
    from furima.pricing._stacker import Stacker

__all__ = [
    "MIN_PHOTOS",
    "PHOTO_GAIN",
    "PhotoPrices",
    "fit_blend",
    "photo_columns",
    "photo_decision",
    "photo_present",
    "photo_views",
    "split_photos",
    "with_photo_column",
]

#: Relative drop in out-of-fold RMSLE the photo member must bring to be kept (0.5%): below
#: that, photos cost encoding time at every suggestion for a gain that may be chance.
PHOTO_GAIN = 0.005
#: Fewest training listings with a usable photo for the member to learn anything.
MIN_PHOTOS = 10
_COMPONENTS = 64
# Weight of a neighbour: exp(_SHARPNESS * (similarity - top similarity)), so the closest
# photos dominate the mean and a long tail of middling ones does not flatten it.
_SHARPNESS = 10.0
_ALPHAS = np.logspace(-2, 4, 13)
# Similarity cells scored at once (64 MB as float64), so memory stays bounded on big catalogs.
_CELLS = 8_000_000


def photo_present(value: object) -> bool:
    """Whether a photo cell holds something to encode (not None, NaN, NA or empty)."""
    if value is None or value is pd.NA:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    if isinstance(value, bytes | bytearray | str):
        return len(value) > 0
    return True


def split_photos(
    listings: pd.DataFrame, column: str, *, training: bool = False
) -> tuple[pd.DataFrame, list[object]]:
    """The listings without their photo column, and that column's values in row order.

    The photo column is kept out of the frame the other members read: they would take its
    bytes for a text attribute.

    Raises:
        SchemaError: ``listings`` has no column ``column``.
        DataError: ``training`` and fewer than :data:`MIN_PHOTOS` photos are present.
    """
    if column not in listings.columns:
        raise SchemaError(
            f"Photo column {column!r} is not in the listings; their columns are "
            f"{[str(c) for c in listings.columns]}. Pass the column that holds the photos "
            "(image bytes or file paths)."
        )
    photos = listings[column].tolist()
    if training:
        _check_enough(sum(photo_present(p) for p in photos), len(photos), column)
    return listings.drop(columns=column), photos


def _check_enough(present: int, rows: int, column: str) -> None:
    if present < MIN_PHOTOS:
        raise DataError(
            f"Only {present} of {rows} listings have a usable photo in {column!r}; the photo "
            f"member needs at least {MIN_PHOTOS}. Fill the column with image bytes or file "
            "paths, or fit without photos."
        )


def with_photo_column(listings: pd.DataFrame, column: str, photos: list[object]) -> pd.DataFrame:
    """The listings with their photos back in ``column`` (as Python objects, unconverted)."""
    return listings.assign(**{column: pd.Series(photos, index=listings.index, dtype=object)})


def photo_views(
    members: Sequence[PriceMember], listings: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the other members read (the listings without the photo column) and what the photo
    member reads (all of them), indexed by ``isinstance(member, PhotoPrices)``."""
    column = next((m.column for m in members if isinstance(m, PhotoPrices)), None)
    if column is None or column not in listings:
        return listings, listings
    return listings.drop(columns=column), listings


def photo_decision(
    column: str, rmsle_with: float, rmsle_without: float, gain: float = PHOTO_GAIN
) -> dict[str, Any]:
    """Whether photos are kept (out-of-fold RMSLE lower by at least ``gain``, relative), with
    both errors and a sentence saying why; recorded as ``training_["photos"]``."""
    kept = bool(rmsle_with <= rmsle_without * (1.0 - gain))
    change = rmsle_with / rmsle_without - 1.0 if rmsle_without > 0 else 0.0
    return {
        "column": column,
        "kept": kept,
        "validation_rmsle_with": round(float(rmsle_with), 5),
        "validation_rmsle_without": round(float(rmsle_without), 5),
        "reason": f"photos {'kept' if kept else 'dropped'}: out-of-fold RMSLE {rmsle_with:.4f} "
        f"with them, {rmsle_without:.4f} without ({change:+.2%}); kept only when at least "
        f"{gain:.1%} lower",
    }


class PhotoPrices(PriceMember):
    """Log-price evidence from a listing's photo: ridge on its principal components, and
    the prices of the training listings whose photos look most alike (cosine).

    During cross-fitting a listing never counts as its own neighbour (reference photos with
    the same ``listing_id`` are skipped), so a training listing priced again after the final
    fit is not given its own price.

    Args:
        column: The photo column (image bytes, or paths to image files).
        n_components: Most principal components kept (fewer with fewer training photos).
        k: Neighbours averaged.
        threads: onnxruntime threads for encoding (``None``: all cores).
    """

    kind = "photo_prices"

    def __init__(
        self, column: str, n_components: int = _COMPONENTS, k: int = 10, threads: int | None = None
    ) -> None:
        self.column = column
        self.n_components = n_components
        self.k = k
        self.threads = threads

    # ------------------------------------------------------------------ encode
    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> dict[str, np.ndarray]:
        values = listings[self.column].tolist() if self.column in listings else []
        values = values or [None] * len(listings)
        present = np.array([photo_present(v) for v in values], dtype=bool)
        ids = listings["listing_id"].astype(str).to_numpy()
        if fit:
            _check_enough(int(present.sum()), len(values), self.column)
        features = self._photo_features(values, present, ids)
        if fit:
            self._fit_projection(features[present])
        reduced = np.zeros((len(values), self.components_.shape[0]), dtype=np.float32)
        if present.any():
            reduced[present] = (features[present] - self.pca_mean_) @ self.components_.T
        return {"vectors": reduced, "present": present, "ids": ids}

    def _photo_features(
        self, values: list[object], present: np.ndarray, ids: np.ndarray
    ) -> np.ndarray:
        """1280-d features of the present photos (zeros elsewhere); an unreadable photo raises
        :class:`ImageError` naming its row, listing and column."""
        encoder = self._encoder()
        out = np.zeros((len(values), encoder.dim), dtype=np.float32)
        rows = np.flatnonzero(present)
        for start in range(0, len(rows), encoder.batch_size):
            batch = rows[start : start + encoder.batch_size]
            photos = [values[i] for i in batch]
            try:
                out[batch] = encoder.encode(photos)
            except ImageError:
                for row, photo in zip(batch, photos, strict=True):
                    name = f"The {self.column!r} photo of row {row + 1} (listing {ids[row]!r})"
                    encoder.pixels(photo, name=name)
                raise
        return out

    def _encoder(self) -> PhotoEncoder:
        if getattr(self, "encoder_", None) is None:
            from furima.features import PhotoEncoder

            self.encoder_ = PhotoEncoder(threads=self.threads)
        return self.encoder_

    def _fit_projection(self, features: np.ndarray) -> None:
        """Principal components of the training photos, from their covariance (1280 x 1280,
        whatever the number of photos)."""
        mean = features.mean(0, dtype=np.float64)
        centred = features.astype(np.float64) - mean
        values, vectors = np.linalg.eigh(centred.T @ centred)
        keep = min(self.n_components, len(features) - 1, features.shape[1])
        order = np.argsort(values)[::-1][:keep]
        self.pca_mean_ = mean.astype(np.float32)
        self.components_ = np.ascontiguousarray(vectors[:, order].T, dtype=np.float32)

    # --------------------------------------------------------------------- fit
    def fit(
        self, representation: dict[str, np.ndarray], y: np.ndarray, ids: np.ndarray
    ) -> PhotoPrices:
        present = representation["present"]
        vectors = representation["vectors"][present].astype(np.float64)
        targets = np.asarray(y, dtype=np.float64)
        self.mean_y_ = float(targets.mean())
        self.coef_ = np.zeros(vectors.shape[1])
        self.intercept_ = self.mean_y_
        if present.sum() >= 3:
            from sklearn.linear_model import RidgeCV

            ridge = RidgeCV(alphas=_ALPHAS).fit(vectors, targets[present])
            self.coef_ = np.asarray(ridge.coef_, dtype=np.float64)
            self.intercept_ = float(ridge.intercept_)
        self.reference_ = l2_normalise(vectors.astype(np.float32))
        self.reference_y_ = targets[present]
        self.reference_ids_ = np.asarray(ids).astype(str)[present]
        return self

    # ----------------------------------------------------------------- predict
    def predict(self, representation: dict[str, np.ndarray]) -> np.ndarray:
        present = representation["present"]
        out = np.tile([self.mean_y_, self.mean_y_, 0.0, 1.0], (len(present), 1))
        if present.any() and len(self.reference_y_):
            vectors = representation["vectors"][present]
            ridge = vectors.astype(np.float64) @ self.coef_ + self.intercept_
            weighted, top = self._neighbour_prices(vectors, representation["ids"][present])
            out[present] = np.column_stack([ridge, weighted, top, np.zeros(len(ridge))])
        return out

    def _neighbour_prices(self, vectors: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """Similarity-weighted mean log price of the ``k`` most similar reference photos, and
        the top similarity; the query's own listing id is never a neighbour."""
        queries = l2_normalise(vectors.astype(np.float32))
        index = pd.Index(self.reference_ids_)
        own = index.get_indexer(ids) if index.is_unique else np.full(len(ids), -1)
        k = min(self.k, len(self.reference_y_))
        weighted, top = np.empty(len(queries)), np.empty(len(queries))
        chunk = max(1, min(1024, _CELLS // len(self.reference_y_)))
        for start in range(0, len(queries), chunk):
            rows = slice(start, start + chunk)
            sims = (queries[rows] @ self.reference_.T).astype(np.float64)
            mine = np.flatnonzero(own[rows] >= 0)
            sims[mine, own[rows][mine]] = -np.inf
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            best_sims = np.take_along_axis(sims, best, 1)
            top_sim = best_sims.max(1)
            found = np.isfinite(best_sims)
            with np.errstate(invalid="ignore"):
                weights = np.where(found, np.exp(_SHARPNESS * (best_sims - top_sim[:, None])), 0)
            total = weights.sum(1)
            mean = (weights * self.reference_y_[best]).sum(1) / np.maximum(total, 1e-12)
            weighted[rows] = np.where(total > 0, mean, self.mean_y_)
            top[rows] = np.where(np.isfinite(top_sim), top_sim, 0.0)
        return weighted, top

    @property
    def feature_names(self) -> list[str]:
        return ["photo_ridge", "photo_nn_weighted", "photo_top_sim", "photo_missing"]

    # ------------------------------------------------------------- persistence
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "column": self.column,
            "n_components": self.n_components,
            "k": self.k,
            "encoder": self._encoder().name,
            "mean_y": self.mean_y_,
            "intercept": self.intercept_,
        }
        arrays = {
            "pca_mean": self.pca_mean_,
            "components": self.components_,
            "coef": self.coef_,
            "reference": self.reference_,
            "reference_y": self.reference_y_,
            "reference_ids": self.reference_ids_,
        }
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> PhotoPrices:
        self = cls(str(meta["column"]), n_components=int(meta["n_components"]), k=int(meta["k"]))
        self.pca_mean_ = np.asarray(arrays["pca_mean"], dtype=np.float32)
        self.components_ = np.asarray(arrays["components"], dtype=np.float32)
        self.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        self.intercept_ = float(meta["intercept"])
        self.mean_y_ = float(meta["mean_y"])
        self.reference_ = np.asarray(arrays["reference"], dtype=np.float32)
        self.reference_y_ = np.asarray(arrays["reference_y"], dtype=np.float64)
        self.reference_ids_ = np.asarray(arrays["reference_ids"]).astype(str)
        return self


def photo_columns(members: Sequence[PriceMember]) -> np.ndarray:
    """Positions of the photo member's columns in the members' stacked evidence."""
    positions: list[int] = []
    start = 0
    for member in members:
        width = len(member.feature_names)
        if isinstance(member, PhotoPrices):
            positions.extend(range(start, start + width))
        start += width
    return np.asarray(positions, dtype=np.int64)


def fit_blend(
    members: list[PriceMember],
    evidence: np.ndarray,
    log_price: np.ndarray,
    new_stacker: Callable[[list[PriceMember]], Stacker],
) -> tuple[Stacker, list[PriceMember], dict[str, Any] | None]:
    """The fitted blend and the members it reads, and the photo decision (``None`` without
    a photo member): with one, the blend is fitted with and without the photo evidence (the
    same folds) and the photo member stays only when :func:`photo_decision` keeps it."""
    photo = [m for m in members if isinstance(m, PhotoPrices)]
    if not photo:
        return new_stacker(members).fit(evidence, log_price), members, None
    others = [m for m in members if not isinstance(m, PhotoPrices)]
    with_photos = new_stacker(members).fit(evidence, log_price)
    without = new_stacker(others).fit(
        np.delete(evidence, photo_columns(members), axis=1), log_price
    )
    decision = photo_decision(
        photo[0].column, _oof_rmsle(with_photos, log_price), _oof_rmsle(without, log_price)
    )
    return (with_photos, members, decision) if decision["kept"] else (without, others, decision)


def _oof_rmsle(stacker: Stacker, log_price: np.ndarray) -> float:
    return float(np.sqrt(np.mean((stacker.oof_point_ - log_price) ** 2)))
