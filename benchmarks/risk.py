"""Payment risk benchmark: fraud scoring on real and simulated transactions, with baselines.

Each task trains and scores furima and the baselines the issue names in the same run.

One JSON line per task and metric::

    {"benchmark": "risk", "task": "fraud_ulb", "metric": "auprc", "furima": ...,
     "lightgbm": ..., "flaml": ..., "furima_ci": [lo, hi], ..., "data":
     "fraud/creditcard_ulb.parquet", "rows": ..., "seconds": ..., "seed": 0}

Tasks (``--tasks`` picks some; fraud in ``benchmarks/_risk_fraud.py``, credit in
``_risk_credit.py``, latency in ``_risk_latency.py``, each described in its module):

- ``fraud_ulb``: the ULB credit-card table split by time (the first 80% of its time span
  trains, the last 20% tests). ``furima`` is :class:`furima.risk.FraudScorer` on V1..V28 and
  Amount (no keys, no label delay; it holds out its own later validation part for early
  stopping); ``lightgbm`` is ``LGBMClassifier()`` with defaults on the same training rows;
  ``flaml`` is FLAML AutoML (metric ``ap``, its own holdout) given furima's fit time as its
  budget; ``furima_automl_60s`` is the scorer with ``model="automl"`` (furima's AutoML engine
  searching its families) and ``flaml_60s`` FLAML, both given 60 s. Metrics: ``auprc`` with
  a paired bootstrap 95% interval over test rows (200 resamples, seeded; ``*_ci`` fields),
  ``auc``, ``precision_top100`` (the share of frauds among the 100 highest-scored test rows).
- ``fraud_simulated``: :func:`furima.risk.simulate_transactions` with 5,000 customers, 10,000
  terminals and 183 days (about 1.85M transactions, seeded by ``--seed``), split by time the
  same way. ``furima`` is the scorer with per-customer and per-terminal entity features,
  ``lightgbm`` the same scorer with ``keys=()`` (amount only). Test rows get their entity
  features from the whole table with labels known only after the 7-day delay, as a deployment
  that receives chargebacks would. Metrics: ``auprc`` and ``card_precision_top100``: per test
  day, the share of the 100 highest-scored distinct customers (a customer's score is its
  highest that day) with a fraud that day, averaged over test days. Unlike the Fraud
  Detection Handbook's version it does not remove cards already caught on earlier days.
- ``credit_german``, ``credit_data``: repeated stratified 5-fold on the two credit tables;
  ``furima`` is :class:`furima.risk.CreditBlend` (scorecard and monotone LightGBM averaged),
  its parts ``furima_scorecard`` and ``furima_gbm``, against an optbinning scorecard with
  default settings (``optbinning``) and plain logistic regression (``logistic``). Metrics:
  ``auc``, ``ks``, ``brier``, ``ece`` (and ``ece_floor``, what a perfectly calibrated model
  would show on these rows by chance), ``monotone_bins``, ``declined_with_reason``.
- ``latency``: p99 of ``POST /v1/fraud:score`` and ``POST /v1/credit:score`` with one
  transaction or applicant per request at the registry server, against the same call
  in-process.

    python benchmarks/risk.py --data ../shared/data --tasks fraud_ulb
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cases import Runner, run_cases

TASKS = ("fraud_ulb", "fraud_simulated", "credit_german", "credit_data", "latency")


def main(argv: list[str] | None = None) -> None:
    run_cases("risk", __doc__, TASKS, _runners, argv, option="tasks")


def _runners() -> dict[str, Runner]:
    def fraud_ulb(data: Path, seed: int) -> list[dict[str, Any]]:
        from _risk_fraud import run_fraud_ulb

        return run_fraud_ulb(data, seed)

    def fraud_simulated(data: Path, seed: int) -> list[dict[str, Any]]:
        from _risk_fraud import run_fraud_simulated

        return run_fraud_simulated(data, seed)

    def credit_german(data: Path, seed: int) -> list[dict[str, Any]]:
        from _risk_credit import run_credit_german

        return run_credit_german(data, seed)

    def credit_data(data: Path, seed: int) -> list[dict[str, Any]]:
        from _risk_credit import run_credit_data

        return run_credit_data(data, seed)

    def latency(data: Path, seed: int) -> list[dict[str, Any]]:
        from _risk_latency import run_risk_latency

        return run_risk_latency(data, seed)

    return {
        "fraud_ulb": fraud_ulb,
        "fraud_simulated": fraud_simulated,
        "credit_german": credit_german,
        "credit_data": credit_data,
        "latency": latency,
    }


if __name__ == "__main__":
    main()
