"""Payment risk: transaction fraud and credit scoring for deferred payment.

So far: a fraud scorer (LightGBM on point-in-time entity features, validated on the future
with late labels, with per-feature reasons, an alert budget and a cost-based threshold), a
seeded transaction simulator (customers, terminals, compromised terminals and
cards, after the Fraud Detection Handbook's published description), a time-ordered split that
respects late labels, point-in-time entity features over time windows, and stability (PSI)
and approval-rate reports; a credit ``Scorecard`` (optbinning's monotone binning, weight of
evidence, a logistic scorecard in points, reason codes an applicant understands). Both
models save to open formats (LightGBM's text model, Parquet, JSON) and load without
refitting.

    from furima.risk import EntityFeatures, FraudScorer, simulate_transactions, time_split

    transactions = simulate_transactions(days=91, seed=0)
    features = EntityFeatures(["customer_id", "terminal_id"]).transform(transactions)
    split = time_split(transactions, time="timestamp", label="is_fraud", label_delay=7 * 86400)
    scorer = FraudScorer().fit(transactions)  # scorer.validation_.auprc
"""

from furima.risk._alerts import alert_budget, cost_threshold
from furima.risk._calibration import expected_calibration_error
from furima.risk._credit_gbm import CreditBlend, CreditGBM
from furima.risk._credit_limits import credit_limits
from furima.risk._entity_features import EntityFeatures
from furima.risk._fraud import FraudScorer, FraudValidation
from furima.risk._fraud_report import write_fraud_report
from furima.risk._points import LoadedScorecard
from furima.risk._report import write_credit_report
from furima.risk._scorecard import Scorecard
from furima.risk._simulator import (
    CUSTOMER_COMPROMISE_DAYS,
    FRAUD_AMOUNT_THRESHOLD,
    TERMINAL_COMPROMISE_DAYS,
    Simulation,
    SimulatorSettings,
    simulate,
    simulate_transactions,
)
from furima.risk._stability import (
    approval_rates,
    population_stability_index,
    psi_band,
    stability_report,
)
from furima.risk._time_split import TimeSplit, time_split

__all__ = [
    "CUSTOMER_COMPROMISE_DAYS",
    "FRAUD_AMOUNT_THRESHOLD",
    "TERMINAL_COMPROMISE_DAYS",
    "CreditBlend",
    "CreditGBM",
    "EntityFeatures",
    "FraudScorer",
    "FraudValidation",
    "LoadedScorecard",
    "Scorecard",
    "Simulation",
    "SimulatorSettings",
    "TimeSplit",
    "alert_budget",
    "approval_rates",
    "cost_threshold",
    "credit_limits",
    "expected_calibration_error",
    "population_stability_index",
    "psi_band",
    "simulate",
    "simulate_transactions",
    "stability_report",
    "time_split",
    "write_credit_report",
    "write_fraud_report",
]
