"""The tasks of benchmarks/automl.py: one loader per task, each a fixed, seeded train/test split.

Every loader returns a :class:`BenchTask` whose ``X_*`` are raw DataFrames (what furima's
AutoML reads) and whose ``text`` / ``categorical`` fields name the columns the baselines'
shared featurization turns into TF-IDF and one-hot; every other column is numeric.
A task whose input is missing raises :class:`TaskSkipped`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from furima._artifacts import sha256

Kind = Literal["regression", "binary", "multiclass"]
Metric = Literal["rmsle", "auprc", "accuracy"]

PHOTO_CLASSES = 20
PHOTO_MAX_ROWS = 15_000
PHOTO_DIMENSIONS = 64
TEST_SHARE = 0.2


@dataclass(frozen=True)
class BenchTask:
    """One train/test split with its metric; the test part is only for the final score."""

    name: str
    kind: Kind
    metric: Metric
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    data_sha256: str
    rows: int
    text: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    split: str = "random"
    features: str = "raw columns"

    @property
    def time_ordered(self) -> bool:
        return self.split == "time-ordered"


class TaskSkipped(Exception):
    """The task's input is not there; the message says what is missing."""


def _require(path: Path) -> Path:
    if not path.is_file():
        raise TaskSkipped(f"{path} not found: pass --data pointing at the shared data folder.")
    return path


def _random_split(n: int, seed: int, stratify: np.ndarray | None = None) -> tuple[Any, Any]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(n), test_size=TEST_SHARE, random_state=seed, stratify=stratify
    )
    return np.asarray(train), np.asarray(test)


def _from_rows(
    name: str,
    kind: Kind,
    metric: Metric,
    X: pd.DataFrame,
    y: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    **fields: Any,
) -> BenchTask:
    train, test = rows
    return BenchTask(
        name=name,
        kind=kind,
        metric=metric,
        X_train=X.iloc[train].reset_index(drop=True),
        y_train=y[train],
        X_test=X.iloc[test].reset_index(drop=True),
        y_test=y[test],
        rows=len(X),
        **fields,
    )


def _price(name: str, path: Path, mapping: str, seed: int) -> BenchTask:
    """Listings with a positive price, split like benchmarks/price.py (random 80/20)."""
    from furima.catalog import read_listings

    listings = read_listings(_require(path), mapping=mapping, on_error="skip").listings
    price = listings["price"]
    listings = listings[price.notna() & (price > 0)].reset_index(drop=True)
    X = listings.drop(columns=["listing_id", "price"])
    X = X.loc[:, X.notna().any()]
    text = tuple(c for c in ("name", "description") if c in X.columns)
    categorical = tuple(
        c for c in X.columns if c not in text and not pd.api.types.is_numeric_dtype(X[c])
    )
    y = listings["price"].to_numpy(dtype=np.float64)
    return _from_rows(
        name,
        "regression",
        "rmsle",
        X,
        y,
        _random_split(len(X), seed),
        data_sha256=sha256(path)[:16],
        text=text,
        categorical=categorical,
    )


def price_myntra(data: Path, seed: int, cache: Path) -> BenchTask:
    return _price("price_myntra", data / "listings/myntra_catalog.parquet", "myntra", seed)


def price_flipkart(data: Path, seed: int, cache: Path) -> BenchTask:
    return _price("price_flipkart", data / "listings/flipkart_sample.parquet", "flipkart", seed)


def spam(data: Path, seed: int, cache: Path) -> BenchTask:
    """SMS spam (positive class 1 = spam) from the text alone, stratified 80/20."""
    path = _require(data / "moderation/sms_spam.parquet")
    table = pd.read_parquet(path, columns=["label", "text"])
    y = (table["label"] == "spam").to_numpy(dtype=np.int64)
    X = table[["text"]].astype({"text": "string"})
    return _from_rows(
        "spam",
        "binary",
        "auprc",
        X,
        y,
        _random_split(len(X), seed, stratify=y),
        data_sha256=sha256(path)[:16],
        text=("text",),
        split="stratified",
    )


