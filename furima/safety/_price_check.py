"""Price anomalies: a listing priced far outside what the price model expects for it.

A price far below the market is a classic scam signal (the item does not exist, or the buyer
is lured off the platform); far above can be money laundering or a typo. The price model's
calibrated range (``low``..``high`` covers its ``coverage`` share of real prices) gives, in
log-price, a centre and a spread; a listing's distance from the centre in spreads becomes a
two-sided tail score, so a score of 0.99 means only about 1% of honest listings are priced
that far from their expected price.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from furima.safety._results import Evidence, Finding

if TYPE_CHECKING:
    from furima.pricing import PriceSuggester, PriceSuggestion

__all__ = ["PriceAnomalyCheck"]


class PriceAnomalyCheck:
    """Scores how far each listing's price lies from the price model's range for it."""

    def __init__(self, model: PriceSuggester, *, currency: str = "") -> None:
        self.model = model
        self.currency = currency

    def findings(self, listings: pd.DataFrame) -> list[Finding]:
        """One finding per listing; listings without a price score 0."""
        given = listings["price"] if "price" in listings else pd.Series(np.nan, listings.index)
        prices = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float)
        priced = np.flatnonzero(np.isfinite(prices) & (prices > 0))
        out = [Finding(0.0, ("no price to check",))] * len(listings)
        if len(priced) == 0:
            return out
        suggestions = self.model.suggest(listings.iloc[priced].drop(columns="price"))
        for position, suggestion in zip(priced, suggestions, strict=True):
            out[position] = self._finding(float(prices[position]), suggestion)
        return out

    def _finding(self, price: float, suggestion: PriceSuggestion) -> Finding:
        z = tail_distance(
            price, suggestion.price, suggestion.low, suggestion.high, suggestion.coverage
        )
        score = math.erf(abs(z) / math.sqrt(2))  # two-sided: 2 * Phi(|z|) - 1
        side = "below" if z < 0 else "above"
        expected = f"{self._money(suggestion.low)} to {self._money(suggestion.high)}"
        reason = (
            f"priced at {self._money(price)}, far {side} the expected {expected} for such "
            "listings" + (" (too cheap is a common scam sign)" if z < 0 else "")
        )
        evidence = [
            Evidence(
                "price_range", f"expected {expected}, suggested {self._money(suggestion.price)}"
            )
        ]
        evidence += [
            Evidence(
                "similar_listing",
                f"sold for {self._money(item.price)}",
                listing_id=item.listing_id,
                similarity=round(item.similarity, 3),
            )
            for item in suggestion.comparables[:3]
        ]
        return Finding(score, (reason,), tuple(evidence))

    def _money(self, value: float) -> str:
        shown = f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
        return f"{self.currency}{shown}"


def tail_distance(price: float, centre: float, low: float, high: float, coverage: float) -> float:
    """Signed distance of ``price`` from ``centre`` in log-price spreads (negative: cheaper).

    The spread on each side comes from that side's end of the range, so a skewed range keeps
    its shape: the range's ends sit at ``±z`` where ``z`` is the normal quantile of the
    two-sided ``coverage``.
    """
    z_end = NormalDist().inv_cdf(0.5 + coverage / 2)
    log_price, log_centre = math.log1p(price), math.log1p(centre)
    end = math.log1p(low) if log_price < log_centre else math.log1p(high)
    spread = max(abs(end - log_centre), 1e-3) / z_end
    return (log_price - log_centre) / spread
