"""The chance-to-sell step of ``furima demo``: how likely a listing is to sell within a week at
each asking price, and the price that maximises the expected proceeds.

No real data with sale outcomes ships with furima (or is public), so the model learns from
SIMULATED outcomes (:func:`furima.pricing.simulate_sales`), and the step says so: it shows
the mechanism, not a claim about real buyers. The saved model is served beside the price
model, and the seller's page shows its sentence under the suggested price.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sell_chance_step"]

_LISTINGS = 6000
_REFERENCE = 1000.0
_RATIOS = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3)
_WITHIN_DAYS = 7


def sell_chance_step(out: Console, workdir: Path, seed: int) -> Path:
    """Fit the chance-to-sell model on simulated sales; show its curve for one listing."""
    import pandas as pd

    from furima.pricing import SellChanceModel, simulate_sales

    out.rule("3c. chance to sell: asking price against days to sell (SIMULATED outcomes)")
    sales = simulate_sales(_LISTINGS, seed=seed)
    model = SellChanceModel(random_state=seed).fit(
        sales, price="asking_price", reference="reference_price", sold="sold", days="days"
    )
    path = model.save(workdir / "models" / "sell-chance")
    listing = pd.DataFrame({"reference_price": [_REFERENCE]})
    curve = model.curve(listing, _REFERENCE * np.asarray(_RATIOS), within_days=_WITHIN_DAYS)
    best, best_chance = model.best_price(listing, within_days=_WITHIN_DAYS)
    out.print(
        f"{len(sales):,} SIMULATED listings ({int(sales['sold'].sum()):,} sold while watched "
        f"for 1-30 days; no real sale outcomes are public): the daily chance of a sale learned "
        f"from the asking price over the suggested price, never rising with the price"
    )
    out.print(_curve_table(curve))
    out.print(
        f"suggested {_REFERENCE:,.0f}: {model.explain(listing, _REFERENCE)}; the expected "
        f"proceeds peak at {best:,.0f} ({best_chance:.0%} within a week)"
    )
    out.print(
        f"saved {path}; try: furima price sell-chance ask --model {path} --price 1200 "
        "--reference 1000"
    )
    return path


def _curve_table(curve: pd.DataFrame) -> Table:
    table = Table(title=f"A listing suggested at {_REFERENCE:,.0f}: asking price and its chance")
    for column in ("asking price", f"sells within {_WITHIN_DAYS} days", "expected proceeds"):
        table.add_column(column, justify="right")
    for row in curve.itertuples():
        table.add_row(f"{row.price:,.0f}", f"{row.chance:.0%}", f"{row.expected_proceeds:,.0f}")
    return table


def print_served_sell_chance(out: Console, url: str, suggested: float) -> None:
    """Ask the served chance-to-sell model about a price 20% above the suggestion."""
    import httpx

    asking = round(suggested * 1.2)
    body = {"listings": [{"reference_price": suggested, "price": asking, "within_days": 7}]}
    reply = httpx.post(f"{url}/v1/price:sell-chance", json=body, timeout=60)
    answer = reply.json()["listings"][0]
    out.print(
        f"POST {url}/v1/price:sell-chance (asking {asking:,}) -> HTTP {reply.status_code}: "
        f"{answer['explanation']}; best for proceeds {answer['best_price']:,.0f}"
    )
