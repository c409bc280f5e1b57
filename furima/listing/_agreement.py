"""Neighbour agreement: a suggested value is likelier right when the nearest catalog photos
carry it too.

A calibrated confidence says how often the classifier is right at that confidence, over every
photo. The catalog's nearest photos tell more about this one: a near copy of a catalog photo
almost always shares that listing's brand and colour, and a value that none of the ten nearest
listings carry is wrong more often than the classifier thinks. Per field and input mode,
fitted on the held-out rows: the calibrated probabilities are mixed with the nearest photos'
votes (a product of experts, weights by likelihood), then a logistic model re-estimates the
top value's confidence from its probability and how the nearest photos agree with it.

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
from furima.listing._calibration import softmax

__all__ = [
    "NEIGHBOURS",
    "AgreementModel",
    "CatalogNeighbours",
    "agreement_features",
    "neighbour_votes",
    "with_top_confidence",
]

NEIGHBOURS = 10  # nearest catalog photos consulted per photo
_SHARPNESS = 10.0  # feature weight exp(sharpness * cosine): the closest photos count most
_VOTE_SHARPNESS = 30.0  # the same for the votes mixed into the probabilities
_MIN_ROWS = 100  # labelled held-out rows needed to fit a field's agreement model
_FOLDS = 5
_MIX_BOUNDS = ((0.0, 10.0), (0.0, 10.0))  # neither expert counts against the other
_FEATURES = (  # the inputs of the confidence model, in order
    "logit confidence",
    "nearest agrees",
    "nearest similarity",
    "weighted vote share",
    "nearest agrees x similarity",
    "vote share x logit confidence",
)


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

    def value_shares(self, field: int, classes: int) -> np.ndarray:
        """Each class's share of the catalog photos with a value of ``field`` (add-one
        smoothed), counted once: the votes lean on it on every request."""
        if field not in self._shares:
            codes = self.codes[:, field]
            counts = np.bincount(codes[codes >= 0], minlength=classes) + 1.0
            self._shares[field] = counts / counts.sum()
        return self._shares[field]

    @cached_property
    def _shares(self) -> dict[int, np.ndarray]:
        return {}

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


def neighbour_votes(
    neighbour_codes: np.ndarray, similarity: np.ndarray, prior: np.ndarray
) -> np.ndarray:
    """``[n, classes]``: the share of the nearest photos' weight that carries each value
    (weights ``exp(30 * cosine)``, relative to the nearest), smoothed toward ``prior`` (the
    catalog's value shares) with the weight of the nearest photo."""
    weights = np.exp(_VOTE_SHARPNESS * (similarity - similarity[:, :1]))
    votes = np.zeros((len(neighbour_codes), len(prior)))
    named = neighbour_codes >= 0
    rows = np.broadcast_to(np.arange(len(neighbour_codes))[:, None], neighbour_codes.shape)
    np.add.at(votes, (rows[named], neighbour_codes[named]), weights[named])
    result: np.ndarray = (votes + prior) / (weights.sum(axis=1, keepdims=True) + 1)
    return result


@dataclass(frozen=True)
class AgreementModel:
    """One field and input kind: how the classifier's probabilities and the nearest photos'
    votes mix (``mix``: the weights of their logarithms, a product of experts), and how often
    the top value of the mix is right (``coefficients``: a logistic model on
    :func:`agreement_features`, intercept first)."""

    mix: np.ndarray
    coefficients: np.ndarray

    @classmethod
    def fit(
        cls,
        probabilities: np.ndarray,
        votes: np.ndarray,
        labels: np.ndarray,
        neighbour_codes: np.ndarray,
        similarity: np.ndarray,
    ) -> tuple[AgreementModel, np.ndarray, np.ndarray] | None:
        """Fitted on labelled held-out rows (``labels``: class codes, negative for a value
        without a class, a miss). Returns the model, the rows' out-of-fold confidences (to
        choose thresholds on) and whether their mixed top value is right; ``None`` when the
        rows, or the rows of one outcome, are too few to learn from."""
        named = labels >= 0
        if len(labels) < _MIN_ROWS or not named.any():
            return None
        mix = _fit_mix(probabilities[named], votes[named], labels[named])
        mixed = _mixed(probabilities, votes, mix)
        top = mixed.argmax(axis=1)
        correct = (top == labels).astype(np.float64)
        if min(correct.sum(), len(correct) - correct.sum()) < _FOLDS:
            return None  # nearly all right (or wrong): too few of one outcome to learn from
        inputs = agreement_features(mixed.max(axis=1), top, neighbour_codes, similarity)
        coefficients, held_out = _fit_logistic(inputs, correct)
        return cls(mix, coefficients), held_out, correct

    def apply(
        self,
        probabilities: np.ndarray,
        votes: np.ndarray,
        neighbour_codes: np.ndarray,
        similarity: np.ndarray,
    ) -> np.ndarray:
        """The rows' probabilities mixed with their votes, the top value's confidence
        re-estimated (each row keeps its total)."""
        mixed = _mixed(probabilities, votes, self.mix)
        inputs = agreement_features(
            mixed.max(axis=1), mixed.argmax(axis=1), neighbour_codes, similarity
        )
        z = self.coefficients[0] + inputs @ self.coefficients[1:]
        return with_top_confidence(mixed, 1 / (1 + np.exp(-z)))

    def to_list(self) -> list[float]:
        return [float(c) for c in (*self.mix, *self.coefficients)]

    @classmethod
    def from_list(cls, values: list[float]) -> AgreementModel:
        if len(values) != len(_FEATURES) + 3:
            raise ValueError(f"an agreement model has {len(_FEATURES) + 3} coefficients.")
        return cls(np.asarray(values[:2], np.float64), np.asarray(values[2:], np.float64))


def _mixed(probabilities: np.ndarray, votes: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """``softmax(mix[0] * log p + mix[1] * log votes)``, scaled to each row's total."""
    total = probabilities.sum(axis=1, keepdims=True)
    logits = mix[0] * np.log(np.clip(probabilities, 1e-12, None)) + mix[1] * np.log(votes)
    result: np.ndarray = softmax(logits) * total
    return result


def _fit_mix(probabilities: np.ndarray, votes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mix weights that minimise the negative log-likelihood of ``labels``."""
    from scipy.optimize import minimize

    rows = np.arange(len(labels))

    def loss(mix: np.ndarray) -> float:
        mixed = _mixed(probabilities, votes, mix)
        return float(-np.mean(np.log(mixed[rows, labels] + 1e-12)))

    found = minimize(loss, np.array([1.0, 0.3]), method="Nelder-Mead", bounds=_MIX_BOUNDS)
    return np.asarray(found.x, dtype=np.float64)


def _fit_logistic(inputs: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic coefficients (intercept first) on all rows, and each row's confidence from the
    model fitted without its fold (5 folds): unbiased for choosing a threshold on them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    model = LogisticRegression(C=1.0, max_iter=2000)
    held_out = cross_val_predict(model, inputs, correct, cv=_FOLDS, method="predict_proba")
    model.fit(inputs, correct)
    return np.concatenate([model.intercept_, model.coef_[0]]), held_out[:, 1]


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
