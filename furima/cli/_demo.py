"""``furima demo``: the main job end to end on real listings that ship with furima.

Ingest the bundled Myntra sample into a catalog store, fit the price model on all but a few
listings, save it, load it back, and suggest prices for the unseen listings next to the truth;
learn the selling price of real Flipkart listings from their words and retail price, and
the chance to sell at each asking price (from simulated outcomes).
Then learn the listing assistant from the bundled photos (classifiers, feature pool, titles),
search the pool by words and by photo, and turn unseen photos into ready listings. Then
recommendations: quality against popularity on real Amazon Beauty purchases, and a buyer's
feed over the real photos learned from SIMULATED browsing. Then safe trading, a feed ranker
learned from real Taobao shopping, buyer search, experiments, and payment risk (fraud on
simulated payments, a credit scorecard on real applications). Finally register the models in the
model registry (MLflow, embedded) and serve them from it over HTTP, with the seller's and the
buyer's pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from furima.cli._demo_experiments import (
    experiments_step,
    print_served_experiment,
    serve_rank_experiment,
)
from furima.cli._demo_ranking import (
    buyer_search_step,
    print_served_rank,
    print_served_search,
    ranking_step,
)
from furima.cli._demo_recommend import beauty_step, photo_feed_step, print_served_feed
from furima.cli._demo_resale import resale_step
from furima.cli._demo_risk import print_served_risk, risk_step
from furima.cli._demo_safety import SERVED_LISTING, print_served_check, safety_step
from furima.cli._demo_sell_chance import print_served_sell_chance, sell_chance_step
from furima.cli._errors import reported_errors
from furima.pricing import PriceSuggestion

if TYPE_CHECKING:
    from furima.listing import ListingSuggestion

__all__ = ["demo"]

_UNSEEN = 8


def demo(
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the store and model are written.")
    ] = Path("furima-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Run furima end to end on the bundled sample of real listings."""
    from furima.catalog import CatalogStore, read_listings
    from furima.datasets import demo_listings_path
    from furima.pricing import PriceSuggester, rmsle

    out = Console(highlight=False)
    with reported_errors():
        out.rule("1. ingest: real Myntra listings into the catalog store")
        workdir.mkdir(parents=True, exist_ok=True)
        result = read_listings(demo_listings_path(), mapping="myntra", require_price=True)
        with CatalogStore(workdir / "catalog.duckdb") as store:
            store.upsert(result.listings)
            listings = store.to_frame()
        out.print(f"{len(listings):,} listings in {workdir / 'catalog.duckdb'}")

        out.rule("2. fit: price model on the catalog, minus a few unseen listings")
        unseen = np.random.default_rng(seed).choice(len(listings), _UNSEEN, replace=False)
        train = listings.drop(index=listings.index[unseen])
        model = PriceSuggester(random_state=seed).fit(train, progress=True)
        path = model.save(workdir / "models" / "price")
        metrics = model.metrics_
        out.print(
            f"saved {path}  (cross-validated RMSLE {metrics['validation_rmsle']:.3f}, "
            f"80% range holds {metrics['validation_coverage']:.0%} of prices)"
        )

        out.rule("3. suggest: prices for listings the model has never seen")
        test = listings.iloc[unseen]
        suggestions = PriceSuggester.load(path).suggest(test)
    out.print(_table(test, suggestions))
    truth = test["price"].to_numpy()
    inside = sum(s.low <= t <= s.high for s, t in zip(suggestions, truth, strict=True))
    predicted = [s.price for s in suggestions]
    error = rmsle(truth, predicted)
    out.print(
        f"RMSLE on these {len(test)}: {error:.3f}; {inside} of {len(test)} inside their range"
    )
    out.print(f"try: furima price suggest --model {path} --name 'Puma Men Black Running Shoes'")
    with reported_errors():
        resale_step(out, workdir, seed)
        sell_chance = sell_chance_step(out, workdir, seed)
        _listing_demo(out, workdir, seed, path, sell_chance)


_QUERIES = ("red kurta for women", "black leather wrist watch", "white sports shoes for men")
_UNSEEN_PHOTOS = 4


