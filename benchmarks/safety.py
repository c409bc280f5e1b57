"""Safety benchmark: spam, zero-shot policies, product matching, duplicate photos, price
anomalies and speed, each against the baseline the issue names, fitted in the same run.

One JSON line per case and metric::

    {"benchmark": "safety", "task": "spam", "metric": "f1", "furima": ..., "baseline": ...,
     "data": "moderation/sms_spam.parquet", "rows": ..., "seconds": ..., "seed": 0}

Tasks (``--tasks`` picks some):

- ``spam``: SMS Spam, stratified 80/20 split; furima's text checker against TF-IDF + logistic
  regression (``benchmarks/_safety_text.py``);
- ``spam_zero_shot``: the same test texts scored from a written policy and five examples only;
- ``matching_abt_buy``, ``matching_amazon_google``: the entity-matching splits; furima's
  product matcher against TF-IDF cosine + logistic regression (``_safety_matching.py``);
- ``duplicate_photos``: Myntra photos against their re-encoded, resized, cropped and mirrored
  copies mixed into the catalog (``_safety_duplicates.py``);
- ``price_anomaly``: real Myntra prices, a held-out fifth re-priced at a fifth of their price
  (the classic too-cheap scam) beside the untouched rest;
- ``speed``: listings checked per second on this machine with text and photo checks on
  (against the text checks alone), and p99 per listing at the server.

    python benchmarks/safety.py --data ../shared/data
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cases import Runner, run_cases

TASKS = (
    "spam",
    "spam_zero_shot",
    "matching_abt_buy",
    "matching_amazon_google",
    "duplicate_photos",
    "price_anomaly",
    "speed",
)


def main(argv: list[str] | None = None) -> None:
    run_cases("safety", __doc__, TASKS, _runners, argv, option="tasks")


def _runners() -> dict[str, Runner]:
    from _safety_duplicates import duplicate_photo_cases
    from _safety_matching import matching_cases
    from _safety_speed import price_anomaly_cases, speed_cases
    from _safety_text import spam_cases, spam_zero_shot_cases

    return {
        "spam": spam_cases,
        "spam_zero_shot": spam_zero_shot_cases,
        "matching_abt_buy": lambda data, seed: matching_cases(data, "abt_buy", seed),
        "matching_amazon_google": lambda data, seed: matching_cases(data, "amazon_google", seed),
        "duplicate_photos": duplicate_photo_cases,
        "price_anomaly": price_anomaly_cases,
        "speed": speed_cases,
    }


if __name__ == "__main__":
    main()
