"""Checking a buyer's query before search: blank queries, overlong ones, words no listing
holds, a script the catalog is not written in, filters on fields the catalog lacks.

Bad input gets a clear :class:`DataError` (nothing to search for) or a note on the page (the
search ran, and the buyer should know why the results look the way they do); never a crash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from furima.exceptions import DataError, FilterError
from furima.search._facets import FacetTable
from furima.search._lexical import LexicalIndex, QueryTerms, tokenize

__all__ = ["Query", "QueryVectorCache", "check_query", "per_query_filters"]

_SCRIPT_NAMES = {"cjk": "Chinese/Japanese", "hangul": "Korean"}


@dataclass
class Query:
    """A checked query: its text (None: photo only), photo, terms, filters and notes.

    ``use_vectors`` is False where the title vectors would only add noise (a query in a
    script the catalog does not use, or one with no words at all).
    """

    text: str | None
    photo: Any
    terms: QueryTerms
    filters: dict[str, Any]
    mask: np.ndarray | None
    notes: list[str] = field(default_factory=list)
    use_vectors: bool = True


def check_query(
    text: str | None,
    photo: Any,
    filters: Mapping[str, Any] | None,
    *,
    lexical: LexicalIndex,
    facets: FacetTable,
    scripts: set[str],
    max_chars: int,
) -> Query:
    """The checked query, or :class:`DataError` / :class:`FilterError` saying what to fix."""
    if text is not None and not isinstance(text, str):
        raise DataError(f"the query must be text, but got {type(text).__name__}.")
    _check_photo(photo)
    notes: list[str] = []
    text = " ".join(text.split()) if text is not None else None
    if not text:
        if photo is None:
            raise DataError("the search query is empty: type some words, or give a photo.")
        text = None
    elif len(text) > max_chars:
        text = _cut(text, max_chars)
        notes.append(f"the query was cut to its first {len(text)} characters.")
    checked = facets.check(filters)
    query = Query(
        text=text,
        photo=photo,
        terms=lexical.terms(text) if text else QueryTerms(np.zeros(0, np.int64), 0),
        filters=checked,
        mask=facets.mask(checked),
        notes=notes,
    )
    if text is not None:
        _note_unknown_words(query, text, lexical, scripts)
    return query


def _check_photo(photo: Any) -> None:
    if isinstance(photo, bytes | bytearray) and len(photo) == 0:
        raise DataError("the photo is empty (0 bytes); upload a JPEG or PNG file.")


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when there is one."""
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def _note_unknown_words(query: Query, text: str, lexical: LexicalIndex, scripts: set[str]) -> None:
    """Notes on words no listing holds; vectors off where they could only add noise."""
    from furima.search._lexical import scripts_of

    terms = query.terms
    if terms.n_terms == 0:
        query.notes.append("the query has no words to search for.")
        query.use_vectors = False
        return
    unknown = [t for t in dict.fromkeys(tokenize(text)) if t not in lexical.vocabulary_]
    if not unknown:
        return
    foreign = sorted(scripts_of(text) - scripts)
    if foreign and not len(terms.ids):
        names = ", ".join(_SCRIPT_NAMES.get(s, s.capitalize()) for s in foreign)
        listed = ", ".join(_SCRIPT_NAMES.get(s, s.capitalize()) for s in sorted(scripts))
        query.notes.append(
            f"the query is written in {names} script, but the listings are written in "
            f"{listed or 'no script'}; no listing holds its words."
        )
        query.use_vectors = False
        return
    shown = ", ".join(repr(t) for t in unknown[:5])
    if not len(terms.ids):
        query.notes.append(f"no listing holds the words {shown}; showing listings near in meaning.")
    else:
        query.notes.append(f"no listing holds {shown}; searched for the other words.")


class QueryVectorCache:
    """The vectors of the most recent distinct query texts (least recently used dropped).

    Buyers repeat queries ("nike shoes" many times an hour); encoding is most of a search's
    time, so a repeated query skips it. Safe to share between threads.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Vectors of ``texts``, encoding (in one call) only those not cached."""
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = encode(missing)
            known.update(zip(missing, fresh, strict=True))
            self._remember(missing, fresh)
        return np.stack([known[t] for t in texts])

    def _remember(self, texts: list[str], vectors: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._vectors[text] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)


def per_query_filters(
    filters: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None, n: int
) -> list[Mapping[str, Any] | None]:
    """One filter mapping (or None) per query, from one shared mapping or a list."""
    if filters is None or isinstance(filters, Mapping):
        return [filters] * n
    if isinstance(filters, str) or not isinstance(filters, Sequence):
        raise FilterError("filters must be a mapping of field -> condition, or one per query.")
    if len(filters) != n:
        raise FilterError(f"got {len(filters)} filter mappings for {n} queries.")
    return list(filters)