def _listing_demo(
    out: Console, workdir: Path, seed: int, price_model: Path, sell_chance: Path
) -> None:
    from furima.datasets import demo_photos_path, with_brand
    from furima.listing import ListingAssistant, ListingFields
    from furima.pricing import PriceSuggester

    out.rule("4. learn: the listing assistant from real photos, titles and labels")
    photos = with_brand(pd.read_parquet(demo_photos_path()))
    unseen = np.random.default_rng(seed).choice(len(photos), _UNSEEN_PHOTOS, replace=False)
    catalog = photos.drop(index=photos.index[unseen])
    assistant = ListingAssistant(seed=seed).fit(
        catalog,
        fields=ListingFields.myntra_photos(),
        price_model=PriceSuggester.load(price_model),
        progress=True,
    )
    path = assistant.save(workdir / "models" / "listing")
    pool = assistant.search_.save(workdir / "models" / "search")
    out.print(f"{len(catalog):,} listings learned and indexed; saved {path} and {pool}")

    out.rule("5. search: words and photos find listings")
    _search(out, assistant.search_, catalog, photos.iloc[unseen])
    out.print(f"try: furima search --index {pool} --text 'blue denim jeans'")

    out.rule("6. list: a photo in, a ready listing out (photos the assistant never saw)")
    answers = ListingAssistant.load(path).suggest_batch(photos=photos["jpeg"].iloc[unseen].tolist())
    out.print(_listing_table(photos.iloc[unseen], answers))
    beauty_step(out, seed)
    feed = photo_feed_step(out, workdir, seed, photos, price_model)
    safety = safety_step(out, workdir, seed, photos, price_model)
    rank = ranking_step(out, workdir, seed)
    buyer_search = buyer_search_step(out, workdir, seed, catalog)
    experiments_step(out, workdir, seed)
    risk = risk_step(out, workdir, seed)
    models = {
        "price": price_model,
        "sell_chance": sell_chance,
        "listing": path,
        "recommend": feed,
        "safety": safety,
        "rank": rank,
        "search": buyer_search,
        **risk,
    }
    _serve_demo(out, workdir, models, photos["jpeg"].iloc[unseen[0]], seed)


def _search(out: Console, pool: Any, catalog: pd.DataFrame, queries: pd.DataFrame) -> None:
    titles = catalog.set_index("id")["title"]
    by_text = pool.similar(texts=list(_QUERIES), k=3)
    by_photo = pool.similar(photos=queries["jpeg"].tolist(), k=3)
    asked = [*_QUERIES, *(f"photo of {t}" for t in queries["title"])]
    ids = np.vstack([by_text.ids, by_photo.ids])
    scores = np.vstack([by_text.scores, by_photo.scores])
    for query, row_ids, row_scores in zip(asked, ids, scores, strict=True):
        out.print(f"[bold]{escape(query)}[/bold] -> " + _hits(titles, row_ids, row_scores))


def _listing_table(truth: pd.DataFrame, answers: list[ListingSuggestion]) -> Table:
    table = Table(title="Suggested listings (blank: not sure enough, the seller chooses)")
    for column in ("real title", "suggested title", "category", "colour", "price (INR)"):
        table.add_column(column, overflow="fold")
    for (_, row), answer in zip(truth.iterrows(), answers, strict=True):
        path = " > ".join(f.value or "?" for f in answer.fields[:3])
        kind = answer.field("article_type")
        colour = answer.field("base_colour")
        price = answer.price
        table.add_row(
            escape(str(row["title"])),
            escape(answer.title.value) if answer.title else "-",
            f"{escape(path)} ({kind.confidence:.0%})",
            f"{colour.value or ''} ({colour.top[0].value} {colour.confidence:.0%})",
            f"{price.value:,.0f} ({price.low:,.0f}-{price.high:,.0f})" if price else "-",
        )
    return table


