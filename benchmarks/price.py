"""Price suggestion benchmark: furima against a Ridge-on-TF-IDF baseline, in the same run.

Quality, on real data (fixed 80/20 split): Myntra and Flipkart prices from the listing's words,
and ``flipkart_selling_price``, Flipkart's selling price with the retail price given (against
Ridge on the same TF-IDF plus log retail price; ``benchmarks/_price_selling.py``)::

    python benchmarks/price.py --data ../shared/data

Robustness: 5-fold cross-validation of furima and the baseline on each dataset, per-fold RMSLE,
spread and paired differences (``benchmarks/_price_cv.py``; ``--cv-rows N`` subsamples)::

    python benchmarks/price.py --data ../shared/data --cases cv

Level 2: furima's price blend against AutoML on the same level-1 evidence, at the blend's own
fit time and at 60 s, on flipkart_selling_price and myntra_catalog
(``benchmarks/_price_level2.py``)::

    python benchmarks/price.py --data ../shared/data --cases level2

Speed and memory at scale, on generated Mercari-schema listings (never a quality figure)::

    python benchmarks/price.py --scale 1500000

Each case prints one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.catalog import read_listings
from furima.pricing import PriceSuggester, RidgeBaseline, rmsle


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    mapping: str


DATASETS = (
    Dataset("myntra_catalog", "listings/myntra_catalog.parquet", "myntra"),
    Dataset("flipkart_sample", "listings/flipkart_sample.parquet", "flipkart"),
)
SELLING_PRICE = "flipkart_selling_price"
DATASET_NAMES = (*(dataset.name for dataset in DATASETS), SELLING_PRICE)
CASES = ("holdout", "cv", "level2")

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def baseline_rmsle(train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float]:
    """The classic Ridge-on-TF-IDF baseline, fitted and scored in this run."""
    started = time.perf_counter()
    predicted = RidgeBaseline().fit(train).predict(test)
    return rmsle(test["price"], predicted), time.perf_counter() - started


def suggest_latency_ms(model: PriceSuggester, listings: pd.DataFrame, n: int = 200) -> float:
    """p50 of single-listing suggest() calls, in-process."""
    timings = []
    for i in range(min(n, len(listings))):
        one = listings.iloc[[i]]
        started = time.perf_counter()
        model.suggest(one)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000)


def quality_case(data: Path, dataset: Dataset, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    path = data / dataset.file
    listings = read_listings(path, mapping=dataset.mapping, on_error="skip").listings
    listings = listings[listings["price"].notna()].reset_index(drop=True)
    train_rows, test_rows = train_test_split(
        np.arange(len(listings)), test_size=0.2, random_state=seed
    )
    train, test = listings.iloc[train_rows], listings.iloc[test_rows]
    baseline, baseline_s = baseline_rmsle(train, test)
    started = time.perf_counter()
    model = PriceSuggester(random_state=seed).fit(train)
    fit_s = time.perf_counter() - started
    interval = model.predict_interval(test)
    truth = test["price"].to_numpy()
    furima = rmsle(truth, model.predict(test))
    return {
        "benchmark": "price",
        "dataset": dataset.name,
        "metric": "rmsle",
        "furima": round(furima, 4),
        "baseline": round(baseline, 4),
        "improvement": round(1 - furima / baseline, 4),
        "coverage_80": round(
            float(np.mean((interval[:, 0] <= truth) & (truth <= interval[:, 1]))), 4
        ),
        "fit_s": round(fit_s, 2),
        "baseline_fit_s": round(baseline_s, 2),
        "suggest_ms_p50": round(suggest_latency_ms(model, test), 2),
        "rows": len(listings),
        "test_rows": len(test),
        "data_sha256": _sha256(path),
        "seed": seed,
    }


def generate_mercari(n: int, seed: int) -> pd.DataFrame:
    """Synthetic listings in the Kaggle Mercari schema, with Zipf-distributed words.

    Only for speed and memory: prices follow a made-up rule, so quality on this is meaningless.
    """
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(50_000)])
    zipf = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    zipf /= zipf.sum()
    brands = np.array([f"Brand{i}" for i in range(5_000)])
    categories = np.array([f"Top{i % 10}/Mid{i % 100}/Leaf{i}" for i in range(1_200)])
    brand = rng.choice(len(brands), n, p=_zipf(len(brands)))
    category = rng.choice(len(categories), n, p=_zipf(len(categories)))
    name_words = rng.choice(len(words), (n, 5), p=zipf)
    description_words = rng.choice(len(words), (n, 25), p=zipf)
    log_price = 2.5 + (brand % 17) / 8 + (category % 23) / 10 + rng.normal(0, 0.5, n)
    return pd.DataFrame(
        {
            "train_id": np.arange(n),
            "name": [" ".join(r) for r in words[name_words]],
            "item_condition_id": rng.integers(1, 6, n),
            "category_name": categories[category],
            "brand_name": np.where(rng.random(n) < 0.6, brands[brand], ""),
            "price": np.round(np.expm1(log_price), 0).clip(3, None),
            "shipping": rng.integers(0, 2, n),
            "item_description": [" ".join(r) for r in words[description_words]],
        }
    )


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def scale_case(n: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.tsv"
        generate_mercari(n, seed).to_csv(path, sep="\t", index=False)
        started = time.perf_counter()
        listings = read_listings(path).listings
        read_s = time.perf_counter() - started
    started = time.perf_counter()
    model = PriceSuggester(random_state=seed).fit(listings)
    fit_s = time.perf_counter() - started
    return {
        "benchmark": "price",
        "dataset": "generated_mercari_schema",
        "metric": "fit_seconds",
        "furima": round(fit_s, 1),
        "read_s": round(read_s, 1),
        "fit_s": round(fit_s, 1),
        "peak_rss_gb": round(_peak_rss_gb(), 2),
        "suggest_ms_p50": round(suggest_latency_ms(model, listings.tail(200)), 2),
        "mode": model.training_["mode"],
        "rows": n,
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--scale", type=int, help="Generate N Mercari-schema listings instead.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dataset", action="append", help=f"Only these datasets: {', '.join(DATASET_NAMES)}."
    )
    parser.add_argument(
        "--cases", default="holdout", help=f"Comma-separated, of {', '.join(CASES)}."
    )
    parser.add_argument("--folds", type=int, default=5, help="Folds of the cv case.")
    parser.add_argument("--cv-rows", type=int, help="Subsample each dataset to N rows for cv.")
    parser.add_argument(
        "--withhold-retail-price",
        action="store_true",
        help=f"Give furima no retail price in {SELLING_PRICE} (its words-only figure).",
    )
    args = parser.parse_args(argv)
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    unknown = sorted({*(set(cases) - set(CASES)), *(set(args.dataset or ()) - set(DATASET_NAMES))})
    if unknown:
        parser.error(f"unknown cases or datasets {unknown}")
    if args.folds < 2 or (args.cv_rows is not None and args.cv_rows < 10 * args.folds):
        parser.error("--folds must be at least 2 and --cv-rows at least 10 rows per fold")
    if args.scale:
        print(json.dumps(scale_case(args.scale, args.seed)), flush=True)
        return
    if not args.data.is_dir():
        sys.exit(f"data folder {str(args.data)!r} not found; pass --data DIR")
    names = [name for name in DATASET_NAMES if not args.dataset or name in args.dataset]
    if "holdout" in cases:
        for name in names:
            row = _holdout(args.data, name, args.seed, args.withhold_retail_price)
            print(json.dumps(row), flush=True)
    if "cv" in cases:
        from _price_cv import cv_case

        for name in names:
            dataset = _priced_data(args.data, name, args.withhold_retail_price)
            row = cv_case(dataset, args.seed, folds=args.folds, max_rows=args.cv_rows)
            print(json.dumps(row), flush=True)
    if "level2" in cases:
        from _price_level2 import LEVEL2_DATASETS, level2_case

        for name in (name for name in names if name in LEVEL2_DATASETS):
            dataset = _priced_data(args.data, name, args.withhold_retail_price)
            print(json.dumps(level2_case(dataset, args.seed)), flush=True)


def _holdout(data: Path, name: str, seed: int, withhold_retail: bool) -> dict[str, Any]:
    if name == SELLING_PRICE:
        from _price_selling import selling_price_case

        return selling_price_case(data, seed, withhold_retail=withhold_retail)
    return quality_case(data, next(d for d in DATASETS if d.name == name), seed)


def _priced_data(data: Path, name: str, withhold_retail: bool) -> Any:
    """The dataset as the cv case takes it, read as the holdout case reads it."""
    from _price_cv import load_preset
    from _price_selling import load_selling_price

    if name == SELLING_PRICE:
        return load_selling_price(data, withhold_retail=withhold_retail)
    dataset = next(d for d in DATASETS if d.name == name)
    return load_preset(data, dataset.name, dataset.file, dataset.mapping)


if __name__ == "__main__":
    main()
