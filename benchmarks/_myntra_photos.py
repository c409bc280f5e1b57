"""The Myntra 44k photo catalog and its encoder outputs, cached per data file hash.

Encoding 44k photos takes minutes on 2 cores, so the photo, colour and title features are
kept under ``--cache`` (default ~/.cache/furima/benchmarks) and reused by the search and
listing benchmarks.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

DATA_FILE = Path("images") / "myntra_fashion_44k.parquet"
QUERY_SHARE = 0.2


def read_catalog(data: Path, columns: list[str] | None = None) -> tuple[pd.DataFrame, str]:
    """The photo catalog and its sha256 (or exit with a message when it is missing)."""
    from furima._artifacts import sha256

    file = data / DATA_FILE
    if not file.is_file():
        raise SystemExit(f"{file} not found: pass --data pointing at the shared data folder.")
    return pd.read_parquet(file, columns=columns), sha256(file)


def held_out_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(queries, catalog) row positions: ``QUERY_SHARE`` of the rows held out, seeded."""
    order = np.random.default_rng(seed).permutation(n)
    held = int(n * QUERY_SHARE)
    return np.sort(order[:held]), np.sort(order[held:])


def cached(cache: Path, digest: str, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()`` once per data file and feature name, then read back from ``cache``."""
    file = cache / f"myntra44k-{digest[:16]}-{name}.npy"
    if file.is_file():
        return np.asarray(np.load(file, allow_pickle=False), dtype=np.float32)
    started = time.perf_counter()
    rows = np.asarray(compute(), dtype=np.float32)
    elapsed = time.perf_counter() - started
    print(f"encoded {name}: {len(rows)} rows in {elapsed:.0f} s", file=sys.stderr, flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    partial = file.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(partial, rows)
    os.replace(partial, file)
    return rows


def photo_features(
    table: pd.DataFrame,
    digest: str,
    cache: Path,
    backbone: Path | None = None,
    pooling: str = "average",
    mirror: bool = False,
) -> np.ndarray:
    """EfficientNet-Lite0 features: the stock weights (average or multiscale pooling), or a
    tuned ``backbone`` folder (multiscale: joined to the stock multiscale features, each half
    cached on its own); ``mirror``: averaged with the mirror images' (PhotoEncoder's)."""
    from furima.features import PhotoEncoder
    from furima.features._photo import join_tuned

    if backbone is not None and pooling == "multiscale":
        return join_tuned(
            photo_features(table, digest, cache, pooling=pooling, mirror=mirror),
            photo_features(table, digest, cache, backbone, mirror=mirror),
        )
    encoder = PhotoEncoder(backbone=backbone, pooling=pooling, mirror=mirror)
    stock = encoder.name == "efficientnet-lite0"  # the cache name it always had
    name = "photo" if stock else f"photo-{encoder.name}"
    return cached(
        cache, digest, name, lambda: encoder.encode(table["jpeg"].tolist(), progress=True)
    )


def title_features(table: pd.DataFrame, digest: str, cache: Path) -> np.ndarray:
    from furima.features import MiniLMEncoder

    return cached(
        cache,
        digest,
        "minilm",
        lambda: MiniLMEncoder().encode(table["title"].tolist(), progress=True),
    )


def colour_features(table: pd.DataFrame, digest: str, cache: Path) -> np.ndarray:
    from furima.features import ColourEncoder

    encoder = ColourEncoder()
    return cached(
        cache,
        digest,
        encoder.name,
        lambda: encoder.encode(table["jpeg"].tolist(), progress=True),
    )
