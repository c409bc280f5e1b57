"""Price suggestion: a price and a calibrated range for a listing, with comparables::

from furima.pricing import PriceSuggester

model = PriceSuggester().fit(train_listings)        # listings with a price column
model.suggest(new_listings)[0].to_dict()
# {"price": 1290.0, "low": 840.0, "high": 1990.0, "coverage": 0.8, "comparables": [...]}
model.save("models/price")
PriceSuggester.load("models/price")

and the chance that a listing sells within N days at a given price (``SellChanceModel``,
trained on listings with outcomes; ``simulate_sales`` makes a documented simulation to test
it, since no real sale outcomes ship with furima).
"""

from __future__ import annotations

from furima.pricing._baseline import RidgeBaseline
from furima.pricing._sell_chance import SellChanceModel
from furima.pricing._sell_simulation import DemandCurve, SaleSimulation, simulate_sales
from furima.pricing._suggester import Comparable, PriceSuggester, PriceSuggestion

__all__ = [
    "Comparable",
    "DemandCurve",
    "PriceSuggester",
    "PriceSuggestion",
    "RidgeBaseline",
    "SaleSimulation",
    "SellChanceModel",
    "rmsle",
    "simulate_sales",
]


def rmsle(y_true: object, y_pred: object) -> float:
    """Root mean squared log error, the Mercari Price Suggestion metric."""
    import numpy as np

    true = np.log1p(np.asarray(y_true, dtype=np.float64))
    pred = np.log1p(np.asarray(y_pred, dtype=np.float64))
    return float(np.sqrt(np.mean((true - pred) ** 2)))
