"""BuyerSearch: a buyer's words (and photo) find listings, ranked by relevance, with filters
and facets.

Two retrievers find candidates: BM25 over the listing text (:class:`LexicalIndex`) and
MiniLM title vectors (:class:`~furima.index.VectorIndex`). The union of their top ``depth``
is ordered by a learned ranker over both signals (:class:`BuyerRanker`) or, without one, by
reciprocal rank fusion. A photo searches an existing :class:`SimilarSearch` pool; words and a
photo together fuse the two rankings. Filters restrict both retrievers alike; facets count
every ranked match, not only the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from furima.exceptions import DataError, NotFittedError
from furima.features import MiniLMEncoder
from furima.index import VectorIndex
from furima.search._buyer_candidates import photo_candidates, text_candidates
from furima.search._buyer_columns import (
    BuyerColumns,
    SearchHit,
    SearchPage,
    as_number,
    as_text,
    catalog_frame,
)
from furima.search._buyer_query import Query, QueryVectorCache, check_query, per_query_filters
from furima.search._buyer_ranker import BuyerRanker, CandidateSignals
from furima.search._facets import PRICE, FacetTable
from furima.search._fusion import RRF_K, reciprocal_rank_fusion
from furima.search._lexical import LexicalIndex, scripts_of

if TYPE_CHECKING:
    from furima.search._similar import SimilarSearch

__all__ = ["DEFAULT_FACETS", "BuyerSearch", "SearchSettings", "query_encoder"]

DEFAULT_FACETS = ("category", "colour", "condition", "price")
HNSW_FROM = 10_000


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of buyer search.

    Attributes:
        depth: Candidates taken from each retriever (BM25, vectors, photos).
        max_k: Largest page size.
        max_offset: Deepest page start.
        max_query_chars: Longer queries are cut (at a word boundary) with a note.
        rrf_k: Reciprocal-rank-fusion constant.
        query_cache: Distinct query texts whose vectors are kept (0: none).
    """

    depth: int = 100
    max_k: int = 100
    max_offset: int = 10_000
    max_query_chars: int = 200
    rrf_k: float = RRF_K
    query_cache: int = 4096

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def query_encoder() -> MiniLMEncoder:
    """MiniLM on one thread: a query is a few words, which a second thread hardly speeds up,
    while on a busy machine two threads wait on each other and a search's slowest times grow
    tenfold. (MiniLMEncoder sets torch's thread count for the process when it loads.)"""
    return MiniLMEncoder(threads=1)


