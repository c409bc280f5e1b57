"""Product matching: are two listings the same product, worded differently?

:class:`ProductMatcher` scores pairs of listings with gradient-boosted trees (LightGBM) over
pair signals: sentence-embedding and TF-IDF similarity, word overlap, model-number, number,
brand and price agreement (:mod:`furima.safety._pair_features`), and two sparse pair models
that learn which shared or one-sided words matter (:mod:`furima.safety._pair_models`). The
decision threshold maximises F1 on validation pairs (or on cross-validated training pairs).
Candidates for a new listing come from a vector index over text embeddings, so checking it
against a large catalog compares it with its ``k`` nearest listings only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from furima.exceptions import DataError, NotFittedError
from furima.safety._listing_tokens import read_tokens
from furima.safety._match_reasons import MatchExplanation, explain_signals
from furima.safety._pair_features import LEXICAL_FEATURES, PairSide, lexical_features
from furima.safety._pair_input import check_labels, check_pairs, pair_side
from furima.safety._pair_models import PAIR_MODELS, SparsePairModel, out_of_fold
from furima.safety._pair_similarity import (
    EMBEDDING_FEATURES,
    TFIDF_FEATURES,
    CachedEncoder,
    TfidfViews,
    embedding_cosines,
)

if TYPE_CHECKING:
    import lightgbm

    from furima.features import Encoder

__all__ = ["ProductMatcher"]

Pairs = tuple[pd.DataFrame, pd.DataFrame, Any]


class ProductMatcher:
    """Whether two listings are the same product: trained on labelled pairs.

    Listings are frames in furima's vocabulary: ``name`` (required), and optional
    ``description``, ``brand`` and ``price``. Row ``i`` of ``left`` pairs with row ``i`` of
    ``right``.

    Args:
        encoder: Sentence encoder for embedding similarity and for :meth:`candidate_pairs`
            (default: :class:`~furima.features.MiniLMEncoder`).
        embeddings: Use embedding cosines as signals (``False``: lexical and TF-IDF signals
            only; faster, and no encoder is loaded unless :meth:`candidate_pairs` needs it).
        folds: Folds for the out-of-fold sparse-model probabilities the trees learn from,
            and for choosing the threshold when ``fit`` gets no validation pairs.
        n_estimators, learning_rate, num_leaves: LightGBM's trees.
        seed: Seeds the folds and LightGBM's row and column sampling.
        threads: Threads for LightGBM (default: LightGBM's own choice).
    """

    def __init__(
        self,
        *,
        encoder: Encoder | None = None,
        embeddings: bool = True,
        folds: int = 5,
        n_estimators: int = 400,
        learning_rate: float = 0.03,
        num_leaves: int = 31,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.embeddings = embeddings
        self.folds = folds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.seed = seed
        self.threads = threads

    # -- fitting -------------------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The signals the trees see, in column order."""
        dense = LEXICAL_FEATURES + TFIDF_FEATURES
        dense += EMBEDDING_FEATURES if self.embeddings else ()
        return dense + tuple(f"{view}_model" for view in PAIR_MODELS)

    def fit(
        self, left: pd.DataFrame, right: pd.DataFrame, labels: Any, *, valid: Pairs | None = None
    ) -> Self:
        """Learn from labelled pairs (1: same product); pick the threshold on ``valid``.

        Without ``valid`` the threshold maximises F1 over cross-validated training pairs.
        """
        first, second = check_pairs(left, right)
        targets = check_labels(labels, len(first))
        if valid is not None:
            checked_valid = self._checked_valid(valid)
        self._views_ = TfidfViews().fit([first, second])
        stacked = self._fit_pair_models(first, second, targets)
        features = np.column_stack([self._dense(first, second), stacked])
        self._booster_ = self._train_trees(features, targets)
        if valid is None:
            self.threshold_ = self._cross_validated_threshold(features, targets)
        else:
            probabilities = self._probabilities(*checked_valid[:2])
            self.threshold_ = best_f1_threshold(checked_valid[2], probabilities)
        return self

    def _checked_valid(self, valid: Pairs) -> tuple[PairSide, PairSide, np.ndarray]:
        if not isinstance(valid, tuple) or len(valid) != 3:
            raise DataError("`valid` must be a tuple (left, right, labels) of validation pairs.")
        first, second = check_pairs(valid[0], valid[1])
        return first, second, check_labels(valid[2], len(first))

    def _fit_pair_models(self, first: PairSide, second: PairSide, labels: np.ndarray) -> np.ndarray:
        self._pair_models_: dict[str, SparsePairModel] = {}
        columns = []
        for view in PAIR_MODELS:
            model = SparsePairModel(view, seed=self.seed)
            try:
                rows = model.fit_view(first, second).matrix(first, second)
            except ValueError as error:  # an empty vocabulary: too few pairs
                raise DataError(
                    f"Too few training pairs to learn the {view} view ({error}). "
                    "Give the matcher more labelled pairs (a few hundred at least)."
                ) from error
            columns.append(out_of_fold(model, rows, labels, self._fold_count(labels)))
            self._pair_models_[view] = model.fit_weights(rows, labels)
        return np.column_stack(columns)

    def _fold_count(self, labels: np.ndarray) -> int:
        smallest = int(min(labels.sum(), len(labels) - labels.sum()))
        if smallest < 2:
            raise DataError(
                f"Only {smallest} pair(s) of the rarer class: cross-validation needs at least "
                "two matching and two non-matching pairs. Add labelled pairs."
            )
        return max(2, min(self.folds, smallest))

    def _tree_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": 10,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "random_state": self.seed,
            "n_jobs": self.threads or 0,
            "verbose": -1,
        }

    def _train_trees(self, features: np.ndarray, labels: np.ndarray) -> lightgbm.Booster:
        import lightgbm

        classifier = lightgbm.LGBMClassifier(**self._tree_params())
        classifier.fit(pd.DataFrame(features, columns=list(self.feature_names)), labels)
        booster: lightgbm.Booster = classifier.booster_
        return booster

    def _cross_validated_threshold(self, features: np.ndarray, labels: np.ndarray) -> float:
        from sklearn.model_selection import StratifiedKFold

        predictions = np.empty(len(labels), dtype=np.float64)
        splitter = StratifiedKFold(self._fold_count(labels), shuffle=True, random_state=self.seed)
        for train, held_out in splitter.split(features, labels):
            booster = self._train_trees(features[train], labels[train])
            predictions[held_out] = booster.predict(features[held_out])
        return best_f1_threshold(labels, predictions)

    # -- scoring -------------------------------------------------------------------------

    def _encoder(self) -> CachedEncoder:
        cached: CachedEncoder | None = getattr(self, "_cached_encoder", None)
        if cached is None:
            from furima.features import MiniLMEncoder

            cached = CachedEncoder(self.encoder or MiniLMEncoder())
            self._cached_encoder = cached
        return cached

    def _dense(self, first: PairSide, second: PairSide) -> np.ndarray:
        parts = [lexical_features(first, second), self._views_.cosines(first, second)]
        if self.embeddings:
            parts.append(embedding_cosines(self._encoder(), first, second))
        return np.column_stack(parts)

    def _features(self, first: PairSide, second: PairSide) -> np.ndarray:
        stacked = [
            model.predict_rows(model.matrix(first, second)) for model in self._pair_models_.values()
        ]
        return np.column_stack([self._dense(first, second), *stacked])

    def _probabilities(self, first: PairSide, second: PairSide) -> np.ndarray:
        return np.asarray(self._booster_.predict(self._features(first, second)), dtype=np.float64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "_booster_"):
            raise NotFittedError(
                "This ProductMatcher is not fitted yet: call fit(left, right, labels) first, "
                "or ProductMatcher.read(folder, description) to load a saved one."
            )

    def predict_proba(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """Probability that row ``i`` of ``left`` and of ``right`` are the same product."""
        self._check_fitted()
        return self._probabilities(*check_pairs(left, right))

    def predict(self, left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
        """``True`` where a pair is the same product (probability at or above the threshold)."""
        return self.predict_proba(left, right) >= self.threshold_

    def explain(self, left_row: Any, right_row: Any) -> MatchExplanation:
        """One pair's probability, and the signals that agree and disagree with a match.

        Args:
            left_row, right_row: One listing each: a Series, a mapping, or a one-row frame.
        """
        self._check_fitted()
        first, second = check_pairs(
            _one_row(left_row, "left_row"), _one_row(right_row, "right_row")
        )
        features = self._features(first, second)
        probability = float(self._booster_.predict(features)[0])
        signals = dict(zip(self.feature_names, features[0].tolist(), strict=True))
        agree, disagree = explain_signals(
            signals,
            (read_tokens(first.names[0]), read_tokens(second.names[0])),
            (first.brands[0], second.brands[0]),
            (float(first.prices[0]), float(second.prices[0])),
        )
        return MatchExplanation(
            probability,
            self.threshold_,
            probability >= self.threshold_,
            tuple(agree),
            tuple(disagree),
            {name: value for name, value in signals.items() if not math.isnan(value)},
        )

    # -- candidates ----------------------------------------------------------------------

    def encode_listings(self, listings: pd.DataFrame) -> np.ndarray:
        """Unit-length text vectors (title and description) for a catalog's vector index."""
        side = pair_side(listings, "listings")
        return self._encoder().encode(side.texts)

    def candidate_pairs(
        self,
        listings: pd.DataFrame,
        catalog_ids: Any,
        catalog_vectors: Any,
        *,
        k: int = 10,
        catalog: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """The ``k`` catalog listings nearest to each listing: the pairs worth scoring.

        Args:
            listings: New listings (name, optional description, brand, price).
            catalog_ids: int64 ids of the catalog's listings (ignored when
                ``catalog_vectors`` is a :class:`~furima.index.VectorIndex`).
            catalog_vectors: ``[n, dim]`` vectors from :meth:`encode_listings`, or a
                :class:`~furima.index.VectorIndex` already holding them (reused across calls,
                so a large catalog is indexed once).
            k: Candidates per listing.
            catalog: The catalog's listings indexed by id; when given (and the matcher is
                fitted) every candidate is scored: columns ``probability`` and ``match``.

        Returns:
            One row per candidate: ``listing`` (the index label in ``listings``),
            ``candidate_id``, ``similarity`` (text-embedding cosine), ``rank`` (0: nearest).
        """
        from furima.safety._candidates import catalog_index, nearest_pairs

        index = catalog_index(catalog_ids, catalog_vectors)
        pairs = nearest_pairs(index, listings, self.encode_listings(listings), k)
        if catalog is None:
            return pairs
        candidates = _catalog_rows(catalog, pairs["candidate_id"].to_numpy())
        queries = listings.loc[pairs["listing"]].reset_index(drop=True)
        probabilities = self.predict_proba(queries, candidates)
        return pairs.assign(probability=probabilities, match=probabilities >= self.threshold_)

    # -- persistence ---------------------------------------------------------------------

    def write(self, folder: Path) -> dict[str, Any]:
        """Write the fitted matcher's files into ``folder``; return what :meth:`read` needs."""
        from furima.safety._matcher_files import write_matcher

        self._check_fitted()
        arrays = self._views_.to_arrays()
        for model in self._pair_models_.values():
            arrays |= model.to_arrays()
        return write_matcher(Path(folder), self._booster_, arrays, self._description())

    def _description(self) -> dict[str, Any]:
        return {
            "threshold": float(self.threshold_),
            "features": list(self.feature_names),
            "embeddings": self.embeddings,
            "encoder": self._encoder().name if self.embeddings else None,
            "params": {
                "folds": self.folds,
                "n_estimators": self.n_estimators,
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "seed": self.seed,
            },
        }

    @classmethod
    def read(
        cls, folder: Path, description: Mapping[str, Any], *, encoder: Encoder | None = None
    ) -> ProductMatcher:
        """The matcher that :meth:`write` put in ``folder``.

        Args:
            folder: The folder written to.
            description: What :meth:`write` returned.
            encoder: The sentence encoder it was fitted with, when not the default MiniLM.
        """
        from furima.safety._matcher_files import read_matcher

        booster, arrays, checked = read_matcher(Path(folder), description, encoder)
        matcher = cls(encoder=encoder, embeddings=checked["embeddings"], **checked["params"])
        matcher._views_ = TfidfViews.from_arrays(arrays)
        matcher._pair_models_ = {
            view: SparsePairModel.from_arrays(view, arrays) for view in PAIR_MODELS
        }
        matcher._booster_ = booster
        matcher.threshold_ = float(checked["threshold"])
        return matcher


def best_f1_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The probability cut (predict match at or above it) with the highest F1 on ``labels``."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, probabilities)
    scores = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(scores[:-1]))])


def _one_row(row: Any, role: str) -> pd.DataFrame:
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise DataError(f"`{role}` must be one listing, but the frame has {len(row)} rows.")
        return row.reset_index(drop=True)
    if isinstance(row, pd.Series | Mapping):
        return pd.DataFrame([dict(row)])
    raise DataError(
        f"`{role}` must be a listing as a Series, a mapping or a one-row DataFrame, "
        f"but got {type(row).__name__}."
    )


def _catalog_rows(catalog: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    missing = ~pd.Index(ids).isin(catalog.index)
    if missing.any():
        raise DataError(
            f"{int(missing.sum())} candidate id(s) are not in `catalog`'s index (first: "
            f"{ids[missing][0]}). Index `catalog` by the same ids as `catalog_ids`, e.g. "
            "catalog.set_index('listing_id')."
        )
    return catalog.loc[ids].reset_index(drop=True)
