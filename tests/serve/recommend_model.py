"""A tiny recommender for the server and page tests: simulated browsing of 240 real photos.

The 240 Myntra listings (tests/fixtures/myntra_photos_240.parquet) are real; the browsing
sessions are simulated by ``furima.datasets.simulate_browsing`` (seeded), and prices and sold
flags are made up here (the photo set has neither): price ``400 + (id * 37) % 1600`` INR, sold
when ``id % 11 == 0``. It fits in about a second.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from furima.catalog import Interactions
from furima.datasets import simulate_browsing
from furima.recommend import ItemColumns, Recommender

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COLUMNS = ItemColumns(
    id="id", title="title", category="article_type", price="price", status="status", photo="jpeg"
)


def catalog() -> pd.DataFrame:
    """The 240 photo listings with made-up prices and sold flags."""
    listings = pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")
    return listings.assign(
        id=listings["id"].astype(str),
        price=(400 + (listings["id"] * 37) % 1600).astype(float),
        status=["sold" if i % 11 == 0 else "on_sale" for i in listings["id"]],
    )


def sessions(listings: pd.DataFrame, n_buyers: int = 300, seed: int = 0) -> Interactions:
    """Simulated browsing as interactions (every event a view, in time order)."""
    events = simulate_browsing(listings, n_buyers=n_buyers, seed=seed)
    ordered = events.sort_values(["user", "timestamp"], kind="stable")
    grouped = ordered.groupby("user", sort=False)["item"]
    return Interactions.from_sequences({str(u): list(items) for u, items in grouped})


def fit_tiny(
    generators: tuple[str, ...] = ("popularity", "item_knn"), seed: int = 0
) -> Recommender:
    listings = catalog()
    model = Recommender(generators=generators, seed=seed)
    return model.fit(sessions(listings, seed=seed), listings=listings, columns=COLUMNS)
