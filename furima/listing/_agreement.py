"""Neighbour agreement: a suggested value is likelier right when the nearest catalog photos
carry it too.

A calibrated confidence says how often the classifier is right at that confidence, over every
photo. The catalog's nearest photos tell more about this one: a near copy of a catalog photo
almost always shares that listing's brand and colour, and a value that none of the ten nearest
listings carry is wrong more often than the classifier thinks. Per field and input mode, a
logistic model fitted on the held-out rows re-estimates the top value's confidence from the
calibrated confidence and that agreement (on Myntra 44k: 80.5% of fields filled at 95%
precision, against 78.0% from the calibrated confidence alone).

Neighbours are looked up in the classifier's own hidden layer (a photo-only pass), among the
photos it learned from and the held-out ones, never in the similar-listing pool: the pool's
embedding is trained on every catalog listing, the held-out rows included, so their
neighbours there would agree more than a new photo's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from furima.features import l2_normalise

__all__ = [
    "NEIGHBOURS",
    "AgreementModel",
    "CatalogNeighbours",
    "agreement_features",
    "with_top_confidence",
]

NEIGHBOURS = 10  # nearest catalog photos consulted per photo
_SHARPNESS = 10.0  # vote weight exp(sharpness * cosine): the closest photos count most
_MIN_ROWS = 100  # labelled held-out rows needed to fit a field's agreement model
_FEATURES = ("logit confidence", "nearest agrees", "nearest similarity", "weighted vote share",
             "nearest agrees x similarity", "vote share x logit confidence")  # fmt: skip


@dataclass(frozen=True)
class CatalogNeighbours:
    """Unit vectors of the catalog's photos and each one's label codes per field.

    ``codes`` are the classifier's class codes (``-1`` unknown, ``-2`` a value it has no class
    for); ``vectors`` are stored as float16 (they are saved with the classifier).
    """

    vectors: np.ndarray  # [rows, dim] float16, unit rows
    codes: np.ndarray  # [rows, fields] int

    @classmethod
    def of(cls, vectors: np.ndarray, codes: np.ndarray) -> CatalogNeighbours:
        return cls(l2_normalise(vectors).astype(np.float16), codes.astype(np.int32))

    def __len__(self) -> int:
        return len(self.vectors)

    def search(
        self, vectors: np.ndarray, *, own: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``[n, k]`` and cosine similarities of each row's nearest catalog photos;
        ``own``: each row's own position in the catalog (left out), or -1."""
        k = min(NEIGHBOURS, len(self) - (own is not None))
        queries = l2_normalise(np.asarray(vectors, dtype=np.float32))
        similarity, positions = self._index.search(queries, k + (own is not None))
        if own is None:
            return positions, similarity
        keep = positions != own[:, None]
        keep[keep.all(axis=1), -1] = False  # not found among them: drop the farthest
        return positions[keep].reshape(-1, k), similarity[keep].reshape(-1, k)

    @cached_property
    def _index(self) -> Any:
        import faiss

        # Held as float16 inside the index too: exact for these vectors, half the memory.
        dim = self.vectors.shape[1]
        index = faiss.IndexScalarQuantizer(
            dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        index.add(np.ascontiguousarray(self.vectors, dtype=np.float32))
        return index


def agreement_features(
    confidence: np.ndarray,
    predicted: np.ndarray,
    neighbour_codes: np.ndarray,
    similarity: np.ndarray,
) -> np.ndarray:
    """``[n, 6]`` inputs of :class:`AgreementModel`, in the order of ``_FEATURES``.

    ``confidence`` and ``predicted`` are the top value per row, ``neighbour_codes`` ``[n, k]``
    the field's codes of its nearest catalog photos, ``similarity`` their cosines.
    """
    clipped = np.clip(confidence, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    agrees = neighbour_codes == predicted[:, None]
    weights = np.exp(_SHARPNESS * (similarity - similarity[:, :1]))
    share = (weights * agrees).sum(axis=1) / weights.sum(axis=1)
    nearest = agrees[:, 0].astype(np.float64)
    return np.stack(
        [logit, nearest, similarity[:, 0], share, nearest * similarity[:, 0], share * logit],
        axis=1,
    )


@dataclass(frozen=True)
class AgreementModel:
    """Logistic model of "the top value is right" (intercept first, then one weight per
    feature of :func:`agreement_features`)."""

    coefficients: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, correct: np.ndarray) -> AgreementModel | None:
        """Fitted on held-out rows; ``None`` when they are too few or all right (or all wrong)
        to learn from."""
        from sklearn.linear_model import LogisticRegression

        if len(correct) < _MIN_ROWS or correct.min() == correct.max():
            return None
        model = LogisticRegression(C=1.0, max_iter=2000).fit(features, correct)
        return cls(np.concatenate([model.intercept_, model.coef_[0]]))

    def confidence(self, features: np.ndarray) -> np.ndarray:
        z = self.coefficients[0] + features @ self.coefficients[1:]
        result: np.ndarray = 1 / (1 + np.exp(-z))
        return result

    def to_list(self) -> list[float]:
        return [float(c) for c in self.coefficients]

    @classmethod
    def from_list(cls, values: list[float]) -> AgreementModel:
        if len(values) != len(_FEATURES) + 1:
            raise ValueError(f"an agreement model has {len(_FEATURES) + 1} coefficients.")
        return cls(np.asarray(values, dtype=np.float64))


def with_top_confidence(probabilities: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """``probabilities`` with each row's top value set to ``confidence`` (at most the row's
    total), keeping the ranking: a lowered top lowers every value by the same factor (less
    sure of the whole row; the rest is "none of these"), a raised top takes its gain from the
    others in their proportions."""
    rows = np.arange(len(probabilities))
    top = probabilities.argmax(axis=1)
    total = probabilities.sum(axis=1)
    before = np.clip(probabilities[rows, top], 1e-12, None)
    confidence = np.minimum(confidence, total)
    others = np.clip(total - before, 1e-12, None)
    scale = np.where(confidence <= before, confidence / before, (total - confidence) / others)
    result: np.ndarray = probabilities * scale[:, None]
    result[rows, top] = confidence
    return result
