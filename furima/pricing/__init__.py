"""Price suggestion: a price and a calibrated range for a listing, with comparables::

from furima.pricing import PriceSuggester

model = PriceSuggester().fit(train_listings)        # listings with a price column
model.suggest(new_listings)[0].to_dict()
# {"price": 1290.0, "low": 840.0, "high": 1990.0, "coverage": 0.8, "comparables": [...]}
model.save("models/price")
PriceSuggester.load("models/price")
"""

from __future__ import annotations

from furima.pricing._baseline import RidgeBaseline
from furima.pricing._suggester import Comparable, PriceSuggester, PriceSuggestion

__all__ = ["Comparable", "PriceSuggester", "PriceSuggestion", "RidgeBaseline", "rmsle"]


def rmsle(y_true: object, y_pred: object) -> float:
    """Root mean squared log error, the Mercari Price Suggestion metric."""
    import numpy as np

    true = np.log1p(np.asarray(y_true, dtype=np.float64))
    pred = np.log1p(np.asarray(y_pred, dtype=np.float64))
    return float(np.sqrt(np.mean((true - pred) ** 2)))
