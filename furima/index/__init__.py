"""Similar-item search: pools of listing vectors with metadata filters, on FAISS.

:class:`VectorIndex` holds float32 vectors keyed by int64 listing ids (cosine or inner
product), searched exactly, with HNSW or with IVF-PQ plus exact re-ranking (``auto`` picks by
size). :class:`ShardedIndex` splits a pool by listing time (hour, day or month shards),
searches shards in parallel and compacts old shards into bigger ones. Both save atomically
to a folder with a checksummed manifest.

Filters (all conditions must hold; fields: ``category``, ``price``, ``status`` and any
declared with ``fields=``)::

    index.search(queries, k=10, filters={"category": ["Shoes", "Bags"],
                                         "price": (10, 50), "status": "on_sale"})
"""

from __future__ import annotations

from furima.index._backends import BACKENDS, HNSWParams, IVFPQParams, choose_backend
from furima.index._checks import METRICS, Metric, SearchResult
from furima.index._metadata import DEFAULT_FIELDS, STATUSES
from furima.index._sharded import GRANULARITIES, ShardedIndex, ShardInfo
from furima.index._vector_index import VectorIndex

__all__ = [
    "BACKENDS",
    "DEFAULT_FIELDS",
    "GRANULARITIES",
    "METRICS",
    "STATUSES",
    "HNSWParams",
    "IVFPQParams",
    "Metric",
    "SearchResult",
    "ShardInfo",
    "ShardedIndex",
    "VectorIndex",
    "choose_backend",
]
