"""The recommendation steps of ``furima demo``.

Quality is measured on real data only: a recommender fitted on the leave-last-out training
part of the Amazon Beauty slice that ships with furima, against popularity, on each user's
held-out last purchase. The buyer's page needs listings with photos, and no public log links
buyers to such listings, so its recommender learns from SIMULATED browsing of the real Myntra
photo catalog (:func:`furima.datasets.simulate_browsing`); nothing is measured on that.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from furima.catalog import Interactions
    from furima.catalog._splits import NextItemTargets
    from furima.recommend import Recommender

__all__ = ["beauty_step", "photo_feed_step", "print_served_feed"]

BEAUTY_GENERATORS = ("popularity", "item_knn", "ease", "als")
PHOTO_GENERATORS = ("popularity", "item_knn", "ease", "als")
SIMULATED_BUYERS = 1500
_CUTOFF = 10
_BATCH = 500


def beauty_step(out: Console, seed: int) -> None:
    """Fit on the real Beauty slice's training part; HR@10 / NDCG@10 on its test part."""
    from furima.catalog import read_sequences
    from furima.catalog._splits import leave_last_out
    from furima.datasets import demo_interactions_path
    from furima.recommend import Recommender

    out.rule("7. recommend: real Amazon Beauty purchases, next-item quality against popularity")
    events = read_sequences(demo_interactions_path())
    split = leave_last_out(events)
    fitted = Recommender(generators=BEAUTY_GENERATORS, seed=seed)
    fitted.fit(split.train, valid=split.valid, progress=True)
    popular = Recommender(generators=("popularity",), seed=seed).fit(split.train)
    table = Table(title=f"Next purchase of {len(split.test):,} real users (leave-last-out test)")
    for column in ("recommender", "HR@10", "NDCG@10"):
        table.add_column(column)
    for name, model in (
        ("popularity", popular),
        ("furima (" + ", ".join(fitted.blend_.used) + ")", fitted),
    ):
        hit, ndcg = next_item_quality(model, events, split.test)
        table.add_row(name, f"{hit:.4f}", f"{ndcg:.4f}")
    out.print(
        f"{events.n_users:,} users, {events.n_items:,} items, {len(events):,} events "
        f"(Amazon Beauty's 500 most bought items; full ranking, history left out)"
    )
    out.print(table)


def next_item_quality(
    model: Recommender, events: Interactions, test: NextItemTargets
) -> tuple[float, float]:
    """HR@10 and NDCG@10 of the held-out next item, asked through ``recommend`` as a page
    would ask (each history in the marketplace's ids, the history left out)."""
    items = events.items
    hits, gains = 0, 0.0
    for start in range(0, len(test), _BATCH):
        histories = [list(items.external(h)) for h in test.histories[start : start + _BATCH]]
        answers = model.recommend(histories=histories, k=_CUTOFF)
        targets = items.external(test.targets[start : start + _BATCH])
        for answer, target in zip(answers, targets, strict=True):
            if target in answer.ids:
                hits += 1
                gains += 1.0 / math.log2(answer.ids.index(target) + 2)
    return hits / len(test), gains / len(test)


def photo_feed_step(
    out: Console, workdir: Path, seed: int, photos: pd.DataFrame, price_model: Path
) -> Path:
    """Fit the buyer's page recommender on simulated browsing of the real photo catalog."""
    from furima.catalog import Interactions
    from furima.datasets import simulate_browsing
    from furima.recommend import ItemColumns, Recommender

    out.rule("8. recommend: a buyer's feed over the real photos, from SIMULATED browsing")
    catalog = priced_catalog(photos, price_model)
    events = simulate_browsing(catalog, n_buyers=SIMULATED_BUYERS, seed=seed)
    sequences = events.groupby("user", sort=False)["item"].agg(list).to_dict()
    interactions = Interactions.from_sequences({str(u): v for u, v in sequences.items()})
    columns = ItemColumns(
        id="id", title="title", category="article_type", price="price", status="status",
        photo="jpeg",
    )  # fmt: skip
    model = Recommender(generators=PHOTO_GENERATORS, seed=seed)
    model.fit(interactions, listings=catalog, columns=columns, progress=True)
    path = model.save(workdir / "models" / "recommend")
    out.print(
        f"SIMULATED: {SIMULATED_BUYERS:,} made-up buyers browsing {len(catalog):,} real listings "
        f"({len(events):,} views; each stays within a gender and article type, near one price). "
        "No public log links buyers to listings with photos; these sessions are not real "
        "behaviour, so no quality is reported on them. Prices: the price model's suggestions "
        f"(the photo catalog has none). Saved {path}"
    )
    user = model.users_sample(1)[0]
    out.print(feed_table(model, user, _viewed(model, user)))
    return Path(path)


def priced_catalog(photos: pd.DataFrame, price_model: Path) -> pd.DataFrame:
    """The photo listings with a price (the price model's suggestion) and a status."""
    from furima.pricing import PriceSuggester

    query = pd.DataFrame(
        {
            "listing_id": photos["id"].astype(str),
            "name": photos["title"],
            "brand": photos.get("brand"),
            "gender": photos["gender"],
            "primary_color": photos["base_colour"],
        }
    )
    suggested = PriceSuggester.load(price_model).suggest(query)
    prices = np.round([s.price for s in suggested], -1)
    return photos.assign(id=photos["id"].astype(str), price=prices, status="on_sale")


def _viewed(model: Recommender, user: str) -> list[str]:
    """Titles of the listings ``user`` viewed, oldest first."""
    index = int(model.interactions_.users.index([user])[0])
    offsets = model.interactions_.offsets()
    items = model.interactions_.items.external(
        model.interactions_.item[offsets[index] : offsets[index + 1]]
    )
    return [str((model.listing(str(i)) or {}).get("title") or i) for i in items]


def feed_table(model: Recommender, user: str, viewed: list[str]) -> Table:
    answer = model.recommend([user], k=5)[0]
    table = Table(title=f"For simulated buyer {user}, who viewed: " + "; ".join(viewed[-4:]))
    for column in ("listing", "price", "why"):
        table.add_column(column, overflow="fold")
    for item in answer.items:
        shown = model.listing(item.id) or {}
        table.add_row(
            escape(str(shown.get("title") or item.id)),
            f"{shown['price']:,.0f}" if shown.get("price") else "-",
            escape(item.reason),
        )
    return table


def print_served_feed(out: Console, url: str, user: str) -> None:
    """Ask the server for ``user``'s feed and "more like this" of its first listing."""
    import httpx

    feed = httpx.post(f"{url}/v1/recommend", json={"user_id": user, "k": 5}, timeout=60).json()
    items: list[dict[str, Any]] = feed["items"]
    out.print(
        f"POST {url}/v1/recommend {{'user_id': {user!r}, 'k': 5}} -> {len(items)} listings from "
        f"recommend version {feed['model']['version']}: "
        + "; ".join(f"{escape(str(i['title']))} ({escape(i['reason'])})" for i in items[:3])
    )
    first = items[0]["id"]
    alike = httpx.post(f"{url}/v1/similar-items", json={"listing_id": first, "k": 3}, timeout=60)
    titles = [escape(str(i["title"])) for i in alike.json()["items"]]
    out.print(f"POST {url}/v1/similar-items {{'listing_id': {first!r}}} -> " + "; ".join(titles))
    page = httpx.get(f"{url}/buyer", timeout=60)
    out.print(
        f"GET {url}/buyer -> HTTP {page.status_code}: the buyer's page ({len(page.text):,} bytes)"
    )
