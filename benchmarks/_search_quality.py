"""Quality cases of benchmarks/search.py: photo and text search on the Myntra 44k photos.

20% of the items (seed 0) are held out as queries; the other 80% train the joint embedding
and form the catalog.

- ``photo_to_photo`` precision@10: a held-out photo's 10 nearest catalog photos that share its
  ``article_type``. Baseline: the raw EfficientNet-Lite0 features.
- ``text_to_photo`` recall@10: a held-out title finds its own photo among the held-out photos
  (``among_all_photos``: among all 44k). Raw features live in two spaces (photo 1280-d, MiniLM
  384-d), so the baseline maps titles into photo space by least squares fitted on the
  catalog pairs.

Encoder outputs are cached per data file hash under ``--cache`` (they take minutes on 2 cores).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _myntra_photos import (
    DATA_FILE,
    held_out_split,
    photo_features,
    read_catalog,
    title_features,
)


def quality_cases(data: Path, seed: int, cache: Path, backbone: Path | None = None) -> None:
    """Run both quality cases and print one JSON line per case.

    furima's side encodes photos as a search pool does: the stock weights pooled at every
    block, or, given ``backbone``, that tuned backbone folder (tuned on the catalog split
    only). The baselines keep the raw ImageNet features (average pooled).
    """
    from furima.features import PhotoEncoder, PhotoTextEmbedder, l2_normalise

    table, digest = read_catalog(data, ["id", "title", "article_type", "jpeg"])
    raw_photos = photo_features(table, digest, cache)
    pooling = "average" if backbone else "multiscale"
    photos = photo_features(table, digest, cache, backbone, pooling)
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
    shared_photos = embedder.transform_photos(photos)
    shared_titles = embedder.transform_texts(titles[queries])

    base = {
        "benchmark": "search",
        "data": str(DATA_FILE),
        "data_sha256": digest[:16],
        "rows": len(table),
        "queries": len(queries),
        "seed": seed,
        "photo_backbone": PhotoEncoder(backbone=backbone, pooling=pooling).name,
    }
    _emit(
        base,
        "photo_to_photo",
        "precision@10",
        furima=_precision_at_10(shared_photos, queries, catalog, labels),
        baseline=_precision_at_10(raw_photos, queries, catalog, labels),
        baseline_name="raw efficientnet-lite0 features",
        fit_s=round(fit_s, 1),
    )
    mapped = _least_squares_map(titles[catalog], raw_photos[catalog]) @ titles[queries].T
    raw_queries = l2_normalise(mapped.T)
    _emit(
        base,
        "text_to_photo",
        "recall@10",
        furima=_recall_at_10(shared_titles, shared_photos[queries]),
        baseline=_recall_at_10(raw_queries, raw_photos[queries]),
        among_all_photos=_recall_at_10(shared_titles, shared_photos, own=queries),
        baseline_among_all_photos=_recall_at_10(raw_queries, raw_photos, own=queries),
        baseline_name="raw minilm -> efficientnet least-squares map",
        fit_s=round(fit_s, 1),
    )


def _search(queries: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids through furima's own index (cosine)."""
    from furima.index import VectorIndex

    index = VectorIndex(pool.shape[1], backend="exact")
    index.add(np.arange(len(pool)), pool)
    return index.search(queries, k).ids


def _precision_at_10(
    vectors: np.ndarray, queries: np.ndarray, catalog: np.ndarray, labels: np.ndarray
) -> float:
    found = catalog[_search(vectors[queries], vectors[catalog], 10)]
    return round(float((labels[found] == labels[queries][:, None]).mean()), 4)


def _recall_at_10(texts: np.ndarray, photos: np.ndarray, own: np.ndarray | None = None) -> float:
    wanted = np.arange(len(texts)) if own is None else own
    found = _search(texts, photos, 10)
    return round(float((found == wanted[:, None]).any(axis=1).mean()), 4)


def _least_squares_map(source: np.ndarray, target: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """W with target ~ source @ W.T, by ridge-regularised least squares."""
    gram = source.T @ source + ridge * np.eye(source.shape[1], dtype=source.dtype)
    weights: np.ndarray = np.linalg.solve(gram, source.T @ target).T
    return weights


def _emit(base: dict[str, Any], case: str, metric: str, **values: Any) -> None:
    print(json.dumps({**base, "case": case, "metric": metric, **values}), flush=True)
