"""Similar-item search: a photo, a text or a listing finds its nearest listings.

:class:`SimilarSearch` turns listings into vectors (photo and title encoders, plus a learned
joint embedding so text finds photos), indexes them with :class:`~furima.index.VectorIndex`,
and answers batch-first queries with metadata filters, re-ranked by product type when the
listings have one (:class:`LabelRerank`)::

    search = SimilarSearch.build(listings, columns=PoolColumns(photo="jpeg", label="article_type"))
    search.similar(texts=["red nike running shoes"], k=10, filters={"price": (10, 50)})
"""

from __future__ import annotations

from furima.search._columns import PoolColumns
from furima.search._rerank import LabelRerank
from furima.search._similar import PoolFeatures, SimilarSearch

__all__ = ["LabelRerank", "PoolColumns", "PoolFeatures", "SimilarSearch"]
