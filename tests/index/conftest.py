"""Shared fixtures for the index tests: small clustered vectors with metadata.

FAISS's OpenMP threads spin while waiting by default; on a busy 2-core machine that makes
small searches slow. Passive waiting changes no result; it must be set before faiss loads.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from furima.index import IVFPQParams, VectorIndex

DIM = 32
CATEGORIES = np.array(["Shoes", "Bags", "Toys", "Books", "Watches"])

# One contract suite runs every backend; IVF-PQ gets small lists so training stays fast.
BACKENDS = {
    "exact": {"backend": "exact"},
    "hnsw": {"backend": "hnsw"},
    "ivfpq": {"backend": "ivfpq", "params": IVFPQParams(nlist=32, nprobe=8, nbits=6)},
}
MIN_RECALL = {"exact": 1.0, "hnsw": 0.95, "ivfpq": 0.9}


@dataclass(frozen=True)
class Pool:
    ids: np.ndarray
    vectors: np.ndarray
    queries: np.ndarray
    metadata: dict[str, Any]


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray) -> np.ndarray:
    noise = rng.standard_normal((n, centres.shape[1])).astype(np.float32) * 0.35
    return (centres[rng.integers(0, len(centres), n)] + noise).astype(np.float32)


@pytest.fixture(scope="session")
def pool() -> Pool:
    """3,000 clustered 32-d vectors with sparse ids, category, price and status."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((40, DIM)).astype(np.float32)
    n = 3000
    metadata = {
        "category": CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
        "price": np.round(rng.uniform(1, 200, n), 2),
        "status": np.where(rng.random(n) < 0.7, "on_sale", "sold"),
    }
    ids = rng.choice(10**9, n, replace=False).astype(np.int64)
    return Pool(ids, clustered(rng, n, centres), clustered(rng, 100, centres), metadata)


def exact_ids(pool: Pool, queries: np.ndarray, k: int, keep: np.ndarray | None = None) -> Any:
    """Brute-force cosine top-k ids (numpy only), over the rows ``keep`` selects."""
    vectors = pool.vectors / np.linalg.norm(pool.vectors, axis=1, keepdims=True)
    unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = unit @ vectors.T
    if keep is not None:
        scores[:, ~keep] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.where(np.take_along_axis(scores, order, 1) > -np.inf, pool.ids[order], -1)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(np.intersect1d(f[f >= 0], t[t >= 0])) for f, t in zip(found, truth, strict=True))
    return hits / max(int(np.count_nonzero(truth >= 0)), 1)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def built(pool: Pool, backend: str) -> VectorIndex:
    """A fresh index of the pool on each backend."""
    return VectorIndex(DIM, **BACKENDS[backend]).add(pool.ids, pool.vectors, pool.metadata)
