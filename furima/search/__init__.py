"""Search: similar listings for a photo, a text or a listing, and buyer search by relevance.

:class:`SimilarSearch` turns listings into vectors (photo and title encoders, plus a learned
joint embedding so text finds photos), indexes them with :class:`~furima.index.VectorIndex`,
and answers batch-first queries with metadata filters, re-ranked by product type when the
listings have one (:class:`LabelRerank`)::

    search = SimilarSearch.build(listings, columns=PoolColumns(photo="jpeg", label="article_type"))
    search.similar(texts=["red nike running shoes"], k=10, filters={"price": (10, 50)})

:class:`BuyerSearch` is the buyer's search box: BM25 (:class:`LexicalIndex`) and title vectors
find candidates, a learned ranker (:class:`BuyerRanker`) or reciprocal rank fusion orders
them, with filters and facets over every match::

    search = BuyerSearch.build(listings, columns=BuyerColumns(category="article_type"))
    search.search("women red kurta", filters={"price": (500, 2000)}, k=20).to_dict()
"""

from __future__ import annotations

from furima.search._buyer import DEFAULT_FACETS, BuyerSearch, SearchSettings
from furima.search._buyer_columns import BuyerColumns, SearchHit, SearchPage
from furima.search._buyer_judgments import attribute_queries, proxy_judgments
from furima.search._buyer_ranker import BuyerRanker
from furima.search._columns import PoolColumns
from furima.search._fusion import reciprocal_rank_fusion
from furima.search._lexical import LexicalIndex
from furima.search._rerank import LabelRerank
from furima.search._similar import PoolFeatures, SimilarSearch

__all__ = [
    "DEFAULT_FACETS",
    "BuyerColumns",
    "BuyerRanker",
    "BuyerSearch",
    "LabelRerank",
    "LexicalIndex",
    "PoolColumns",
    "PoolFeatures",
    "SearchHit",
    "SearchPage",
    "SearchSettings",
    "SimilarSearch",
    "attribute_queries",
    "proxy_judgments",
    "reciprocal_rank_fusion",
]
