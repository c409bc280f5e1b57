"""The lexical half of buyer search: BM25 over listing text, on bm25s, plus per-field matches.

Text becomes tokens the same way for listings and queries: NFKC-normalised, lower-cased,
words stemmed with the Snowball English stemmer (PyStemmer), a hyphenated word kept whole as
well ("t-shirt" also gives "tshirt", which is how catalogs spell the type), English stopwords
dropped. Text written without spaces (Chinese, Japanese, Korean) has no words to split on, so
each run of it becomes overlapping character bigrams ("赤いドレス" -> "赤い", "いド", ...): a
Japanese query then finds Japanese titles that share its bigrams, with no dictionary.

:class:`LexicalIndex` scores every listing for a query with BM25 over all its text fields
joined (bm25s, one sparse matrix), and tells, for chosen candidates, which of the query's
terms each field holds: what the learned ranker reads as "the colour field matches".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["LexicalIndex", "QueryTerms", "scripts_of", "tokenize"]

_NO_SPACE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUNS = re.compile(rf"([{_NO_SPACE}]+)|([^\W_{_NO_SPACE}]+(?:-[^\W_{_NO_SPACE}]+)*)")
_STOPWORD_TEXT = (
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SCRIPT_NAMES = {"HIRAGANA": "cjk", "KATAKANA": "cjk", "CJK": "cjk", "HANGUL": "hangul"}


def tokenize(text: str) -> list[str]:
    """Index terms of ``text`` (see the module docstring); the same for listings and queries."""
    terms: list[str] = []
    for no_space, words in _RUNS.findall(unicodedata.normalize("NFKC", text).lower()):
        if no_space:
            terms.extend(_bigrams(no_space))
            continue
        parts = words.split("-")
        for word in parts if len(parts) == 1 else [*parts, "".join(parts)]:
            if word not in _STOPWORDS and not (len(word) == 1 and word.isalpha()):
                terms.append(_stem(word))
    return terms


def scripts_of(text: str) -> set[str]:
    """The writing systems of the letters in ``text``: ``latin``, ``cyrillic``, ``cjk``, ...
    (digits and punctuation belong to none)."""
    found: set[str] = set()
    for char in set(text):
        if char.isascii():
            if char.isalpha():
                found.add("latin")
            continue
        if char.isalpha():
            first = unicodedata.name(char, "OTHER").split()[0]
            found.add(_SCRIPT_NAMES.get(first, first.lower()))
    return found


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if not word.isascii():
        return word
    return str(_stemmer().stemWord(word))


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


class QueryTerms:
    """A query's distinct known terms (vocabulary ids) and how many distinct terms it had."""

    def __init__(self, ids: np.ndarray, n_terms: int) -> None:
        self.ids = ids
        self.n_terms = n_terms

    @property
    def known_share(self) -> float:
        """Share of the query's terms that some listing holds."""
        return len(self.ids) / self.n_terms if self.n_terms else 0.0


