"""Sparse pair models: logistic regressions that learn which words and fragments matter.

Fixed similarities weigh every shared word alike; these models learn from labelled pairs
that a shared model name means more than a shared "black", and that "upgrade" or "mac" on
one side only means another edition. Two views:

- ``words``: each word as "in both listings" or "in one only" (binary), over full texts;
- ``chars``: character 2-4-grams of the titles (TF-IDF), as the element-wise product of the
  two rows (shared fragments) and their absolute difference (fragments on one side only).

Their probabilities feed the gradient-boosted matcher; during ``fit`` it sees out-of-fold
probabilities, so it does not trust them more than they deserve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from furima.features import restore_tfidf, tfidf_arrays
from furima.safety._listing_tokens import read_tokens
from furima.safety._pair_features import PairSide

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["PAIR_MODELS", "SparsePairModel", "out_of_fold"]

PAIR_MODELS = ("words", "chars")
_STRENGTH = {"words": 1.0, "chars": 3.0}  # inverse L2 strength (C) of each view
_WORD_PATTERN = r"\S+"


def _word_documents(left: PairSide, right: PairSide) -> list[str]:
    documents = []
    for first, second in zip(left.texts, right.texts, strict=True):
        words_a, words_b = set(read_tokens(first).words), set(read_tokens(second).words)
        shared = sorted(words_a & words_b)
        one_side = sorted(words_a ^ words_b)
        documents.append(" ".join([f"B_{w}" for w in shared] + [f"D_{w}" for w in one_side]))
    return documents


def _new_vectorizer(view: str, terms: np.ndarray | None = None) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    if view == "words":
        vocabulary = None if terms is None else terms.tolist()
        return CountVectorizer(
            token_pattern=_WORD_PATTERN,
            lowercase=False,
            binary=True,
            min_df=2,
            vocabulary=vocabulary,
            dtype=np.float64,
        )
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)


class SparsePairModel:
    """One view (``"words"`` or ``"chars"``) and the logistic regression over it."""

    def __init__(self, view: str, *, seed: int = 0) -> None:
        self.view = view
        self.seed = seed
        self._vectorizer: Any = None
        self._coef: np.ndarray | None = None
        self._intercept = 0.0

    def fit_view(self, left: PairSide, right: PairSide) -> SparsePairModel:
        """Fit the vocabulary (and idf) on training pairs."""
        self._vectorizer = _new_vectorizer(self.view)
        if self.view == "words":
            self._vectorizer.fit(_word_documents(left, right))
        else:
            self._vectorizer.fit(sorted(set(left.names) | set(right.names)))
        return self

    def matrix(self, left: PairSide, right: PairSide) -> sp.csr_matrix:
        """The pairs as sparse rows of this view."""
        import scipy.sparse as sp

        if self.view == "words":
            return sp.csr_matrix(self._vectorizer.transform(_word_documents(left, right)))
        first = self._vectorizer.transform(left.names)
        second = self._vectorizer.transform(right.names)
        return sp.hstack([first.multiply(second), abs(first - second)]).tocsr()

    def fit_weights(self, rows: sp.csr_matrix, labels: np.ndarray) -> SparsePairModel:
        """Fit the logistic regression on ``rows`` (from :meth:`matrix`)."""
        regression = _regression(self.view, self.seed).fit(rows, labels)
        self._coef = regression.coef_.ravel().astype(np.float64)
        self._intercept = float(regression.intercept_[0])
        return self

    def predict_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        """Probability of a match for each row."""
        if self._coef is None:
            raise RuntimeError("fit_weights() first")
        logits = rows @ self._coef + self._intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Learned state, for ``np.savez`` (prefixed by the view's name)."""
        prefix = f"{self.view}."
        if self.view == "words":
            vocabulary = self._vectorizer.vocabulary_
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            arrays = {f"{prefix}terms": np.array(terms, dtype=str)}
        else:
            arrays = tfidf_arrays(self._vectorizer, prefix=prefix)
        assert self._coef is not None
        return arrays | {
            f"{prefix}coef": self._coef,
            f"{prefix}intercept": np.array([self._intercept]),
        }

    @classmethod
    def from_arrays(cls, view: str, arrays: dict[str, np.ndarray]) -> SparsePairModel:
        """The model saved by :meth:`to_arrays`."""
        prefix = f"{view}."
        model = cls(view)
        if view == "words":
            model._vectorizer = _new_vectorizer(view, arrays[f"{prefix}terms"])
        else:
            model._vectorizer = restore_tfidf(_new_vectorizer(view), arrays, prefix=prefix)
        model._coef = arrays[f"{prefix}coef"]
        model._intercept = float(arrays[f"{prefix}intercept"][0])
        return model


def _regression(view: str, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=_STRENGTH[view], max_iter=3000, class_weight="balanced", random_state=seed
    )


def out_of_fold(
    model: SparsePairModel, rows: sp.csr_matrix, labels: np.ndarray, folds: int
) -> np.ndarray:
    """Each training pair's probability from a regression fitted without its fold."""
    from sklearn.model_selection import StratifiedKFold

    predictions = np.empty(len(labels), dtype=np.float64)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=model.seed)
    for train, held_out in splitter.split(rows, labels):
        fold_model = SparsePairModel(model.view, seed=model.seed)
        fold_model.fit_weights(rows[train], labels[train])
        predictions[held_out] = fold_model.predict_rows(rows[held_out])
    return predictions
