"""The learned ranker of buyer search: LightGBM LambdaRank over both retrieval signals.

Each candidate of a query (found by BM25, by the title vectors, or both) is described by
:class:`CandidateSignals`: its BM25 score and rank, its cosine similarity and rank, their
reciprocal-rank fusion, which share of the query's terms its title and each catalog field
hold, whether a field's whole value appears in the query (the query names this listing's
colour, type, ...), the title's length and the listing's popularity when known.
:class:`BuyerRanker` learns from graded judgments (search clicks or human labels: 0 = not
relevant, higher = better) to order candidates by those features; one model serves every
query, so it learns what kind of match matters, not which listings are good.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from furima.exceptions import DataError, ModelFormatError, NotFittedError

__all__ = ["BASE_FEATURES", "BuyerRanker", "CandidateSignals", "feature_names"]

BASE_FEATURES = (
    "bm25",
    "bm25_share_of_best",
    "bm25_rank",
    "cosine",
    "cosine_below_best",
    "vector_rank",
    "rrf",
    "any_field_share",
    "matched_idf_share",
    "query_terms",
    "known_term_share",
    "title_length",
    "popularity",
)


def feature_names(fields: Sequence[str], title: str = "title") -> tuple[str, ...]:
    """The ranker's feature columns for a search whose lexical fields are ``fields``."""
    per_field = [f"share_{name}" for name in fields]
    covered = [f"covered_{name}" for name in fields if name != title]
    return (*BASE_FEATURES, *per_field, *covered)


@dataclass
class CandidateSignals:
    """What retrieval knows about one query's candidates (arrays aligned with them).

    Attributes:
        bm25: BM25 score (0: no term matched).
        bm25_rank: 1-based rank in the BM25 list (depth + 1 when not in it).
        cosine: Cosine similarity of the title vector to the query's.
        vector_rank: 1-based rank in the vector list (depth + 1 when not in it).
        rrf: Reciprocal-rank fusion of the two lists.
        field_hits: Per lexical field, the query's distinct terms the field holds.
        field_lengths: Per lexical field, the field's distinct terms.
        any_hits: The query's distinct terms found in any field.
        idf_share: Their share of the query's IDF weight.
        query_terms: The query's distinct terms.
        known_terms: Of those, the terms some listing holds.
        popularity: Popularity per candidate (NaN: unknown).
    """

    bm25: np.ndarray
    bm25_rank: np.ndarray
    cosine: np.ndarray
    vector_rank: np.ndarray
    rrf: np.ndarray
    field_hits: dict[str, np.ndarray]
    field_lengths: dict[str, np.ndarray]
    any_hits: np.ndarray
    query_terms: int
    known_terms: int
    idf_share: np.ndarray = field(default_factory=lambda: np.empty(0))
    popularity: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __len__(self) -> int:
        return len(self.bm25)

    def matrix(self, names: Sequence[str], title: str = "title") -> np.ndarray:
        """Features as float32 ``[candidates, len(names)]`` in the order of ``names``."""
        n, terms = len(self), max(self.query_terms, 1)
        columns = self._base(n, terms)
        for name, hits in self.field_hits.items():
            columns[f"share_{name}"] = hits / terms
            if name != title:
                length = self.field_lengths[name]
                columns[f"covered_{name}"] = ((hits >= length) & (length > 0)).astype(np.float32)
        missing = [name for name in names if name not in columns]
        if missing:
            raise ModelFormatError(
                f"the ranker reads features {missing} that this search does not compute; "
                "train the ranker on this search (fit_ranker)."
            )
        return np.column_stack([columns[name] for name in names]).astype(np.float32)

    def _base(self, n: int, terms: int) -> dict[str, np.ndarray]:
        best_bm25 = float(self.bm25.max()) if n else 0.0
        best_cosine = float(self.cosine.max()) if n else 0.0
        title = self.field_lengths.get("title", np.zeros(n))
        popularity = self.popularity if len(self.popularity) == n else np.full(n, np.nan)
        return {
            "bm25": self.bm25,
            "bm25_share_of_best": self.bm25 / best_bm25 if best_bm25 > 0 else np.zeros(n),
            "bm25_rank": self.bm25_rank,
            "cosine": self.cosine,
            "cosine_below_best": best_cosine - self.cosine,
            "vector_rank": self.vector_rank,
            "rrf": self.rrf,
            "any_field_share": self.any_hits / terms,
            "matched_idf_share": self.idf_share if len(self.idf_share) == n else np.zeros(n),
            "query_terms": np.full(n, self.query_terms, np.float32),
            "known_term_share": np.full(n, self.known_terms / terms, np.float32),
            "title_length": title,
            "popularity": popularity,
        }


