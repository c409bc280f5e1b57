"""A seeded simulation of listings and their sale outcomes, for tests and examples only.

No real data with sale outcomes (sold or not, days to sell) is available to this project, so
the chance-to-sell model (:mod:`furima.pricing._sell_chance`) is built and tested against
this simulation. It is a stand-in with a known true answer, not a model of any marketplace:
nothing measured on it says how well the model does on real listings.

How a listing is made (all draws from ``numpy.random.default_rng(seed)``):

1. A *fair price* ``F``: log-normal, ``log F ~ Normal(log(reference_median), reference_spread)``
   (or the listing's own price when listings are given).
2. A *demand curve* ``c`` per listing: one of ``simulation.curves``, drawn uniformly (or, when
   listings are given, one per distinct top-level category, assigned in sorted order and
   cycled). Each curve has a daily log-odds of selling at the fair price, ``a_c``, and a price
   sensitivity ``b_c > 1``.
3. An *asking price* ``P = F * exp(r)`` with ``r ~ Normal(0, price_spread)``: the log price
   ratio of the asking price to the fair price.
4. A *daily chance of selling* (constant over the days a listing is up),
   ``h = 1 / (1 + exp(-(a_c - b_c * r)))``: a logistic demand in the log price ratio, falling
   as the price rises above the fair price. The true chance to sell within ``N`` days is
   ``1 - (1 - h) ** N``, and the day of sale is ``T ~ Geometric(h)`` (1, 2, ...).
5. *Censoring*: each listing is watched for ``C`` days, ``C`` uniform on ``1..horizon`` (the
   listings were put up on different days before the data was pulled). The outcome is
   ``sold = T <= C`` and ``days = min(T, C)``: for an unsold listing, ``days`` is how long it
   was watched without selling, which says nothing about later days.
6. The *reference price* the model sees is ``F * exp(e)``, ``e ~ Normal(0, reference_noise)``
   (an imperfect price suggestion); ``reference_noise = 0`` gives the fair price itself.

Since ``b_c > 1``, the expected proceeds ``P * chance`` have one interior maximum, which
:meth:`SaleSimulation.best_price` finds on a fine grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DemandCurve", "SaleSimulation", "simulate_sales"]


@dataclass(frozen=True)
class DemandCurve:
    """One kind of listing's demand: a daily log-odds of selling at the fair price, and how
    fast it falls per unit of log price ratio (``sensitivity``, above 1)."""

    name: str
    daily_log_odds: float
    sensitivity: float


_CURVES = (
    DemandCurve("tops", daily_log_odds=-2.0, sensitivity=3.0),
    DemandCurve("shoes", daily_log_odds=-2.3, sensitivity=4.0),
    DemandCurve("electronics", daily_log_odds=-2.6, sensitivity=6.0),
    DemandCurve("books", daily_log_odds=-1.7, sensitivity=2.0),
)


@dataclass(frozen=True)
class SaleSimulation:
    """The parameters of :func:`simulate_sales`, and the true chance and best price they imply.

    Attributes:
        curves: The demand curves listings are drawn from.
        price_spread: Standard deviation of the log ratio of asking to fair price.
        reference_median: Median fair price (when no listings are given).
        reference_spread: Standard deviation of the log fair price.
        reference_noise: Standard deviation of the log error of the reference price shown.
        horizon: The longest a listing is watched, in days.
    """

    curves: tuple[DemandCurve, ...] = _CURVES
    price_spread: float = 0.35
    reference_median: float = 2000.0
    reference_spread: float = 0.8
    reference_noise: float = 0.0
    horizon: int = 30

    def __post_init__(self) -> None:
        if not self.curves:
            raise DataError("A SaleSimulation needs at least one demand curve.")
        if any(curve.sensitivity <= 1.0 for curve in self.curves):
            raise DataError(
                "Every demand curve's sensitivity must be above 1, or the expected proceeds "
                "keep rising with the price and there is no best price."
            )
        if self.horizon < 1 or self.price_spread <= 0 or self.reference_noise < 0:
            raise DataError(
                "`horizon` must be at least 1, `price_spread` positive and `reference_noise` "
                f"not negative, but got {self.horizon}, {self.price_spread}, "
                f"{self.reference_noise}."
            )

    def curve(self, name: str) -> DemandCurve:
        """The demand curve called ``name``."""
        for curve in self.curves:
            if curve.name == name:
                return curve
        known = ", ".join(c.name for c in self.curves)
        raise DataError(f"No demand curve {name!r} in this simulation; it has {known}.")

    def daily_chance(self, log_ratio: np.ndarray, curve: str) -> np.ndarray:
        """The true daily chance of selling at log price ratios ``log_ratio`` (to the fair
        price) for listings of demand curve ``curve``."""
        demand = self.curve(curve)
        log_odds = demand.daily_log_odds - demand.sensitivity * np.asarray(log_ratio, float)
        chance: np.ndarray = 1.0 / (1.0 + np.exp(-log_odds))
        return chance

    def chance(self, log_ratio: np.ndarray, curve: str, within_days: int) -> np.ndarray:
        """The true chance of selling within ``within_days`` days."""
        chance: np.ndarray = 1.0 - (1.0 - self.daily_chance(log_ratio, curve)) ** within_days
        return chance

    def best_price(self, fair_price: float, curve: str, within_days: int) -> tuple[float, float]:
        """The asking price that maximises the true expected proceeds ``price * chance``
        within ``within_days`` days, and its chance, on a grid of 6001 log ratios in
        [-3, 3]."""
        log_ratio = np.linspace(-3.0, 3.0, 6001)
        chance = self.chance(log_ratio, curve, within_days)
        best = int(np.argmax(np.exp(log_ratio) * chance))
        return float(fair_price * np.exp(log_ratio[best])), float(chance[best])


def simulate_sales(
    listings_or_n: int | pd.DataFrame,
    *,
    seed: int,
    simulation: SaleSimulation | None = None,
    price: str = "price",
    category: str = "category",
) -> pd.DataFrame:
    """Simulated listings with asking prices and sale outcomes; see the module docstring.

    Args:
        listings_or_n: How many listings to make, or listings whose ``price`` column is taken
            as each one's fair price and whose ``category`` column (top level, before the
            first ``/``; missing counts as one more category) picks its demand curve.
        seed: Seed of every random draw: the same seed gives the same frame.
        simulation: The parameters; ``SaleSimulation()`` when None.
        price: The fair-price column of ``listings_or_n``.
        category: The category column of ``listings_or_n``.

    Returns:
        The given listings' columns (except ``price``), or a ``listing_id`` column, then
        ``category``, ``demand_curve`` (the curve used), ``fair_price``, ``reference_price``
        (what a model is shown), ``asking_price``, ``sold`` (0/1) and ``days`` (days to sell,
        or days watched without a sale).
    """
    import pandas as pd

    simulation = simulation or SaleSimulation()
    rng = np.random.default_rng(seed)
    if isinstance(listings_or_n, pd.DataFrame):
        frame, fair, curves = _from_listings(listings_or_n, simulation, price, category)
    else:
        frame, fair, curves = _from_count(int(listings_or_n), simulation, rng)
    log_ratio = rng.normal(0.0, simulation.price_spread, len(frame))
    daily = np.empty(len(frame))
    for name in np.unique(curves):
        rows = curves == name
        daily[rows] = simulation.daily_chance(log_ratio[rows], str(name))
    sale_day = rng.geometric(daily)
    watched = rng.integers(1, simulation.horizon + 1, len(frame))
    noise = rng.normal(0.0, simulation.reference_noise, len(frame))
    return frame.assign(
        demand_curve=curves,
        fair_price=fair,
        reference_price=fair * np.exp(noise),
        asking_price=fair * np.exp(log_ratio),
        sold=(sale_day <= watched).astype(np.int64),
        days=np.minimum(sale_day, watched).astype(np.int64),
    )


def _from_count(
    n: int, simulation: SaleSimulation, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    import pandas as pd

    if n < 1:
        raise DataError(f"Simulate at least one listing, but got {n}.")
    names = np.array([curve.name for curve in simulation.curves])
    curves = names[rng.integers(0, len(names), n)]
    fair = np.exp(rng.normal(np.log(simulation.reference_median), simulation.reference_spread, n))
    frame = pd.DataFrame({"listing_id": [f"sim-{i}" for i in range(n)], "category": curves})
    return frame, fair, curves


def _from_listings(
    listings: pd.DataFrame, simulation: SaleSimulation, price: str, category: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    missing = [c for c in (price, category) if c not in listings.columns]
    if missing:
        raise SchemaError(
            f"Listings to simulate sales for lack {missing}: they need a fair-price column "
            f"{price!r} and a category column {category!r} (pass price= and category=)."
        )
    if listings.empty:
        raise DataError("Listings to simulate sales for hold no rows.")
    fair = listings[price].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(fair) & (fair > 0)):
        raise DataError("Fair prices must be finite and above 0.", column=price)
    top = listings[category].astype("string").str.split("/").str[0].fillna("<missing>")
    kinds = sorted(top.unique())
    assign = {
        kind: simulation.curves[i % len(simulation.curves)].name for i, kind in enumerate(kinds)
    }
    curves = top.map(assign).to_numpy(dtype=object).astype(str)
    return listings.drop(columns=[price]).reset_index(drop=True), fair, curves