def _serve_demo(
    out: Console, workdir: Path, models: dict[str, Path], photo: bytes, seed: int
) -> None:
    import httpx

    from furima.registry import ModelRegistry
    from furima.serve import ServeSettings, create_app, running_server

    out.rule("14. deploy: register the models, serve them from the registry over HTTP")
    registry = ModelRegistry(workdir / "registry")
    for task, folder in models.items():
        version = registry.log_model(folder, task=task, alias="champion")
        out.print(
            f"registered {version.task} version {version.version} as champion "
            f"(run {version.run_id}, data {(version.data_fingerprint or '')[:12]})"
        )
    if "rank" in models:
        serve_rank_experiment(registry, models["rank"])
        out.print("registered rank version 2 (the same ranker) as challenger for 50% of users")
    settings = ServeSettings(
        registry=str(workdir / "registry"),
        review_queue=workdir / "review.duckdb",
        experiment_log=workdir / "experiments.sqlite",
    )
    with running_server(create_app(settings)) as url:
        _wait_until_ready(url)
        files = {"photo": ("photo.jpg", photo, "image/jpeg")}
        reply = httpx.post(f"{url}/v1/listings:suggest", files=files, timeout=60)
        body = reply.json()
        title = (body.get("title") or {}).get("value") or "a listing"
        out.print(
            f"POST {url}/v1/listings:suggest (a JPEG) -> HTTP {reply.status_code} in "
            f"{body.get('elapsed_ms', 0):.0f} ms: title {title!r}, "
            f"{len(body.get('similar', []))} similar listings as evidence"
        )
        priced = httpx.post(f"{url}/v1/price:suggest", json={"name": title}, timeout=60).json()
        out.print(
            f"POST {url}/v1/price:suggest {{'name': {title!r}}} -> {priced['price']:,.0f} INR "
            f"({priced['low']:,.0f}-{priced['high']:,.0f}) from price version "
            f"{priced['model']['version']}"
        )
        if "sell_chance" in models:
            print_served_sell_chance(out, url, priced["price"])
        page = httpx.get(f"{url}/", timeout=60)
        out.print(
            f"GET {url}/ -> HTTP {page.status_code}: the seller's page ({len(page.text):,} bytes)"
        )
        served = [
            line
            for line in httpx.get(f"{url}/metrics", timeout=60).text.splitlines()
            if line.startswith("furima_model_version") and not line.endswith(" 0.0")
        ]
        out.print("GET /metrics -> " + "; ".join(served))
        if "recommend" in models:
            print_served_feed(out, url, _first_user(url))
        if "safety" in models:
            print_served_check(out, url, SERVED_LISTING)
        if "rank" in models:
            print_served_rank(out, url)
            print_served_experiment(out, url, seed)
        if "search" in models:
            print_served_search(out, url)
        if "fraud" in models and "credit" in models:
            print_served_risk(out, url, models)
    registry_dir = workdir / "registry"
    out.print(
        f"try: furima deploy --registry {registry_dir}  then open http://127.0.0.1:8000/ and "
        f"drop a photo, http://127.0.0.1:8000/buyer for a buyer's feed or "
        f"http://127.0.0.1:8000/search to search; "
        f"furima serve --registry {registry_dir} --review-queue {workdir / 'review.duckdb'} "
        f"--experiment-log {workdir / 'experiments.sqlite'} for the review page at /review "
        f"and the experiments page at /experiments too; "
        f"furima models list --registry {registry_dir}"
    )


def _first_user(url: str) -> str:
    import httpx

    users: list[str] = httpx.get(f"{url}/v1/recommend/users?n=1", timeout=60).json()["users"]
    return users[0]


def _wait_until_ready(url: str, seconds: float = 120.0) -> None:
    """Poll ``/readyz`` while the server loads the assistant in the background."""
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} was not ready within {seconds:.0f} s")
        time.sleep(0.1)


def _hits(titles: pd.Series, ids: np.ndarray, scores: np.ndarray) -> str:
    found = zip(ids, scores, strict=True)
    return "; ".join(f"{escape(str(titles[i]))} ({s:.2f})" for i, s in found if i >= 0)


def _table(test: pd.DataFrame, suggestions: list[PriceSuggestion]) -> Table:
    table = Table(title="Suggested prices (INR)", show_lines=False)
    for column in ("listing", "suggested", "range (80%)", "truth", "closest past listing"):
        table.add_column(column, overflow="fold")
    for (_, row), s in zip(test.iterrows(), suggestions, strict=True):
        near = s.comparables[0] if s.comparables else None
        table.add_row(
            str(row["name"])[:60],
            f"{s.price:,.0f}",
            f"{s.low:,.0f} - {s.high:,.0f}",
            f"{row['price']:,.0f}",
            f"{near.listing_id} @ {near.price:,.0f} (sim {near.similarity:.2f})" if near else "-",
        )
    return table
