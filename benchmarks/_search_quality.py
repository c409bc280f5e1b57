"""Quality cases of benchmarks/search.py: photo and text search on the Myntra 44k photos.

20% of the items (seed 0) are held out as queries; the other 80% train the joint embedding
and form the catalog.

- ``photo_to_photo`` precision@10: a held-out photo's 10 nearest catalog photos that share its
  ``article_type``, through a furima pool (joint embedding, re-ranked by the catalog's product
  types; ``without_rerank``: plain nearest first). Baseline: the raw EfficientNet-Lite0
  features.
- ``text_to_photo`` recall@10: a held-out title finds its own photo among the held-out photos
  (``among_all_photos``: among all 44k). Raw features live in two spaces (photo 1280-d, MiniLM
  384-d), so the baseline maps titles into photo space by least squares fitted on the
  catalog pairs.

Encoder outputs are cached per data file hash under ``--cache`` (they take minutes on 2 cores).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from _myntra_photos import (
    DATA_FILE,
    held_out_split,
    photo_features,
    read_catalog,
    title_features,
)

if TYPE_CHECKING:
    from furima.features import PhotoTextEmbedder
    from furima.index import SearchResult
    from furima.search import PoolColumns, SimilarSearch


def quality_cases(
    data: Path,
    seed: int,
    cache: Path,
    backbone: Path | None = None,
    pooling: str = "multiscale",
    mirror: bool = False,
) -> None:
    """Run both quality cases and print one JSON line per case.

    furima's side encodes photos as a search pool does: the stock weights pooled at every
    block, joined (multiscale ``pooling``) or replaced (average) by ``backbone``'s features if
    given, a backbone tuned on the catalog split only; ``mirror``: each photo averaged with its
    mirror image. The baselines keep the raw ImageNet features (average pooled).
    """
    from furima.features import PhotoEncoder, PhotoTextEmbedder, l2_normalise
    from furima.search import PoolColumns

    table, digest = read_catalog(data, ["id", "title", "article_type", "jpeg"])
    raw_photos = photo_features(table, digest, cache)
    photos = photo_features(table, digest, cache, backbone, pooling, mirror)
    titles = title_features(table, digest, cache)
    queries, catalog = held_out_split(len(table), seed)
    labels = table["article_type"].to_numpy()

    started = time.perf_counter()
    embedder = PhotoTextEmbedder(seed=seed).fit(
        photos[catalog],
        titles[catalog],
        labels[catalog].tolist(),
        texts=table["title"].iloc[catalog].tolist(),
        progress=True,
    )
    fit_s = time.perf_counter() - started
    columns = PoolColumns(id="row", title="title", photo="jpeg", label="article_type")
    catalog_pool = _pool(embedder, columns, table, photos, catalog)
    found, reranked_s = _timed(lambda: catalog_pool.similar_to_features(photos=photos[queries]))
    catalog_pool.rerank = None
    plain, plain_s = _timed(lambda: catalog_pool.similar_to_features(photos=photos[queries]))

    base = {
        "benchmark": "search",
        "data": str(DATA_FILE),
        "data_sha256": digest[:16],
        "rows": len(table),
        "queries": len(queries),
        "seed": seed,
        "photo_backbone": PhotoEncoder(backbone=backbone, pooling=pooling, mirror=mirror).name,
    }
    _emit(
        base,
        "photo_to_photo",
        "precision@10",
        furima=_precision(found, queries, labels),
        without_rerank=_precision(plain, queries, labels),
        search_s=round(reranked_s, 2),
        search_s_without_rerank=round(plain_s, 2),
        baseline=_precision(
            catalog[_search(raw_photos[queries], raw_photos[catalog], 10)], queries, labels
        ),
        baseline_name="raw efficientnet-lite0 features",
        fit_s=round(fit_s, 1),
    )
    mapped = _least_squares_map(titles[catalog], raw_photos[catalog]) @ titles[queries].T
    raw_queries = l2_normalise(mapped.T)
    _emit(
        base,
        "text_to_photo",
        "recall@10",
        furima=_recall(_title_search(embedder, columns, table, photos, titles, queries), queries),
        baseline=_recall(queries[_search(raw_queries, raw_photos[queries], 10)], queries),
        among_all_photos=_recall(
            _title_search(embedder, columns, table, photos, titles, queries, everyone=True),
            queries,
        ),
        baseline_among_all_photos=_recall(_search(raw_queries, raw_photos, 10), queries),
        baseline_name="raw minilm -> efficientnet least-squares map",
        fit_s=round(fit_s, 1),
    )


def _search(queries: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids through furima's own index (cosine)."""
    from furima.index import VectorIndex

    index = VectorIndex(pool.shape[1], backend="exact")
    index.add(np.arange(len(pool)), pool)
    return index.search(queries, k).ids


def _pool(
    embedder: PhotoTextEmbedder,
    columns: PoolColumns,
    table: pd.DataFrame,
    photos: np.ndarray,
    rows: np.ndarray,
) -> SimilarSearch:
    """A furima pool of ``rows`` (listing id = row position) built with the fitted embedder
    from the cached photo features (titles unused: every row has a photo)."""
    from furima.search import PoolFeatures, SimilarSearch

    features = PoolFeatures(has_photo=np.ones(len(rows), dtype=bool), photos=photos[rows])
    listings = table.iloc[rows].assign(row=rows)
    return SimilarSearch.build(
        listings, columns=columns, embedder=embedder, backend="exact", features=features
    )


def _title_search(
    embedder: PhotoTextEmbedder,
    columns: PoolColumns,
    table: pd.DataFrame,
    photos: np.ndarray,
    titles: np.ndarray,
    queries: np.ndarray,
    everyone: bool = False,
) -> np.ndarray:
    """Ids (row positions) found for the held-out titles among the held-out photos (or all)."""
    rows = np.arange(len(table)) if everyone else queries
    pool = _pool(embedder, columns, table, photos, rows)
    return pool.similar_to_features(texts=titles[queries], k=10).ids


def _timed(search: Callable[[], SearchResult]) -> tuple[np.ndarray, float]:
    """Found ids (top 10) of one batch search, and its seconds."""
    started = time.perf_counter()
    found = search().ids
    return found, time.perf_counter() - started


def _precision(found: np.ndarray, queries: np.ndarray, labels: np.ndarray) -> float:
    """Share of found rows that share their query's label."""
    return round(float((labels[found] == labels[queries][:, None]).mean()), 4)


def _recall(found: np.ndarray, queries: np.ndarray) -> float:
    """Share of queries whose own row is among the found ones."""
    return round(float((found == queries[:, None]).any(axis=1).mean()), 4)


def _least_squares_map(source: np.ndarray, target: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """W with target ~ source @ W.T, by ridge-regularised least squares."""
    gram = source.T @ source + ridge * np.eye(source.shape[1], dtype=source.dtype)
    weights: np.ndarray = np.linalg.solve(gram, source.T @ target).T
    return weights


def _emit(base: dict[str, Any], case: str, metric: str, **values: Any) -> None:
    print(json.dumps({**base, "case": case, "metric": metric, **values}), flush=True)
