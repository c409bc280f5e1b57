"""Safety benchmark, text tasks: spam learned from labels, and spam from a written policy only.

Data: ``moderation/sms_spam.parquet`` (UCI SMS Spam Collection, ``label`` spam/ham, ``text``),
split 80/20 stratified on the label with ``seed``. Both tasks score the same test texts::

    python benchmarks/_safety_text.py --data ../shared/data

- ``spam``: :class:`furima.safety.TextChecker` fitted on the training labels (word and
  character TF-IDF plus the multilingual sentence vector, logistic regression with C chosen by
  cross-validation on the training part, Platt-calibrated), judged at the threshold that
  cross-validation on the training part found best for F1. Baseline: TF-IDF (default word
  vectorizer) and LogisticRegression (default C), threshold 0.5, fitted in the same run.
- ``spam_zero_shot``: a TextChecker with only :data:`SPAM_POLICY` (a description and five
  example texts written for this benchmark, not taken from the data) and no labels; the
  training texts, unlabelled, are its background. Baseline: cosine similarity to the
  description alone, with no background (the positive rate, a random ranking's AUPRC, is
  printed beside it).

``seconds`` is furima's wall time for the task (sentence encoding included).
"""

from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from furima.features import MultilingualUSEEncoder
from furima.safety._policies import PolicySet
from furima.safety._text_checks import TextChecker

__all__ = ["SPAM_POLICY", "spam_cases", "spam_zero_shot_cases"]

DATA_FILE = "moderation/sms_spam.parquet"
SPAM_POLICY = {
    "name": "spam",
    "description": "Unsolicited advertising or scam messages: claims that you won a prize, cash "
    "or a free gift, offers of ringtones, loans or dating chat, urging you to call a "
    "premium-rate number, text a code or click a link to claim before it expires.",
    "examples": [
        "Congratulations! You have been chosen to receive a $500 gift card. Call 0800 123 456 "
        "now to claim your reward.",
        "URGENT: your entry won our weekly draw. Text WIN to 80555 to collect your cash prize. "
        "Offer ends today.",
        "Get the hottest new ringtones free! Reply YES to subscribe, only 1.50 per week.",
        "Lonely tonight? Chat with local singles now, text DATE to 69123. Adults only.",
        "Your account is eligible for a no-credit-check loan up to 5000. Click the link to "
        "apply, limited time offer.",
    ],
}


def spam_cases(data_dir: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Supervised spam: AUPRC, F1, precision and recall against TF-IDF + LR."""
    split = _split(Path(data_dir), seed)
    baseline, _ = _timed(lambda: _baseline_scores(split))
    encoder = MultilingualUSEEncoder()
    policies = _policies()

    def run() -> tuple[np.ndarray, float]:
        train = encoder.encode(split["train_texts"])
        test = encoder.encode(split["test_texts"])
        checker = TextChecker(policies, encoder=encoder, random_state=seed)
        checker.fit(split["train_texts"], {"spam": split["train_labels"]}, embeddings=train)
        scores = checker.scores(split["test_texts"], embeddings=test)["spam"]
        return scores, checker.supervised_["spam"].metrics["f1_threshold"]

    (scores, threshold), seconds = _timed(run)
    truth = split["test_labels"]
    furima = _metrics(truth, scores, threshold)
    base = _metrics(truth, baseline, 0.5)
    extra = {"threshold": round(float(threshold), 4), "baseline_threshold": 0.5}
    return [
        _line("spam", metric, furima[metric], base[metric], split, seconds, seed, extra)
        for metric in ("auprc", "f1", "precision", "recall")
    ]


def spam_zero_shot_cases(data_dir: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Zero-shot spam: AUPRC from a written policy and unlabelled background texts."""
    from sklearn.metrics import average_precision_score

    split = _split(Path(data_dir), seed)
    encoder = MultilingualUSEEncoder()
    policies = _policies()

    def run() -> tuple[np.ndarray, np.ndarray]:
        background = encoder.encode(split["train_texts"])
        test = encoder.encode(split["test_texts"])
        checker = TextChecker(policies, encoder=encoder, random_state=seed)
        checker.fit([], background=split["train_texts"], background_embeddings=background)
        return checker.scores(split["test_texts"], embeddings=test)["spam"], test

    (scores, test), seconds = _timed(run)
    description = encoder.encode([_policy(policies).description])[0]
    truth = split["test_labels"]
    furima = float(average_precision_score(truth, scores))
    baseline = float(average_precision_score(truth, test @ description))
    extra = {
        "baseline_kind": "cosine to the description alone, no background",
        "positive_rate": round(float(truth.mean()), 4),
        "examples": len(_policy(policies).examples),
    }
    return [_line("spam_zero_shot", "auprc", furima, baseline, split, seconds, seed, extra)]


@lru_cache(maxsize=2)
def _split(data_dir: Path, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    frame = pd.read_parquet(data_dir / DATA_FILE)
    labels = (frame["label"] == "spam").to_numpy(dtype=int)
    train, test = train_test_split(
        np.arange(len(frame)), test_size=0.2, stratify=labels, random_state=seed
    )
    texts = frame["text"].astype(str).to_numpy()
    return {
        "train_texts": texts[train].tolist(),
        "train_labels": labels[train],
        "test_texts": texts[test].tolist(),
        "test_labels": labels[test],
    }


def _baseline_scores(split: dict[str, Any]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer()
    model = LogisticRegression().fit(
        vectorizer.fit_transform(split["train_texts"]), split["train_labels"]
    )
    return np.asarray(model.predict_proba(vectorizer.transform(split["test_texts"]))[:, 1])


def _metrics(truth: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    predicted = scores >= threshold
    return {
        "auprc": float(average_precision_score(truth, scores)),
        "f1": float(f1_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, zero_division=0)),
        "recall": float(recall_score(truth, predicted)),
    }


def _line(
    task: str,
    metric: str,
    furima: float,
    baseline: float,
    split: dict[str, Any],
    seconds: float,
    seed: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "benchmark": "safety",
        "task": task,
        "metric": metric,
        "furima": round(furima, 4),
        "baseline": round(baseline, 4),
        "data": DATA_FILE,
        "rows": len(split["test_texts"]),
        "seconds": round(seconds, 2),
        "seed": seed,
        **extra,
    }


def _policies() -> PolicySet:
    return PolicySet.from_dict({"source": "benchmarks/_safety_text.py", "policy": [SPAM_POLICY]})


def _policy(policies: PolicySet) -> Any:
    return policies["spam"]


def _timed(run: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for case in spam_cases(args.data, args.seed) + spam_zero_shot_cases(args.data, args.seed):
        print(json.dumps(case, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
