"""Sparse text features of listings, after the Mercari Price Suggestion winners.

Each *view* of a listing (its name, the name's characters, its description, its categorical
tags, and crosses such as brand x name-token) is turned into TF-IDF with sublinear term
frequency, and the views are stacked side by side into one CSR matrix. Everything here is pure
``fit`` / ``transform``; the learned state round-trips through plain arrays (see
:meth:`ListingTextVectorizer.to_arrays`) so models save as open formats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, NotFittedError

if TYPE_CHECKING:
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "JOINED_VIEWS",
    "SPLIT_VIEWS",
    "ListingTextVectorizer",
    "as_text",
    "listing_tokens",
    "restore_tfidf",
    "tfidf_arrays",
    "tfidf_transform",
]

_TOKEN = re.compile(r"\w+")
_WHOLE_TOKEN = r"\S+"  # tags and crosses such as ``brand=puma`` or ``puma__shoes`` stay whole
_CANONICAL_TAG_COLUMNS = ("brand", "category", "condition", "shipping")
_NON_ATTRIBUTE_COLUMNS = ("listing_id", "name", "description", "price", *_CANONICAL_TAG_COLUMNS)


@dataclass(frozen=True)
class _View:
    """One text view of a listing and how to vectorise it."""

    build: Callable[[pd.DataFrame], list[str]]
    analyzer: str = "word"
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int = 1
    max_features: int | None = None
    token_pattern: str | None = r"(?u)\b\w+\b"
    binary: bool = False  # one-hot style: presence, no idf, no normalisation


def listing_tokens(text: pd.Series) -> list[list[str]]:
    """Lower-cased word tokens of each text (Unicode-aware, so Japanese words survive)."""
    return [_TOKEN.findall(value.lower()) for value in as_text(text)]


def as_text(column: pd.Series) -> list[str]:
    """Cells as strings, missing ones as ""; plain Python so single listings stay fast."""
    return ["" if v is None or v is pd.NA or v != v else str(v) for v in column.tolist()]


def _tag(value: str) -> str:
    return value.lower().replace(" ", "_")


def _tags(listings: pd.DataFrame) -> list[str]:
    """Categorical facts as ``field=value`` tokens, plus the product type from the name."""
    rows = _field_tags(listings)
    for row, tokens in zip(rows, listing_tokens(listings["name"]), strict=True):
        if tokens:
            row.append(f"type1={tokens[-1]}")
            row.append(f"type2={'_'.join(tokens[-2:])}")
    return [" ".join(row) for row in rows]


def _one_hot(listings: pd.DataFrame) -> list[str]:
    """Only the categorical fields: as binary features, type tags would outweigh the text."""
    return [" ".join(row) for row in _field_tags(listings)]


def _field_tags(listings: pd.DataFrame) -> list[list[str]]:
    """``field=value`` tokens of brand, condition, shipping, attributes and category levels."""
    columns = [c for c in listings.columns if c not in _NON_ATTRIBUTE_COLUMNS]
    rows: list[list[str]] = [[] for _ in range(len(listings))]
    for column in ("brand", "condition", "shipping", *columns):
        if column in listings:
            for row, value in zip(rows, as_text(listings[column]), strict=True):
                if value:
                    row.append(f"{column}={_tag(value)}")
    if "category" in listings:
        for row, path in zip(rows, as_text(listings["category"]), strict=True):
            levels = [_tag(level) for level in path.split("/") if level]
            row.extend(f"cat{i}={'/'.join(levels[: i + 1])}" for i in range(len(levels)))
    return rows


def _context(listings: pd.DataFrame) -> list[str]:
    """The most specific category tag (leaf, else attributes) used in crosses with the name."""
    leaf = as_text(listings["category"]) if "category" in listings else [""] * len(listings)
    attributes = [c for c in listings.columns if c not in _NON_ATTRIBUTE_COLUMNS]
    parts = [leaf, *(as_text(listings[c]) for c in attributes)]
    return ["|".join(_tag(p) for p in row if p) for row in zip(*parts, strict=True)]


def _cross(prefixes: list[str], tokens: list[list[str]]) -> list[str]:
    return [
        " ".join(f"{prefix}__{t}" for t in row) if prefix else ""
        for prefix, row in zip(prefixes, tokens, strict=True)
    ]


def _joined_text(listings: pd.DataFrame) -> list[str]:
    columns = [as_text(listings[c]) for c in ("name", "brand", "description")]
    return [" ".join(parts) for parts in zip(*columns, strict=True)]


def _brand_x_name(listings: pd.DataFrame) -> list[str]:
    brands = [_tag(b) for b in as_text(listings["brand"])]
    return _cross(brands, listing_tokens(listings["name"]))


def _context_x_name(listings: pd.DataFrame) -> list[str]:
    return _cross(_context(listings), listing_tokens(listings["name"]))


_VIEWS: dict[str, _View] = {
    "name": _View(lambda d: as_text(d["name"]), ngram_range=(1, 2), max_features=200_000),
    "name_chars": _View(
        lambda d: as_text(d["name"]),
        analyzer="char_wb",
        ngram_range=(2, 4),
        min_df=2,
        max_features=100_000,
    ),
    "description": _View(
        lambda d: as_text(d["description"]), ngram_range=(1, 2), min_df=2, max_features=200_000
    ),
    "tags": _View(_tags, token_pattern=_WHOLE_TOKEN),
    "brand_x_name": _View(_brand_x_name, max_features=200_000, token_pattern=_WHOLE_TOKEN),
    "context_x_name": _View(
        _context_x_name, min_df=2, max_features=200_000, token_pattern=_WHOLE_TOKEN
    ),
    # The classic single-vectorizer representation: all text joined, plus one-hot categories.
    "joined_text": _View(_joined_text, ngram_range=(1, 2), min_df=2, max_features=200_000),
    "one_hot": _View(_one_hot, token_pattern=_WHOLE_TOKEN, binary=True),
}
SPLIT_VIEWS = ("name", "name_chars", "description", "tags", "brand_x_name", "context_x_name")
JOINED_VIEWS = ("joined_text", "one_hot")


def tfidf_arrays(vectorizer: TfidfVectorizer, prefix: str = "") -> dict[str, np.ndarray]:
    """A fitted vectorizer's learned state: its terms in column order and idf weights."""
    vocabulary = vectorizer.vocabulary_
    arrays = {f"{prefix}terms": np.array(sorted(vocabulary, key=vocabulary.__getitem__), dtype=str)}
    if vectorizer.use_idf:
        arrays[f"{prefix}idf"] = vectorizer.idf_.astype(np.float64)
    return arrays


