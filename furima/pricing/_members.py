"""Level-1 members of the price ensemble.

Each member turns listings into a few columns of evidence about their log price. A member
is fitted in two stages so the ensemble can cross-fit cheaply: ``encode`` learns the
unsupervised part once (vocabularies, keys) and returns a row-sliceable representation;
``fit`` / ``predict`` then work on rows of that representation, once per fold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from furima.features import (
    JOINED_VIEWS,
    SPLIT_VIEWS,
    ListingTextVectorizer,
    TargetEncoder,
    as_text,
    listing_keys,
    restore_tfidf,
    tfidf_arrays,
    tfidf_transform,
)
from furima.features._price_quantities import QUANTITY_NAMES, name_quantities

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "MEMBERS",
    "JoinedTextRidge",
    "KeyEncoding",
    "NameQuantities",
    "Neighbours",
    "PriceMember",
    "TextRidge",
    "take_rows",
]


def take_rows(representation: Any, rows: np.ndarray) -> Any:
    """Rows of a member representation (sparse matrix, frame, or columns by name)."""
    if isinstance(representation, pd.DataFrame):
        return representation.iloc[rows]
    if isinstance(representation, dict):
        return {name: column[rows] for name, column in representation.items()}
    return representation[rows]


class PriceMember(ABC):
    """Contract of a level-1 member.

    ``encode(listings, fit=True)`` learns the unsupervised state from the training listings
    (never the target) and returns their representation; ``encode(listings)`` represents new
    listings. ``fit(rep, y, ids)`` learns from log prices (``ids`` name the listings, for
    members that cite them) and returns self, overwriting any earlier fit, so one member can
    be fitted fold after fold; ``predict(rep)`` returns a float array of shape
    ``(n, len(feature_names))``. State round-trips through ``to_arrays`` / ``from_arrays``
    (JSON-able metadata plus arrays).
    """

    kind: ClassVar[str]

    @abstractmethod
    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> Any: ...

    @abstractmethod
    def fit(self, representation: Any, y: np.ndarray, ids: np.ndarray) -> PriceMember: ...

    @abstractmethod
    def predict(self, representation: Any) -> np.ndarray: ...

    @property
    @abstractmethod
    def feature_names(self) -> list[str]: ...

    @abstractmethod
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

    @classmethod
    @abstractmethod
    def from_arrays(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Any: ...


class TextRidge(PriceMember):
    """Ridge regression on sparse TF-IDF views of the listing and their crosses."""

    kind = "text_ridge"
    views: ClassVar[tuple[str, ...]] = SPLIT_VIEWS
    default_alpha: ClassVar[float] = 1.0

    def __init__(self, alpha: float | None = None) -> None:
        self.alpha = self.default_alpha if alpha is None else alpha
        self.vectorizer = ListingTextVectorizer(self.views)

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> sp.csr_matrix:
        if fit:
            return self.vectorizer.fit_transform(listings)
        return self.vectorizer.transform(listings)

    def fit(self, representation: sp.csr_matrix, y: np.ndarray, ids: np.ndarray) -> TextRidge:
        from sklearn.linear_model import Ridge

        model = Ridge(alpha=self.alpha, solver="lsqr", tol=1e-4).fit(representation, y)
        self.coef_ = np.asarray(model.coef_, dtype=np.float32)
        self.intercept_ = float(model.intercept_)
        return self

    def predict(self, representation: sp.csr_matrix) -> np.ndarray:
        return np.asarray(representation @ self.coef_ + self.intercept_).reshape(-1, 1)

    @property
    def feature_names(self) -> list[str]:
        return [self.kind]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.vectorizer.to_arrays()
        arrays["coef"] = self.coef_
        return {"alpha": self.alpha, "intercept": self.intercept_, "vectorizer": meta}, arrays

    @classmethod
    def from_arrays(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> TextRidge:
        self = cls(alpha=float(meta["alpha"]))
        self.vectorizer = ListingTextVectorizer.from_arrays(meta["vectorizer"], arrays)
        self.coef_ = arrays["coef"]
        self.intercept_ = float(meta["intercept"])
        return self


class JoinedTextRidge(TextRidge):
    """Ridge on one TF-IDF of all text joined plus one-hot categories: the classic model,
    different enough from :class:`TextRidge` to help the blend on small catalogs."""

    kind = "joined_text_ridge"
    views = JOINED_VIEWS
    default_alpha = 0.5


class Neighbours(PriceMember):
    """Prices of the most similar past listings (cosine on brand + name TF-IDF).

    Besides the ensemble features, :meth:`nearest` gives the comparables that back a price
    suggestion. At most ``max_reference`` listings are kept (a seeded sample), and words in
    more than ``max_df`` of listings are ignored, so memory and query time stay bounded on
    very large catalogs (common words would make every listing a candidate).
    """

    kind = "neighbours"
    _CHUNK = 1024

    def __init__(
        self,
        k: int = 10,
        max_reference: int = 300_000,
        max_df: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.k = k
        self.max_df = max_df
        self.max_reference = max_reference
        self.random_state = random_state

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> sp.csr_matrix:

        documents = [
            f"{brand} {name}"
            for brand, name in zip(
                as_text(listings["brand"]), as_text(listings["name"]), strict=True
            )
        ]
        if fit:
            self.vectorizer_ = self._new_vectorizer()
            return self.vectorizer_.fit_transform(documents)
        return tfidf_transform(self.vectorizer_, documents)

    def _new_vectorizer(self) -> TfidfVectorizer:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            max_features=500_000,
            max_df=self.max_df,
            dtype=np.float32,
        )

    def fit(self, representation: sp.csr_matrix, y: np.ndarray, ids: np.ndarray) -> Neighbours:
        rows = np.arange(representation.shape[0])
        if len(rows) > self.max_reference:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(rows, self.max_reference, replace=False))
        self.reference_ = sp.csr_matrix(representation[rows].T)  # terms x listings
        self.reference_y_ = np.asarray(y, dtype=np.float64)[rows]
        self.reference_ids_ = np.asarray(ids).astype(str)[rows]
        return self

    def nearest(self, representation: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions (into the reference set) and cosine similarities of the k nearest, best
        first; positions are -1 where fewer than k references share any word."""
        n, n_reference = representation.shape[0], self.reference_.shape[1]
        positions = np.full((n, k), -1, dtype=np.int64)
        similarities = np.zeros((n, k), dtype=np.float64)
        chunk = max(1, min(1024, _DENSE_CELLS // max(n_reference, 1)))
        for start in range(0, n, chunk):
            scores = (representation[start : start + chunk] @ self.reference_).tocsr()
            rows = slice(start, start + scores.shape[0])
            if scores.nnz > 0.1 * scores.shape[0] * n_reference:
                positions[rows], similarities[rows] = _top_k_dense(scores.toarray(), k)
            else:
                positions[rows], similarities[rows] = _top_k_sparse(scores, k)
        return positions, similarities

    def predict(self, representation: sp.csr_matrix) -> np.ndarray:
        return self.features(*self.nearest(representation, self.k))

    def features(self, positions: np.ndarray, sims: np.ndarray) -> np.ndarray:
        """Ensemble features from :meth:`nearest` output (only the first ``k`` are used)."""
        positions, sims = positions[:, : self.k], sims[:, : self.k]
        found = positions >= 0
        prices = np.where(found, self.reference_y_[np.maximum(positions, 0)], np.nan)
        prior = float(np.mean(self.reference_y_))
        weights = np.where(found, np.exp(20.0 * (sims - sims[:, :1])), 0.0)
        weighted = (np.nan_to_num(prices) * weights).sum(1) / np.maximum(weights.sum(1), 1e-12)
        with np.errstate(all="ignore"):
            columns = [
                np.where(found[:, 0], weighted, prior),
                np.where(found[:, 0], prices[:, 0], prior),
                sims[:, 0],
                _nanmean_or(prices[:, :5], prior),
                _nanstd_or_zero(prices),
                sims.mean(1),
            ]
        return np.column_stack(columns)

    @property
    def feature_names(self) -> list[str]:
        return ["nn_weighted", "nn_top1", "nn_top1_sim", "nn_mean5", "nn_std", "nn_mean_sim"]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        reference = self.reference_.tocsr()
        arrays = {
            **tfidf_arrays(self.vectorizer_),
            "reference.data": reference.data,
            "reference.indices": reference.indices,
            "reference.indptr": reference.indptr,
            "reference.shape": np.array(reference.shape, dtype=np.int64),
            "reference_y": self.reference_y_,
            "reference_ids": self.reference_ids_,
        }
        meta = {
            "k": self.k,
            "max_reference": self.max_reference,
            "max_df": self.max_df,
            "seed": self.random_state,
        }
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Neighbours:
        self = cls(
            k=int(meta["k"]),
            max_reference=int(meta["max_reference"]),
            max_df=float(meta["max_df"]),
            random_state=int(meta["seed"]),
        )
        self.vectorizer_ = restore_tfidf(self._new_vectorizer(), arrays)
        shape = tuple(int(s) for s in arrays["reference.shape"])
        self.reference_ = sp.csr_matrix(
            (arrays["reference.data"], arrays["reference.indices"], arrays["reference.indptr"]),
            shape=shape,
        )
        self.reference_y_ = arrays["reference_y"]
        self.reference_ids_ = arrays["reference_ids"]
        return self


_DENSE_CELLS = 32_000_000  # score cells per chunk of queries (128 MB as float32)


def _top_k_dense(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k_found = min(k, scores.shape[1])
    top = np.argpartition(-scores, k_found - 1, axis=1)[:, :k_found]
    values = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    top, values = np.take_along_axis(top, order, 1), np.take_along_axis(values, order, 1)
    positions = np.full((scores.shape[0], k), -1, dtype=np.int64)
    similarities = np.zeros((scores.shape[0], k))
    positions[:, :k_found] = np.where(values > 0, top, -1)
    similarities[:, :k_found] = np.maximum(values, 0.0)
    return positions, similarities


def _top_k_sparse(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    positions = np.full((scores.shape[0], k), -1, dtype=np.int64)
    similarities = np.zeros((scores.shape[0], k))
    for i in range(scores.shape[0]):
        lo, hi = scores.indptr[i], scores.indptr[i + 1]
        columns, values = scores.indices[lo:hi], scores.data[lo:hi]
        if len(values) > k:
            keep = np.argpartition(-values, k - 1)[:k]
            columns, values = columns[keep], values[keep]
        top = np.argsort(-values, kind="stable")
        positions[i, : len(top)] = columns[top]
        similarities[i, : len(top)] = values[top]
    return positions, similarities


def _nanstd_or_zero(values: np.ndarray) -> np.ndarray:
    counts = np.isfinite(values).sum(1)
    mean = _nanmean_or(values, 0.0)
    squares = np.nansum((values - mean[:, None]) ** 2, axis=1)
    return np.asarray(np.sqrt(squares / np.maximum(counts, 1)), dtype=np.float64)


def _nanmean_or(values: np.ndarray, default: float) -> np.ndarray:
    counts = np.isfinite(values).sum(1)
    totals = np.nansum(values, axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), default)


class KeyEncoding(PriceMember):
    """Smoothed mean log price of listings sharing each key (brand, type, crosses, ...)."""

    kind = "key_encoding"

    def __init__(self, smoothing: float = 5.0) -> None:
        self.smoothing = smoothing

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> dict[str, np.ndarray]:
        keys = listing_keys(listings)
        if fit:
            self.columns_ = list(keys)
        missing = [""] * len(listings)
        return {c: np.asarray(keys.get(c, missing), dtype=object) for c in self.columns_}

    def fit(
        self, representation: dict[str, np.ndarray], y: np.ndarray, ids: np.ndarray
    ) -> KeyEncoding:
        self.encoder_ = TargetEncoder(self.smoothing).fit(representation, y)
        return self

    def predict(self, representation: dict[str, np.ndarray]) -> np.ndarray:
        return self.encoder_.transform(representation)

    @property
    def feature_names(self) -> list[str]:
        return [f"key:{c}:{kind}" for c in self.columns_ for kind in ("mean", "log_count")]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.encoder_.to_arrays()
        return {"encoder": meta, "columns": self.columns_}, arrays

    @classmethod
    def from_arrays(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> KeyEncoding:
        encoder = TargetEncoder.from_arrays(meta["encoder"], arrays)
        self = cls(smoothing=encoder.smoothing)
        self.columns_ = list(meta["columns"])
        self.encoder_ = encoder
        return self


class NameQuantities(PriceMember):
    """Quantities stated in the name (ml, kg, GB, cm, karat, pack of N), as magnitudes.

    Nothing is learned: the blend crosses these with the price estimates and key encodings.
    """

    kind = "name_quantities"

    def encode(self, listings: pd.DataFrame, *, fit: bool = False) -> np.ndarray:
        return name_quantities(listings["name"])

    def fit(self, representation: np.ndarray, y: np.ndarray, ids: np.ndarray) -> NameQuantities:
        return self

    def predict(self, representation: np.ndarray) -> np.ndarray:
        return np.asarray(representation, dtype=np.float64)

    @property
    def feature_names(self) -> list[str]:
        return list(QUANTITY_NAMES)

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> NameQuantities:
        return cls()


MEMBERS: dict[str, type[PriceMember]] = {
    m.kind: m for m in (TextRidge, JoinedTextRidge, Neighbours, KeyEncoding, NameQuantities)
}