class BuyerRanker:
    """LightGBM LambdaRank over :class:`CandidateSignals` features.

    Args:
        n_estimators: Most boosting rounds (early stopping on held-out queries picks fewer).
        learning_rate: Boosting step.
        num_leaves: Leaves per tree.
        min_child_samples: Fewest candidates per leaf.
        validation_share: Share of the queries held out for early stopping.
        seed: Seeds LightGBM and the held-out split.
        threads: LightGBM threads for training (None: LightGBM's default); scoring one
            query always uses one.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        validation_share: float = 0.15,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.validation_share = validation_share
        self.seed = seed
        self.threads = threads
        self.features_: tuple[str, ...] = ()
        self.booster_: Any = None
        self.best_iteration_: int = 0

    @property
    def is_fitted(self) -> bool:
        return self.booster_ is not None

    def get_params(self) -> dict[str, Any]:
        """Settings as a JSON-able dict (saved in the search's manifest)."""
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "validation_share": self.validation_share,
            "seed": self.seed,
            "threads": self.threads,
        }

    def fit(
        self,
        features: np.ndarray,
        grades: np.ndarray,
        groups: np.ndarray,
        names: Sequence[str],
    ) -> BuyerRanker:
        """Learn from candidates grouped by query (``groups``: candidates per query, in row
        order) with integer ``grades`` (0 = not relevant)."""
        import lightgbm

        grades = _check_grades(grades, len(features))
        if groups.sum() != len(features) or len(names) != features.shape[1]:
            raise DataError(
                f"got {len(features)} candidates, groups summing to {int(groups.sum())} and "
                f"{len(names)} feature names for {features.shape[1]} columns."
            )
        train, valid = self._split(groups)
        model = lightgbm.LGBMRanker(
            objective="lambdarank",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.seed,
            n_jobs=self.threads if self.threads is not None else -1,
            label_gain=[float(2**g - 1) for g in range(int(grades.max()) + 1)],
            verbose=-1,
        )
        rows = _rows_of(groups)
        fit_args: dict[str, Any] = {}
        if valid.any():
            fit_args = {
                "eval_X": (features[rows[valid]],),
                "eval_y": (grades[rows[valid]],),
                "eval_group": [groups[valid]],
                "eval_at": [10],
                "callbacks": [lightgbm.early_stopping(40, verbose=False)],
            }
        model.fit(features[rows[train]], grades[rows[train]], group=groups[train], **fit_args)
        self.booster_ = model.booster_
        self.best_iteration_ = int(model.best_iteration_ or self.n_estimators)
        self.features_ = tuple(names)
        return self

    def _split(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(train, valid) masks over queries; no validation below 20 queries."""
        valid = np.zeros(len(groups), bool)
        held = int(len(groups) * self.validation_share)
        if len(groups) >= 20 and held:
            valid[np.random.default_rng(self.seed).permutation(len(groups))[:held]] = True
        return ~valid, valid

    def score(self, features: np.ndarray) -> np.ndarray:
        """One score per candidate, comparable within a query; higher first."""
        if self.booster_ is None:
            raise NotFittedError("the buyer ranker is not fitted; call fit() or fit_ranker().")
        if not len(features):
            return np.zeros(0, np.float64)
        scores = self.booster_.predict(features, num_iteration=self.best_iteration_, num_threads=1)
        return np.asarray(scores, dtype=np.float64)

    def model_text(self) -> str:
        """The LightGBM model as text (its own open format)."""
        if self.booster_ is None:
            raise NotFittedError("the buyer ranker is not fitted; nothing to save.")
        return str(self.booster_.model_to_string(num_iteration=self.best_iteration_))

    @classmethod
    def from_text(
        cls, text: str, features: Sequence[str], params: Mapping[str, Any]
    ) -> BuyerRanker:
        """A fitted ranker from :meth:`model_text` and its feature names."""
        import lightgbm

        ranker = cls(**params)
        try:
            ranker.booster_ = lightgbm.Booster(model_str=text)
        except lightgbm.basic.LightGBMError as error:
            raise ModelFormatError(f"the saved ranker model is damaged ({error}).") from error
        ranker.best_iteration_ = int(ranker.booster_.current_iteration())
        ranker.features_ = tuple(features)
        return ranker


def _check_grades(grades: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(grades, dtype=np.float64)
    if len(values) != n:
        raise DataError(f"got {len(values)} grades for {n} candidates.")
    if np.isnan(values).any() or (values < 0).any() or (values % 1 != 0).any():
        raise DataError("relevance grades must be whole numbers >= 0 (0: not relevant).")
    if values.max(initial=0) > 30:
        raise DataError(f"relevance grades go up to 30, but got {values.max():g}.")
    return values.astype(np.int32)


def _rows_of(groups: np.ndarray) -> _Rows:
    """Row positions of each query, as an object array indexable by a query mask."""
    bounds = np.cumsum(np.r_[0, groups])
    out = np.empty(len(groups), dtype=object)
    out[:] = [np.arange(a, b) for a, b in itertools.pairwise(bounds)]
    return _Rows(out)


class _Rows:
    """Row positions of queries; ``rows[mask]`` gives the rows of the chosen queries."""

    def __init__(self, parts: np.ndarray) -> None:
        self.parts = parts

    def __getitem__(self, mask: np.ndarray) -> np.ndarray:
        chosen = self.parts[mask]
        return np.concatenate(list(chosen)) if len(chosen) else np.zeros(0, np.int64)
