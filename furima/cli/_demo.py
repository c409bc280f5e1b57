"""``furima demo``: the main job end to end on real listings that ship with furima.

Ingest the bundled Myntra sample into a catalog store, fit the price model on all but a few
listings, save it, load it back, and suggest prices for the unseen listings next to the truth.
Then turn the bundled photos into a feature pool and search it by words and by photo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from furima.cli._errors import reported_errors
from furima.pricing import PriceSuggestion

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
        _search_demo(out, workdir, seed)


_QUERIES = ("red kurta for women", "black leather wrist watch", "white sports shoes for men")


def _search_demo(out: Console, workdir: Path, seed: int) -> None:
    from furima.datasets import demo_photos_path
    from furima.search import PoolColumns, SimilarSearch

    out.rule("4. index: photos and titles into a searchable feature pool")
    photos = pd.read_parquet(demo_photos_path())
    unseen = np.random.default_rng(seed).choice(len(photos), 3, replace=False)
    catalog = photos.drop(index=photos.index[unseen])
    columns = PoolColumns(photo="jpeg", label="article_type", category="master_category")
    pool = SimilarSearch.build(catalog, columns=columns, progress=True)
    path = pool.save(workdir / "models" / "search")
    out.print(f"{len(pool):,} listings encoded (photo + title), embedding trained, saved {path}")

    out.rule("5. search: words and photos find listings")
    pool = SimilarSearch.load(path)
    titles = catalog.set_index("id")["title"]
    by_text = pool.similar(texts=list(_QUERIES), k=3)
    by_photo = pool.similar(photos=photos["jpeg"].iloc[unseen].tolist(), k=3)
    asked = [*_QUERIES, *(f"photo of {t}" for t in photos["title"].iloc[unseen])]
    ids = np.vstack([by_text.ids, by_photo.ids])
    scores = np.vstack([by_text.scores, by_photo.scores])
    for query, row_ids, row_scores in zip(asked, ids, scores, strict=True):
        out.print(f"[bold]{escape(query)}[/bold] -> " + _hits(titles, row_ids, row_scores))
    out.print(f"try: furima search --index {path} --text 'blue denim jeans'")


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
