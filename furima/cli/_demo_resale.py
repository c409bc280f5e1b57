"""The resale step of ``furima demo``: the selling price of real Flipkart listings learned from
their words and their retail price, read straight from a file through a mapping that declares
the retail price a number, against the same model without it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from furima.pricing import PriceSuggestion

__all__ = ["resale_step"]

RESALE_MAPPING: dict[str, object] = {
    "id": "uniq_id",
    "name": "product_name",
    "brand": "brand",
    "price": "discounted_price",
    "numeric": ["retail_price"],
}
_UNSEEN = 300
_SHOWN = 5


def resale_step(out: Console, workdir: Path, seed: int) -> Path:
    """Fit the price model with and without the retail price; show unseen listings."""
    from furima.catalog import read_listings
    from furima.datasets import demo_resale_path
    from furima.pricing import PriceSuggester, rmsle

    out.rule("3b. resale: the selling price from the words and the retail price")
    listings = read_listings(demo_resale_path(), mapping=RESALE_MAPPING).listings
    unseen = np.random.default_rng(seed).choice(len(listings), _UNSEEN, replace=False)
    test = listings.iloc[unseen]
    train = listings.drop(index=listings.index[unseen])
    with_retail = PriceSuggester(random_state=seed).fit(train)
    words_only = PriceSuggester(random_state=seed).fit(train.drop(columns="retail_price"))
    path = with_retail.save(workdir / "models" / "resale")
    suggestions = with_retail.suggest(test)
    truth = test["price"].to_numpy()
    error = rmsle(truth, [s.price for s in suggestions])
    plain = rmsle(truth, [s.price for s in words_only.suggest(test.drop(columns="retail_price"))])
    inside = sum(s.low <= t <= s.high for s, t in zip(suggestions, truth, strict=True))
    out.print(
        f"{len(listings):,} real Flipkart listings read with the retail price as a number "
        f"(mapping {{'numeric': ['retail_price']}}); on {_UNSEEN} unseen ones the selling "
        f"price is off by RMSLE {error:.3f} with the retail price and {plain:.3f} from the "
        f"words alone; {inside} of {_UNSEEN} fall inside their 80% range"
    )
    out.print(_resale_table(test, suggestions))
    out.print(
        f"saved {path}; try: furima price suggest --model {path} --name 'Puma running shoes' "
        "--attr retail_price=2999"
    )
    return path


def _resale_table(test: pd.DataFrame, suggestions: list[PriceSuggestion]) -> Table:
    table = Table(title="Unseen listings: retail price, true selling price, suggestion")
    for column in ("listing", "retail", "sold at", "suggested", "80% range"):
        table.add_column(column)
    for (_, row), suggestion in list(zip(test.iterrows(), suggestions, strict=True))[:_SHOWN]:
        table.add_row(
            escape(str(row["name"])[:48]),
            f"{row['retail_price']:,.0f}",
            f"{row['price']:,.0f}",
            f"{suggestion.price:,.0f}",
            f"{suggestion.low:,.0f}-{suggestion.high:,.0f}",
        )
    return table