def restore_tfidf(
    vectorizer: TfidfVectorizer, arrays: Mapping[str, np.ndarray], prefix: str = ""
) -> TfidfVectorizer:
    """Give an unfitted vectorizer the state saved by :func:`tfidf_arrays`."""
    vectorizer.vocabulary_ = {term: i for i, term in enumerate(arrays[f"{prefix}terms"].tolist())}
    vectorizer.fixed_vocabulary_ = True
    if vectorizer.use_idf:
        vectorizer.idf_ = arrays[f"{prefix}idf"]
    return vectorizer


def _new_tfidf(view: _View) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=view.analyzer,
        ngram_range=view.ngram_range,
        min_df=view.min_df,
        max_features=view.max_features,
        token_pattern=view.token_pattern if view.analyzer == "word" else None,
        lowercase=view.token_pattern != _WHOLE_TOKEN,
        binary=view.binary,
        use_idf=not view.binary,
        norm=None if view.binary else "l2",
        sublinear_tf=not view.binary,
        dtype=np.float32,
    )


def tfidf_transform(vectorizer: TfidfVectorizer, documents: list[str]) -> sp.csr_matrix:
    """``vectorizer.transform(documents)`` without scikit-learn's per-call checks.

    Same counts, sublinear tf, idf and l2 norm; several times faster for the one-listing
    requests that price suggestion serves.
    """
    import scipy.sparse as sp

    analyze = vectorizer.build_analyzer()
    vocabulary = vectorizer.vocabulary_
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for document in documents:
        row: dict[int, int] = {}
        for term in analyze(document):
            column = vocabulary.get(term)
            if column is not None:
                row[column] = row.get(column, 0) + 1
        indices.extend(row)
        counts.extend(row.values())
        indptr.append(len(indices))
    data = np.asarray(counts, dtype=np.float64)
    matrix = sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
        shape=(len(documents), len(vocabulary)),
    )
    matrix.sort_indices()
    if vectorizer.binary:
        matrix.data[:] = 1.0
    if vectorizer.sublinear_tf:
        matrix.data = np.log(matrix.data) + 1.0
    if vectorizer.use_idf:
        matrix.data *= vectorizer.idf_[matrix.indices]
    if vectorizer.norm == "l2":
        lengths = np.diff(matrix.indptr)
        rows = np.repeat(np.arange(len(documents)), lengths)
        norms = np.sqrt(np.bincount(rows, weights=matrix.data**2, minlength=len(documents)))
        matrix.data /= np.where(norms > 0, norms, 1.0)[rows]
    return matrix.astype(np.float32)


