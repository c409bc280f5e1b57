"""Safety benchmark, product matching: the Abt-Buy and Amazon-Google entity-matching splits.

Data: ``matching/abt_buy.parquet`` and ``matching/amazon_google.parquet``, the train / valid /
test splits of the Ditto and DeepMatcher papers::

    python benchmarks/_safety_matching.py --data ../shared/data [--datasets abt_buy]

Both sides are put in furima's listings vocabulary: Abt-Buy ``name``, ``description``,
``price``; Amazon-Google ``name`` (title), ``brand`` (manufacturer), ``price``. The split
files carry the serialisation left-over "COL price VAL" where a price was missing (appended
to the description, or to the manufacturer); it is removed.

furima: :class:`furima.safety.ProductMatcher` fitted on train, threshold chosen on valid.
Baseline, in the same run: the cosine between TF-IDF vectors (fitted on the training texts)
of each side's fields joined into one text, and a logistic regression on it, threshold
chosen on valid. Both report F1, precision and recall on test (``valid`` holds the same
metric on valid). ``seconds``: furima's fit and test scoring. ``published``: test F1 from
the Ditto (VLDB 2021) and DeepMatcher (SIGMOD 2018, Hybrid) papers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATASETS = ("abt_buy", "amazon_google")
PUBLISHED = {
    "abt_buy": {"ditto": 89.33, "deepmatcher": 62.8},
    "amazon_google": {"ditto": 75.58, "deepmatcher": 69.3},
}
_FIELDS = {  # furima column -> the split file's field, per side
    "abt_buy": {"name": "name", "description": "description", "price": "price"},
    "amazon_google": {"name": "title", "brand": "manufacturer", "price": "price"},
}
_LEFT_OVER = r"\s*COL price VAL\s*"
SPLITS = ("train", "valid", "test")


def log(message: str) -> None:
    print(f"[matching {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def listings(pairs: pd.DataFrame, dataset: str, side: str) -> pd.DataFrame:
    """One side of the pairs as listings (name, description or brand, price)."""
    columns: dict[str, Any] = {}
    for column, field in _FIELDS[dataset].items():
        values = pairs[f"{side}_{field}"]
        if column == "price":
            columns[column] = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        else:
            text = values.fillna("").astype(str).str.replace(_LEFT_OVER, " ", regex=True)
            columns[column] = text.str.strip().to_numpy(object)
    return pd.DataFrame(columns)


def load_splits(
    data_dir: Path, dataset: str
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]]:
    """``{split: (left, right, labels)}`` from the dataset's parquet file."""
    pairs = pd.read_parquet(data_dir / "matching" / f"{dataset}.parquet")
    out = {}
    for split in SPLITS:
        part = pairs[pairs["split"] == split].reset_index(drop=True)
        labels = part["label"].to_numpy(np.int64)
        out[split] = (listings(part, dataset, "left"), listings(part, dataset, "right"), labels)
    return out


def _joined(frame: pd.DataFrame) -> list[str]:
    text = frame.drop(columns="price").astype(str).agg(" ".join, axis=1)
    return [line.strip() for line in text]


def best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score cut with the highest F1 (predict a match at or above it)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    return {
        "f1": float(f1_score(labels, predicted)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted)),
    }


def baseline(splits: dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]]) -> dict[str, Any]:
    """TF-IDF cosine of the joined texts + logistic regression; threshold on valid."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    left, right, labels = splits["train"]
    vectorizer = TfidfVectorizer(sublinear_tf=True).fit(_joined(left) + _joined(right))

    def cosine(split: str) -> np.ndarray:
        first, second = (vectorizer.transform(_joined(side)) for side in splits[split][:2])
        return np.asarray(first.multiply(second).sum(axis=1))

    model = LogisticRegression().fit(cosine("train"), labels)
    scores = {split: model.predict_proba(cosine(split))[:, 1] for split in ("valid", "test")}
    threshold = best_threshold(splits["valid"][2], scores["valid"])
    return {split: metrics(splits[split][2], scores[split] >= threshold) for split in scores}


def furima_matcher(
    splits: dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]], seed: int
) -> tuple[dict[str, Any], float]:
    """ProductMatcher fitted on train, threshold on valid; metrics and seconds."""
    from furima.safety._matching import ProductMatcher

    start = time.perf_counter()
    matcher = ProductMatcher(seed=seed).fit(*splits["train"], valid=splits["valid"])
    log(f"fitted in {time.perf_counter() - start:.0f}s, threshold {matcher.threshold_:.3f}")
    test = matcher.predict(*splits["test"][:2])
    seconds = time.perf_counter() - start
    valid = matcher.predict(*splits["valid"][:2])
    results = {
        "valid": metrics(splits["valid"][2], valid),
        "test": metrics(splits["test"][2], test),
    }
    return results, seconds


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def matching_cases(data_dir: Path, dataset: str, seed: int = 0) -> list[dict[str, Any]]:
    """JSON-ready lines (f1, precision, recall on test) for one dataset."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, but got {dataset!r}.")
    path = Path(data_dir) / "matching" / f"{dataset}.parquet"
    splits = load_splits(Path(data_dir), dataset)
    log(f"{dataset}: " + ", ".join(f"{s} {len(splits[s][2])}" for s in SPLITS))
    ours, seconds = furima_matcher(splits, seed)
    theirs = baseline(splits)
    lines = [
        {
            "benchmark": "safety",
            "task": f"matching_{dataset}",
            "metric": metric,
            "furima": round(ours["test"][metric], 4),
            "baseline": round(theirs["test"][metric], 4),
            "valid": {
                "furima": round(ours["valid"][metric], 4),
                "baseline": round(theirs["valid"][metric], 4),
            },
            "data": f"matching/{dataset}.parquet",
            "data_sha256": _digest(path),
            "rows": len(splits["test"][2]),
            "seconds": round(seconds, 1),
            "seed": seed,
        }
        for metric in ("f1", "precision", "recall")
    ]
    lines[0]["published"] = PUBLISHED[dataset]  # published figures are test F1
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for dataset in args.datasets.split(","):
        for line in matching_cases(args.data, dataset.strip(), args.seed):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