def fraud(data: Path, seed: int, cache: Path) -> BenchTask:
    """Card fraud: sorted by ``Time``, the first 80% train and the last 20% test.

    ``Time`` itself is dropped from the features: with a time-ordered split it only says
    "later than everything seen", which no model can use. The split does not depend on seed.
    """
    path = _require(data / "fraud/creditcard_ulb.parquet")
    table = pd.read_parquet(path)
    table = table.sort_values("Time", kind="stable").reset_index(drop=True)
    X = table.drop(columns=["Time", "Class"])
    y = table["Class"].to_numpy(dtype=np.int64)
    cut = round(len(X) * (1 - TEST_SHARE))
    return _from_rows(
        "fraud",
        "binary",
        "auprc",
        X,
        y,
        (np.arange(cut), np.arange(cut, len(X))),
        data_sha256=sha256(path)[:16],
        split="time-ordered",
    )


def photo_article_type(data: Path, seed: int, cache: Path) -> BenchTask:
    """Article type (the 20 commonest) from cached EfficientNet-Lite0 photo features.

    At most 15k rows (seeded sample), stratified 80/20; PCA to 64 dimensions fitted on the
    train rows, the same input for every system. Features are never computed here: run
    benchmarks/search.py once to fill the cache.
    """
    from sklearn.decomposition import PCA

    path = _require(data / "images/myntra_fashion_44k.parquet")
    digest = sha256(path)
    features_file = cache / f"myntra44k-{digest[:16]}-photo.npy"
    if not features_file.is_file():
        raise TaskSkipped(f"no cached photo features at {features_file}")
    photos = np.load(features_file, allow_pickle=False)
    labels = pd.read_parquet(path, columns=["article_type"])["article_type"].to_numpy()
    if len(photos) != len(labels):
        raise TaskSkipped(f"{features_file} has {len(photos)} rows, the catalog {len(labels)}")
    counts = pd.Series(labels).value_counts()
    keep = np.flatnonzero(np.isin(labels, counts.index[:PHOTO_CLASSES]))
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(keep, min(PHOTO_MAX_ROWS, len(keep)), replace=False))
    _, y = np.unique(labels[keep], return_inverse=True)
    train, test = _random_split(len(keep), seed, stratify=y)
    pca = PCA(n_components=PHOTO_DIMENSIONS, random_state=seed).fit(photos[keep[train]])
    reduced = pca.transform(photos[keep]).astype(np.float32)
    X = pd.DataFrame(reduced, columns=[f"pc{i}" for i in range(PHOTO_DIMENSIONS)])
    return _from_rows(
        "photo_article_type",
        "multiclass",
        "accuracy",
        X,
        y.astype(np.int64),
        (train, test),
        data_sha256=digest[:16],
        split="stratified",
        features=f"efficientnet-lite0 photo features, pca{PHOTO_DIMENSIONS} fitted on train",
    )


Loader = Callable[[Path, int, Path], BenchTask]

TASKS: dict[str, Loader] = {
    "price_myntra": price_myntra,
    "price_flipkart": price_flipkart,
    "spam": spam,
    "fraud": fraud,
    "photo_article_type": photo_article_type,
}


def add_search_arguments(parser: Any, *, trials: int, seeds: str) -> None:
    """The options every study-comparison benchmark takes: data, task, trials, seeds, cache."""
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--task", choices=sorted(TASKS), default="photo_article_type")
    parser.add_argument("--trials", type=int, default=trials, help="trials per run")
    parser.add_argument("--budget", type=float, default=1800.0, help="a cap per run (seconds)")
    parser.add_argument("--seeds", default=seeds, help="comma-separated")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/furima/benchmarks")


def task_and_seeds(args: Any) -> tuple[BenchTask, list[int]]:
    """The task named by ``add_search_arguments``'s options (split with the first seed), and
    the seeds; exits with the reason when the task's data is missing."""
    seeds = [int(s) for s in args.seeds.split(",")]
    try:
        return TASKS[args.task](args.data, seeds[0], args.cache), seeds
    except TaskSkipped as skipped:
        sys.exit(str(skipped))