class BuyerSearch:
    """Relevance-ranked buyer search over a catalog; build with :meth:`build`."""

    def __init__(
        self,
        *,
        columns: BuyerColumns,
        catalog: pd.DataFrame,
        lexical: LexicalIndex,
        vectors: VectorIndex,
        facets: FacetTable,
        ranker: BuyerRanker | None = None,
        photo_pool: SimilarSearch | None = None,
        settings: SearchSettings | None = None,
        text_encoder: MiniLMEncoder | None = None,
        photos: list[bytes] | None = None,
    ) -> None:
        self.columns, self.catalog = columns, catalog
        self.photos = photos
        self.lexical, self.vectors, self.facets = lexical, vectors, facets
        self.ranker, self.photo_pool = ranker, photo_pool
        self.settings = settings or SearchSettings()
        self.text_encoder = text_encoder or query_encoder()
        self.ids = catalog["id"].to_numpy(np.int64)
        self._order = np.argsort(self.ids, kind="stable")
        self.shown = {name: catalog[name].to_numpy() for name in catalog.columns}
        self._cache = QueryVectorCache(self.settings.query_cache)
        self._scripts = scripts_of("".join(set("".join(catalog["title"].tolist()))))

    # -- building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        listings: pd.DataFrame,
        *,
        columns: BuyerColumns | None = None,
        ranker: BuyerRanker | str | None = None,
        photo_pool: SimilarSearch | None = None,
        title_vectors: np.ndarray | None = None,
        text_encoder: MiniLMEncoder | None = None,
        settings: SearchSettings | None = None,
        backend: str = "auto",
        progress: bool = False,
    ) -> BuyerSearch:
        """Index ``listings`` by words and by title meaning.

        Args:
            listings: One row per listing, with the ``columns``.
            columns: Which columns hold what (default: ``id`` and ``title`` only).
            ranker: ``None``: order by rank fusion; ``"auto"``: train a :class:`BuyerRanker`
                on proxy judgments made from the listings' own attribute fields (see
                :func:`proxy_judgments`); an unfitted :class:`BuyerRanker`: the same, with
                its settings; a fitted one: used as it is.
            photo_pool: A :class:`SimilarSearch` pool over the same listing ids, for photo
                queries.
            title_vectors: MiniLM vectors of the titles, already computed (row-aligned).
            text_encoder: The title and query encoder (default :func:`query_encoder`).
            settings: :class:`SearchSettings`.
            backend: The title vectors' :class:`~furima.index.VectorIndex` backend;
                ``auto``: HNSW from 10,000 listings (a query's vector search then takes about
                a millisecond; BM25 candidates join anyway, so the last percent of vector
                recall matters less than speed), exact search below.
            progress: Show a progress bar while encoding titles.
        """
        columns = columns or BuyerColumns()
        columns.check(listings)
        if len(listings) == 0:
            raise DataError("the listings table is empty; nothing to search.")
        encoder = text_encoder or query_encoder()
        catalog = catalog_frame(listings, columns)
        lexical = LexicalIndex().build(columns.lexical_fields(listings))
        numbers = {PRICE: listings[columns.price].to_numpy()} if columns.price else {}
        facets = FacetTable(columns.facet_texts(listings), numbers)
        vectors = _title_vectors(catalog, title_vectors, encoder, progress)
        index = VectorIndex(
            vectors.shape[1],
            backend=_backend(backend, len(vectors)),
            expected_size=len(vectors),
            fields={name: "str" for name in facets.codes if name not in ("category", "status")},
        )
        everyone = np.arange(len(listings))
        metadata: dict[str, Any] = {n: facets.values(n, everyone) for n in facets.codes}
        if PRICE in facets.numbers:
            metadata[PRICE] = facets.numbers[PRICE]
        index.add(catalog["id"].to_numpy(np.int64), vectors, metadata)
        search = cls(
            photos=photo_bytes(listings, columns.photo),
            columns=columns,
            catalog=catalog,
            lexical=lexical,
            vectors=index,
            facets=facets,
            photo_pool=photo_pool,
            settings=settings,
            text_encoder=encoder,
        )
        return search._with_ranker(ranker, listings)

    def _with_ranker(self, ranker: BuyerRanker | str | None, listings: pd.DataFrame) -> BuyerSearch:
        if ranker is None:
            return self
        if isinstance(ranker, BuyerRanker) and ranker.is_fitted:
            self.ranker = ranker
            return self
        if isinstance(ranker, str) and ranker != "auto":
            raise DataError(f"ranker must be None, 'auto' or a BuyerRanker, but got {ranker!r}.")
        from furima.search._buyer_judgments import proxy_attributes, proxy_judgments

        attributes = proxy_attributes(self.columns)
        judgments = proxy_judgments(self, listings, attributes=attributes)
        return self.fit_ranker(
            judgments, ranker=ranker if isinstance(ranker, BuyerRanker) else None
        )

    def __len__(self) -> int:
        return len(self.ids)

    # -- training ------------------------------------------------------------------------

    def fit_ranker(
        self, judgments: pd.DataFrame, *, ranker: BuyerRanker | None = None
    ) -> BuyerSearch:
        """Train the learned ranker from graded judgments and use it from now on.

        ``judgments``: columns ``query`` (text), ``id`` (listing id) and ``grade`` (whole
        number, 0 = not relevant), as search click logs or human labels give them. Each
        query's candidates are retrieved as at search time; candidates without a judgment
        count as grade 0.
        """
        from furima.search._buyer_judgments import training_matrix

        features, grades, groups, names = training_matrix(self, judgments)
        model = ranker or BuyerRanker()
        self.ranker = model.fit(features, grades, groups, names)
        return self

    def candidate_signals(
        self, queries: Sequence[str], filters: Mapping[str, Any] | None = None
    ) -> list[tuple[np.ndarray, CandidateSignals]]:
        """Per query: the candidate rows (BM25 top ``depth`` and vector top ``depth``) and
        what the retrievers know about them; for training and evaluation."""
        checked = [self._query(q, None, filters) for q in queries]
        vectors = self._encode([q.text or "" for q in checked], cached=False)
        return [text_candidates(self, q, v) for q, v in zip(checked, vectors, strict=True)]

    # -- searching -----------------------------------------------------------------------

    def search(
        self,
        query: str | None,
        *,
        photo: bytes | Any | None = None,
        filters: Mapping[str, Any] | None = None,
        k: int = 20,
        offset: int = 0,
        facets: Sequence[str] = DEFAULT_FACETS,
    ) -> SearchPage:
        """One page of results for words, a photo, or both.

        Args:
            query: The buyer's words (None or blank: search by ``photo`` alone).
            photo: Photo bytes (or a path or PIL image), searched in the photo pool.
            filters: e.g. ``{"category": "Kurtas", "price": (500, 2000)}`` (see
                :mod:`furima.search._facets`); sold listings are out unless
                ``{"status": "sold"}`` or ``["on_sale", "sold"]`` asks for them.
            k: Page size (1 to ``settings.max_k``).
            offset: Results to skip (pages).
            facets: Fields to count over every match; ``category``, ``colour``,
                ``condition`` and ``price`` are skipped where the catalog lacks them.
        """
        return self.search_many(
            [query], photos=[photo], filters=filters, k=k, offset=offset, facets=facets
        )[0]

    def search_many(
        self,
        queries: Sequence[str | None],
        *,
        photos: Sequence[Any] | None = None,
        filters: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None = None,
        k: int = 20,
        offset: int = 0,
        facets: Sequence[str] = DEFAULT_FACETS,
    ) -> list[SearchPage]:
        """:meth:`search` for a batch (texts encoded together); ``filters``: one mapping for
        all queries, or one per query."""
        if isinstance(queries, str):
            raise DataError("queries must be a list of strings; wrap a single query in a list.")
        photos = list(photos) if photos is not None else [None] * len(queries)
        per_query = per_query_filters(filters, len(queries))
        if len(photos) != len(queries):
            raise DataError(f"got {len(photos)} photos for {len(queries)} queries.")
        self._check_page(k, offset)
        wanted = self.facets.check_facets(facets, optional=DEFAULT_FACETS)
        checked = [self._query(q, p, f) for q, p, f in zip(queries, photos, per_query, strict=True)]
        vectors = self._encode([q.text or "" for q in checked if q.text is not None])
        pages, position = [], 0
        for query in checked:
            vector = None
            if query.text is not None:
                vector, position = vectors[position], position + 1
            rows, scores, ranking = self._rank(query, vector)
            pages.append(self._page(query, rows, scores, ranking, k, offset, wanted))
        return pages

    def _check_page(self, k: int, offset: int) -> None:
        limit = self.settings.max_k
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= limit:
            raise DataError(f"k must be a whole number from 1 to {limit}, but got {k!r}.")
        deepest = self.settings.max_offset
        if isinstance(offset, bool) or not isinstance(offset, int | np.integer):
            raise DataError(f"offset must be a whole number, but got {offset!r}.")
        if not 0 <= offset <= deepest:
            raise DataError(f"offset must be from 0 to {deepest}, but got {offset}.")

    def _query(self, text: str | None, photo: Any, filters: Mapping[str, Any] | None) -> Query:
        return check_query(
            text,
            photo,
            filters,
            lexical=self.lexical,
            facets=self.facets,
            scripts=self._scripts,
            max_chars=self.settings.max_query_chars,
        )

    def _encode(self, texts: list[str], *, cached: bool = True) -> np.ndarray:
        if not texts:
            return np.empty((0, self.vectors.dim), np.float32)
        if not cached:
            return self.text_encoder.encode(texts)
        return self._cache.encode(texts, self.text_encoder.encode)

    # -- ranking -------------------------------------------------------------------------

    def _rank(self, query: Query, vector: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
        """(rows, scores, how) of every match, best first."""
        text_rows = text_scores = None
        ranking = "photo"
        if query.text is not None and vector is not None:
            rows, found = text_candidates(self, query, vector)
            text_scores, ranking = self._order_text(found)
            best = np.argsort(-text_scores, kind="stable")
            text_rows, text_scores = rows[best], text_scores[best]
        if query.photo is None:
            assert text_rows is not None and text_scores is not None
            return text_rows, text_scores, ranking
        photo_rows, photo_scores = photo_candidates(self, query)
        if text_rows is None:
            return photo_rows, photo_scores, "photo"
        rows, fused = reciprocal_rank_fusion([text_rows, photo_rows], k=self.settings.rrf_k)
        return rows, fused, "text+photo"

    def _order_text(self, found: CandidateSignals) -> tuple[np.ndarray, str]:
        if self.ranker is None:
            return found.rrf.astype(np.float64), "rrf"
        if not self.ranker.is_fitted:
            raise NotFittedError("the search's ranker is not fitted; call fit_ranker().")
        return self.ranker.score(found.matrix(self.ranker.features_)), "learned"

    def photo(self, listing_id: int) -> bytes | None:
        """The listing's photo bytes (for a results grid), when the listings' photo column held
        bytes; None for an unknown listing or one without a photo."""
        if self.photos is None:
            return None
        row = int(self.rows_of(np.asarray([listing_id]), missing=-1)[0])
        return (self.photos[row] or None) if row >= 0 else None

    def rows_of(self, ids: np.ndarray, *, missing: int | None = None) -> np.ndarray:
        """Row positions of listing ``ids`` (``missing`` where unknown; None: must be known)."""
        ids = np.asarray(ids, np.int64)
        sorted_ids = self.ids[self._order]
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        hit = sorted_ids[at] == ids
        if missing is None and not hit.all():
            raise DataError(f"listing ids {ids[~hit][:5].tolist()} are not in this search.")
        return np.where(hit, self._order[at], -1 if missing is None else missing)

    # -- pages ---------------------------------------------------------------------------

    def _page(
        self,
        query: Query,
        rows: np.ndarray,
        scores: np.ndarray,
        ranking: str,
        k: int,
        offset: int,
        facets: list[str],
    ) -> SearchPage:
        chosen = slice(offset, offset + k)
        hits = [
            self._hit(int(r), float(s)) for r, s in zip(rows[chosen], scores[chosen], strict=True)
        ]
        if not len(rows):
            query.notes.append("no listing matched; try fewer or other words, or fewer filters.")
        return SearchPage(
            query=query.text,
            results=hits,
            total=len(rows),
            offset=offset,
            k=k,
            facets=self.facets.counts(rows, facets),
            notes=query.notes,
            ranking=ranking,
        )

    def _hit(self, row: int, score: float) -> SearchHit:
        shown = self.shown
        return SearchHit(
            id=int(self.ids[row]),
            title=str(shown["title"][row]),
            score=score,
            price=as_number(shown["price"][row]),
            category=as_text(shown["category"][row]),
            colour=as_text(shown["colour"][row]),
            condition=as_text(shown["condition"][row]),
            has_photo=bool(shown["has_photo"][row]),
        )

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save atomically to a folder (format ``furima.buyer_search``)."""
        from furima.search._buyer_persistence import save_buyer_search

        return save_buyer_search(self, path)

    @classmethod
    def load(cls, path: str | Path) -> BuyerSearch:
        """Load a search saved by :meth:`save`."""
        from furima.search._buyer_persistence import load_buyer_search

        return load_buyer_search(path)


def _backend(requested: str, size: int) -> str:
    if requested != "auto":
        return requested
    return "hnsw" if size >= HNSW_FROM else "exact"


def _title_vectors(
    catalog: pd.DataFrame, given: np.ndarray | None, encoder: MiniLMEncoder, progress: bool
) -> np.ndarray:
    if given is None:
        return encoder.encode(catalog["title"].tolist(), progress=progress)
    vectors = np.asarray(given, np.float32)
    if vectors.ndim != 2 or len(vectors) != len(catalog):
        raise DataError(
            f"title_vectors must be [{len(catalog)}, dim] (one row per listing), but got "
            f"shape {vectors.shape}."
        )
    return vectors


def photo_bytes(listings: pd.DataFrame, column: str | None) -> list[bytes] | None:
    """The photo column's bytes per listing (empty where none), or None when the column holds
    no bytes at all (paths, or no column)."""
    if column is None:
        return None
    values = [v if isinstance(v, bytes | bytearray) else b"" for v in listings[column]]
    return [bytes(v) for v in values] if any(values) else None
