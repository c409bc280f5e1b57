"""Candidate-generator scores and embedding similarity as ranking features.

The generators (item-kNN, ALS, popularity) score *histories*; a ranking row takes its
request's history (the user's items before the request) and reads the score of its candidate.
Requests are scored in batches, so one generator pass serves every candidate of a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.recommend._base import CandidateGenerator

__all__ = ["GeneratorScores"]

_BATCH = 128  # requests scored at once: [batch, n_items] floats in memory


class GeneratorScores:
    """Fitted generators and the feature columns they give: ``gen_<name>`` per generator and
    ``als_similarity`` (cosine of the candidate's ALS factors with the history's mean) when
    ALS is among them. Without events to fit on, the columns are NaN."""

    def __init__(self, generators: Sequence[str], als_factors: int = 32, seed: int = 0) -> None:
        self.generators = tuple(generators)
        self.als_factors = als_factors
        self.seed = seed
        self.fitted_: dict[str, CandidateGenerator] = {}

    @property
    def names(self) -> tuple[str, ...]:
        similarity = ("als_similarity",) if "als" in self.generators else ()
        return (*[f"gen_{name}" for name in self.generators], *similarity)

    def fit(self, interactions: Interactions) -> Self:
        """Fit each generator on ``interactions`` (none when there are no events)."""
        self.fitted_ = {}
        if len(interactions) == 0:
            return self
        for name in self.generators:
            self.fitted_[name] = self._make(name).fit(interactions)
        return self

    def _make(self, name: str) -> CandidateGenerator:
        from furima.recommend._recommender import make_generator

        if name == "als":
            return make_generator("als", factors=self.als_factors, seed=self.seed)
        return make_generator(name)

    def top(self, histories: Sequence[np.ndarray], k: int) -> np.ndarray:
        """Each history's ``k`` best items by the summed standardised generator scores,
        its own items left out (``-1`` pads); ``[len(histories), k]``."""
        from furima.recommend._base import mask_scores, top_k

        out = np.full((len(histories), k), -1, np.int64)
        if not self.fitted_ or not len(histories):
            return out
        for start in range(0, len(histories), _BATCH):
            batch = list(histories[start : start + _BATCH])
            total = sum(_standardised(s) for s in self._batch_scores(batch).values())
            assert isinstance(total, np.ndarray)
            mask_scores(total, batch, None)
            ids, _ = top_k(total, k)
            out[start : start + len(batch)] = ids
        return out

    def columns(
        self, items: np.ndarray, request_of: np.ndarray, histories: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """One column per :attr:`names` for rows of candidate ``items`` whose request
        (index into ``histories``) is ``request_of``."""
        out = [np.full(len(items), np.nan, np.float32) for _ in self.names]
        if not self.fitted_:
            return out
        order = np.argsort(request_of, kind="stable")
        bounds = np.searchsorted(request_of[order], np.arange(0, len(histories) + _BATCH, _BATCH))
        for index, start in enumerate(range(0, len(histories), _BATCH)):
            rows = order[bounds[index] : bounds[index + 1]]
            if len(rows):
                batch = list(histories[start : start + _BATCH])
                self._fill(out, rows, items[rows], request_of[rows] - start, batch)
        return out

    def _fill(
        self,
        out: list[np.ndarray],
        rows: np.ndarray,
        items: np.ndarray,
        local: np.ndarray,
        batch: list[np.ndarray],
    ) -> None:
        empty = np.array([len(h) == 0 for h in batch])[local]
        for name, scores in self._batch_scores(batch).items():
            column = self.generators.index(name)
            out[column][rows] = np.where(empty, np.nan, scores[local, items])
        if "als" in self.fitted_:
            similarity = _similarity(self.fitted_["als"], items, local, batch)
            out[-1][rows] = np.where(empty, np.nan, similarity)

    def _batch_scores(self, batch: list[np.ndarray]) -> dict[str, np.ndarray]:
        safe = [h if len(h) else np.zeros(1, np.int64) for h in batch]
        return {name: g.score(safe) for name, g in self.fitted_.items()}

    # ------------------------------------------------------------------ saving
    def get_state(self) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
        """Parameters and each fitted generator's ``(params, arrays)`` as plain data."""
        described: dict[str, Any] = {}
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for name, generator in self.fitted_.items():
            params, state = generator.get_state()
            described[name] = params
            arrays[name] = state
        params = {
            "generators": list(self.generators),
            "als_factors": self.als_factors,
            "seed": self.seed,
            "fitted": described,
        }
        return params, arrays

    @classmethod
    def from_state(
        cls, params: dict[str, Any], arrays: dict[str, dict[str, np.ndarray]]
    ) -> GeneratorScores:
        from furima.recommend._recommender import generator_class

        scores = cls(params["generators"], params["als_factors"], params["seed"])
        fitted = params["fitted"]  # a JSON object: its keys may come back sorted
        scores.fitted_ = {
            name: generator_class(name).from_state(fitted[name], arrays[name])
            for name in scores.generators
            if name in fitted
        }
        return scores


def _standardised(scores: np.ndarray) -> np.ndarray:
    mean = scores.mean(axis=1, keepdims=True)
    spread = scores.std(axis=1, keepdims=True)
    return np.asarray((scores - mean) / np.where(spread > 0, spread, 1.0), np.float32)


def _similarity(
    als: CandidateGenerator, items: np.ndarray, local: np.ndarray, batch: list[np.ndarray]
) -> np.ndarray:
    factors = np.asarray(als.item_factors_, np.float32)  # type: ignore[attr-defined]
    width = factors.shape[1]
    means = np.stack(
        [_unit(factors[h]).mean(axis=0) if len(h) else np.zeros(width, np.float32) for h in batch]
    )
    similarity: np.ndarray = np.einsum("ij,ij->i", _unit(factors[items]), _unit(means)[local])
    return similarity


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.where(norms > 0, norms, 1.0)
    return unit