class ListingTextVectorizer:
    """Turn a listings frame into one sparse TF-IDF matrix over several views.

    Args:
        views: Names of the views to use (default :data:`SPLIT_VIEWS`: ``name``, ``name_chars``,
            ``description``, ``tags``, ``brand_x_name``, ``context_x_name``; or
            :data:`JOINED_VIEWS`, the classic joined TF-IDF plus one-hot). Views that are
            empty in the training data are dropped at ``fit``.
    """

    def __init__(self, views: tuple[str, ...] | None = None) -> None:
        self.views = views

    def fit_transform(self, listings: pd.DataFrame) -> sp.csr_matrix:
        """Learn vocabularies and idf weights, then return the stacked features."""
        import scipy.sparse as sp

        blocks: list[sp.csr_matrix] = []
        self.vectorizers_: dict[str, TfidfVectorizer] = {}
        for name in self.views or SPLIT_VIEWS:
            if name not in _VIEWS:
                raise ValueError(f"Unknown view {name!r}; known views: {sorted(_VIEWS)}.")
            documents = _VIEWS[name].build(listings)
            if not any(documents):
                continue
            vectorizer = _new_tfidf(_VIEWS[name])
            try:
                blocks.append(vectorizer.fit_transform(documents))
            except ValueError:  # vocabulary empty after min_df pruning
                continue
            self.vectorizers_[name] = vectorizer
        if not blocks:
            raise DataError(
                f"No text to learn from: the views {list(self.views or _VIEWS)} are all empty "
                "in these listings. Give listings with names (and descriptions)."
            )
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def fit(self, listings: pd.DataFrame) -> ListingTextVectorizer:
        self.fit_transform(listings)
        return self

    def transform(self, listings: pd.DataFrame) -> sp.csr_matrix:
        """Features of new listings with the fitted vocabularies (unknown words are ignored)."""
        import scipy.sparse as sp

        blocks = [
            tfidf_transform(v, _VIEWS[name].build(listings)) for name, v in self._fitted().items()
        ]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    @property
    def n_features(self) -> int:
        return sum(len(v.vocabulary_) for v in self._fitted().values())

    def _fitted(self) -> dict[str, TfidfVectorizer]:
        if not hasattr(self, "vectorizers_"):
            raise NotFittedError("This ListingTextVectorizer is not fitted yet; call fit first.")
        return self.vectorizers_

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state as JSON-able metadata plus arrays (vocabulary terms and idf)."""
        meta: dict[str, Any] = {"views": list(self._fitted())}
        arrays: dict[str, np.ndarray] = {}
        for name, vectorizer in self._fitted().items():
            arrays.update(tfidf_arrays(vectorizer, prefix=f"{name}."))
        return meta, arrays

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> ListingTextVectorizer:
        """Rebuild a fitted vectorizer from :meth:`to_arrays` output."""
        self = cls(views=tuple(meta["views"]))
        self.vectorizers_ = {}
        for name in meta["views"]:
            vectorizer = _new_tfidf(_VIEWS[name])
            self.vectorizers_[name] = restore_tfidf(vectorizer, arrays, prefix=f"{name}.")
        return self