class LexicalIndex:
    """BM25 over listings' text fields joined, and per-field term matches (rows are listings,
    in the order given to :meth:`build`).

    Args:
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.vocabulary_: dict[str, int] = {}
        self.fields_: dict[str, sparse.csc_matrix] = {}
        self.field_lengths_: dict[str, np.ndarray] = {}
        self.texts_: dict[str, list[str]] = {}
        self.idf_ = np.zeros(0, np.float32)
        self._bm25: Any = None

    def build(self, fields: Mapping[str, Sequence[str]]) -> LexicalIndex:
        """Index the text ``fields`` (name -> one text per listing, all the same length); the
        texts are kept (``texts_``) so a saved search rebuilds the same index."""
        self.texts_ = {name: [str(text) for text in texts] for name, texts in fields.items()}
        tokens = {name: [tokenize(text) for text in texts] for name, texts in self.texts_.items()}
        for rows in tokens.values():
            for terms in rows:
                for term in terms:
                    self.vocabulary_.setdefault(term, len(self.vocabulary_))
        n = len(next(iter(tokens.values())))
        for name, rows in tokens.items():
            presence = self._presence(rows, n)
            self.field_lengths_[name] = np.diff(presence.indptr).astype(np.float32)
            self.fields_[name] = presence.tocsc()  # term -> sorted rows (posting lists)
            self.fields_[name].sort_indices()
        joined = [[t for rows in tokens.values() for t in rows[i]] for i in range(n)]
        self._index_bm25(joined)
        self.idf_ = self._idf(joined)
        return self

    def __len__(self) -> int:
        return int(next(iter(self.fields_.values())).shape[0]) if self.fields_ else 0

    def _presence(self, rows: list[list[str]], n: int) -> sparse.csr_matrix:
        from scipy import sparse

        columns = [sorted({self.vocabulary_[t] for t in terms}) for terms in rows]
        indptr = np.cumsum([0, *map(len, columns)])
        indices = np.fromiter((c for row in columns for c in row), np.int32, int(indptr[-1]))
        data = np.ones(len(indices), np.float32)
        shape = (n, len(self.vocabulary_) + 1)  # a spare column for "no term"
        return sparse.csr_matrix((data, indices, indptr), shape=shape)

    def _idf(self, joined: list[list[str]]) -> np.ndarray:
        """log(1 + listings / listings holding the term) per vocabulary id."""
        distinct = [self.vocabulary_[t] for terms in joined for t in set(terms)]
        frequency = np.bincount(np.asarray(distinct, np.int64), minlength=len(self.vocabulary_))
        return np.log1p(len(joined) / np.maximum(frequency, 1)).astype(np.float32)

    def _index_bm25(self, joined: list[list[str]]) -> None:
        import bm25s

        ids = [[self.vocabulary_[t] for t in terms] for terms in joined]
        vocab = dict(self.vocabulary_)
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        self._bm25.index((ids, vocab), show_progress=False, create_empty_token=False)

    def terms(self, query: str) -> QueryTerms:
        """The query's terms that the index knows, as vocabulary ids."""
        distinct = list(dict.fromkeys(tokenize(query)))
        known = [self.vocabulary_[t] for t in distinct if t in self.vocabulary_]
        return QueryTerms(np.asarray(known, np.int64), len(distinct))

    def scores(self, terms: QueryTerms) -> np.ndarray:
        """BM25 score of every listing for the query (float32; 0 where no term matches)."""
        if not len(terms.ids):
            return np.zeros(len(self), np.float32)
        scores = self._bm25.get_scores([int(i) for i in terms.ids])
        return np.asarray(scores, dtype=np.float32)

    def field_hits(self, terms: QueryTerms, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Per field: how many of the query's distinct known terms each of ``rows`` holds."""
        return {
            name: self._held(name, terms, rows).sum(axis=0, dtype=np.float32)
            for name in self.fields_
        }

    def any_hits(self, terms: QueryTerms, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: how many of the query's distinct known terms appear in any field, and
        their share of the query's IDF weight (a rare term missing costs more than a common
        one; terms no listing holds weigh as the rarest)."""
        held = np.zeros((len(terms.ids), len(rows)), bool)
        for name in self.fields_:
            held |= self._held(name, terms, rows)
        counts: np.ndarray = held.sum(axis=0, dtype=np.float32)
        weights = self.idf_[terms.ids]
        unknown = (terms.n_terms - len(terms.ids)) * float(self.idf_.max(initial=1.0))
        total = float(weights.sum()) + unknown
        weighted = (weights @ held) / total if total > 0 else np.zeros(len(rows))
        return counts, np.asarray(weighted, np.float32)

    def _held(self, name: str, terms: QueryTerms, rows: np.ndarray) -> np.ndarray:
        """``[terms, rows]``: whether the field of each row holds each term (read from the
        term's sorted posting list, so the cost does not grow with the catalog)."""
        postings = self.fields_[name]
        held = np.zeros((len(terms.ids), len(rows)), bool)
        for position, term in enumerate(terms.ids):
            listed = postings.indices[postings.indptr[term] : postings.indptr[term + 1]]
            if len(listed):
                at = np.minimum(np.searchsorted(listed, rows), len(listed) - 1)
                held[position] = listed[at] == rows
        return held
