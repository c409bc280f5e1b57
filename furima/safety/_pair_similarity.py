"""Learned text similarity between the two listings of a pair: TF-IDF and sentence embeddings.

TF-IDF views are fitted on the training pairs' texts (rare words weigh more: a shared model
name says more than a shared "black"); embeddings come from a sentence encoder
(MiniLM by default), so "notebook" meets "laptop". Each view gives one cosine per pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from furima.features import restore_tfidf, tfidf_arrays
from furima.safety._pair_features import PairSide

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from furima.features import Encoder

__all__ = [
    "EMBEDDING_FEATURES",
    "TFIDF_FEATURES",
    "CachedEncoder",
    "TfidfViews",
    "embedding_cosines",
]


@dataclass(frozen=True)
class _View:
    name: str
    field: str  # "names" or "texts"
    analyzer: str
    ngram_range: tuple[int, int]


_VIEWS = (
    _View("tfidf_name_word", "names", "word", (1, 2)),
    _View("tfidf_name_char", "names", "char_wb", (2, 5)),
    _View("tfidf_text_word", "texts", "word", (1, 1)),
)
_CORE_VIEWS = _VIEWS[:2]  # title views, also scored on titles without brand words
TFIDF_FEATURES: tuple[str, ...] = tuple(view.name for view in _VIEWS) + tuple(
    view.name.replace("_name_", "_core_name_") for view in _CORE_VIEWS
)
EMBEDDING_FEATURES: tuple[str, ...] = ("embedding_name_cosine", "embedding_text_cosine")


def _new_vectorizer(view: _View) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=view.analyzer,
        ngram_range=view.ngram_range,
        token_pattern=r"[a-z0-9]+(?:[-/.][a-z0-9]+)*" if view.analyzer == "word" else None,
        sublinear_tf=True,
        dtype=np.float32,
    )


class TfidfViews:
    """Word and character TF-IDF over titles, and word TF-IDF over full texts."""

    def __init__(self) -> None:
        self._vectorizers: dict[str, TfidfVectorizer] = {}

    def fit(self, sides: list[PairSide]) -> TfidfViews:
        """Fit every view on the distinct texts of ``sides``."""
        for view in _VIEWS:
            documents = sorted({text for side in sides for text in getattr(side, view.field)})
            self._vectorizers[view.name] = _new_vectorizer(view).fit(documents)
        return self

    def cosines(self, left: PairSide, right: PairSide) -> np.ndarray:
        """``[n_pairs, len(TFIDF_FEATURES)]`` cosine of each pair in each view.

        The title views are scored twice: as written, and with the brand words of either
        listing removed ("encore software print shop 22" vs "print shop 23 deluxe"), so a
        shared brand does not make two products of one maker look alike.
        """
        columns = [
            self._cosine(view, getattr(left, view.field), getattr(right, view.field))
            for view in _VIEWS
        ]
        core_left, core_right = _without_brands(left, right), _without_brands(right, left)
        columns += [self._cosine(view, core_left, core_right) for view in _CORE_VIEWS]
        return np.column_stack(columns).astype(np.float64)

    def _cosine(self, view: _View, first: list[str], second: list[str]) -> np.ndarray:
        vectorizer = self._vectorizers[view.name]
        rows_a, rows_b = vectorizer.transform(first), vectorizer.transform(second)
        return np.asarray(rows_a.multiply(rows_b).sum(axis=1)).ravel()

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Learned state (terms and idf per view), for ``np.savez``."""
        arrays: dict[str, np.ndarray] = {}
        for name, vectorizer in self._vectorizers.items():
            arrays |= tfidf_arrays(vectorizer, prefix=f"{name}.")
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TfidfViews:
        """The views saved by :meth:`to_arrays`."""
        views = cls()
        for view in _VIEWS:
            restored = restore_tfidf(_new_vectorizer(view), arrays, prefix=f"{view.name}.")
            views._vectorizers[view.name] = restored
        return views


def _without_brands(side: PairSide, other: PairSide) -> list[str]:
    """Titles without the words of either listing's brand (unchanged where nothing is left)."""
    titles = []
    for name, brand, other_brand in zip(side.names, side.brands, other.brands, strict=True):
        brand_words = set(brand.split()) | set(other_brand.split())
        kept = " ".join(word for word in name.split() if word not in brand_words)
        titles.append(kept or name)
    return titles


def embedding_cosines(encoder: Encoder, left: PairSide, right: PairSide) -> np.ndarray:
    """``[n_pairs, 2]`` cosine of title embeddings and of full-text embeddings.

    Each distinct text is encoded once (catalogs repeat titles across pairs, and a listing
    without a description has the same title and full text).
    """
    fields = ("names", "texts")
    distinct = sorted(
        {text for side in (left, right) for field in fields for text in getattr(side, field)}
    )
    position = {text: row for row, text in enumerate(distinct)}
    vectors = encoder.encode(distinct)
    columns = []
    for field in fields:
        rows_a = vectors[[position[text] for text in getattr(left, field)]]
        rows_b = vectors[[position[text] for text in getattr(right, field)]]
        columns.append(np.einsum("ij,ij->i", rows_a, rows_b))
    return np.column_stack(columns).astype(np.float64)


class CachedEncoder:
    """An encoder that remembers the vectors of texts it has seen (catalogs repeat titles).

    Holds at most ``capacity`` texts; the oldest are forgotten first. Not saved with a model.
    """

    def __init__(self, encoder: Encoder, capacity: int = 200_000) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.capacity = capacity
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, items: Sequence[Any], *, progress: bool = False) -> np.ndarray:
        """Unit-length rows for ``items``, encoding only texts not seen before."""
        texts = [str(item) for item in items]
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        found = {text: self._vectors[text] for text in set(texts) if text in self._vectors}
        unseen = sorted(set(texts) - found.keys())
        if unseen:
            fresh = self.encoder.encode(unseen, progress=progress)
            found.update(zip(unseen, fresh, strict=True))
            self._remember(dict(zip(unseen, fresh, strict=True)))
        return np.stack([found[text] for text in texts]).astype(np.float32, copy=False)

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        self._vectors.update(vectors)
        for stale in list(self._vectors)[: max(0, len(self._vectors) - self.capacity)]:
            del self._vectors[stale]
