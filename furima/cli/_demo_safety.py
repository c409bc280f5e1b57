"""The safe-trading steps of ``furima demo``.

A checker learns the default policies from the real catalog that ships with furima (photos
and titles of Myntra listings, and the priced listings for the price policy); no labelled
violations ship, so the text policies score zero-shot from their descriptions and examples.
It then checks six new listings written for the demo, each meant to show one check: an
honest listing, a counterfeit, a listing that moves payment off the platform (in Japanese), a
relisted photo (a mirrored, re-encoded copy of a catalog photo), a price far below the market
and a photo that is not a product photo (a drawn test card). Flagged listings go to a review
queue, and a reviewer's decision is recorded there.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from furima.safety import ListingCheck

__all__ = ["SERVED_LISTING", "print_served_check", "safety_step"]

_REVIEWER = "demo-reviewer"
_CATALOG_PHOTOS = 1000  # of the 2,000 shipped: every photo is encoded at fit, so half is faster
SERVED_LISTING = {
    "name": "Nike running shoes, pay by bank transfer only",
    "description": "Brand new. Contact me on LINE before buying.",
    "price": 2500,
}
"""What the demo asks the server to check."""


def safety_step(
    out: Console, workdir: Path, seed: int, photos: pd.DataFrame, price_model: Path
) -> Path:
    """Fit the checker, check the demo's new listings, queue and review the flagged ones."""
    from furima.datasets import demo_listings_path
    from furima.pricing import PriceSuggester
    from furima.safety import ReviewQueue, SafetyChecker, default_policies

    out.rule("9. safe trading: new listings checked against the marketplace's policies")
    photos = photos.iloc[:_CATALOG_PHOTOS]
    catalog = _catalog(photos, pd.read_parquet(demo_listings_path()))
    checker = SafetyChecker(
        default_policies(),
        price_model=PriceSuggester.load(price_model),
        currency="INR ",
        max_background=1000,
        seed=seed,
    ).fit(catalog)
    path = checker.save(workdir / "models" / "safety")
    out.print(f"learned from {len(catalog):,} catalog listings; saved {path}")
    listings = new_listings(photos, catalog, seed)
    checks = SafetyChecker.load(path).check(listings)
    out.print(_checks_table(listings, checks))
    with ReviewQueue(workdir / "review.duckdb") as queue:
        queued = queue.enqueue(checks, listings)
        first = queue.pending(1)[0]
        queue.decide(first.listing_id, _REVIEWER, "remove", note="confirmed in the demo")
        stats = queue.stats()
    out.print(
        f"{queued} flagged listings queued for review in {workdir / 'review.duckdb'}; "
        f"{_REVIEWER} removed the most urgent ({first.listing_id}); "
        f"{stats['pending']} still pending"
    )
    out.print(
        f"try: furima safety check LISTINGS.parquet --model {path} --queue "
        f"{workdir / 'review.duckdb'}"
    )
    return path


def _catalog(photos: pd.DataFrame, priced: pd.DataFrame) -> pd.DataFrame:
    with_photos = pd.DataFrame(
        {
            "listing_id": "p" + photos["id"].astype(str),
            "name": photos["title"],
            "description": photos["article_type"].astype(str),
            "photo": photos["jpeg"],
        }
    )
    with_prices = priced.rename(columns={"product_id": "listing_id"}).assign(
        listing_id=lambda f: "m" + f["listing_id"].astype(str)
    )
    return pd.concat([with_photos, with_prices], ignore_index=True)


def new_listings(photos: pd.DataFrame, catalog: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The demo's six new listings (see the module docstring)."""
    rng = np.random.default_rng(seed)
    relisted = photos.iloc[int(rng.integers(len(photos)))]
    priced = catalog.dropna(subset=["price"]).iloc[
        int(rng.integers(catalog["price"].notna().sum()))
    ]
    rows: list[dict[str, Any]] = [
        {"name": "Women Blue Denim Jacket", "description": "Worn twice, size M, no stains."},
        {
            "name": "Rolex Submariner super copy 1:1 replica watch",
            "description": "AAA quality replica, looks exactly like the original.",
        },
        {
            "name": "iPhone 15 Pro 未開封",
            "description": "銀行振込のみ。取引はLINEで連絡してください。LINE ID: cheap_phone88",
        },
        {
            "name": "Stylish casual top",
            "description": "Great condition.",
            "photo": _mirrored(relisted["jpeg"]),
        },
        {
            "name": str(priced["name"]),
            "description": "Brand new with tags, fast shipping.",
            "brand": priced.get("brand"),
            "price": round(float(priced["price"]) * 0.1),
        },
        {"name": "Cotton T-shirt", "description": "Size M, barely worn.", "photo": _test_card()},
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "listing_id", [f"new-{i + 1}" for i in range(len(frame))])
    return frame


def _mirrored(jpeg: bytes) -> bytes:
    from PIL import Image, ImageOps

    image = ImageOps.mirror(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def _test_card() -> bytes:
    """A drawn colour-bar test card: plainly not a product photo."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 320), "white")
    draw = ImageDraw.Draw(image)
    colours = ["#c0c0c0", "#c0c000", "#00c0c0", "#00c000", "#c000c0", "#c00000", "#0000c0"]
    for i, colour in enumerate(colours):
        draw.rectangle([i * 240 // 7, 0, (i + 1) * 240 // 7, 220], fill=colour)
    draw.rectangle([0, 220, 240, 320], fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _checks_table(listings: pd.DataFrame, checks: list[ListingCheck]) -> Table:
    table = Table(title="New listings, checked (zero-shot text policies: no labels yet)")
    for column in ("listing", "title", "decision", "why"):
        table.add_column(column, overflow="fold")
    for (_, row), check in zip(listings.iterrows(), checks, strict=True):
        flagged = check.flagged
        why = "; ".join(f"{v.policy} {v.score:.2f}: {_short(v.reasons)}" for v in flagged[:2])
        table.add_row(
            check.listing_id, escape(str(row["name"])[:40]), str(check.decision), escape(why or "-")
        )
    return table


def _short(reasons: tuple[str, ...], width: int = 90) -> str:
    text = reasons[0] if reasons else ""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def print_served_check(out: Console, url: str, listing: dict[str, Any]) -> None:
    """Check one listing through the server, and show the review page answers."""
    import httpx

    reply = httpx.post(f"{url}/v1/listings:check", json=listing, timeout=60)
    body = reply.json()
    problems = body.get("problems", [])
    flagged = ", ".join(p["policy"] for p in problems) or "nothing"
    first = f"; first: {problems[0]['message']}" if problems else ""
    out.print(
        f"POST {url}/v1/listings:check -> HTTP {reply.status_code}: {body.get('decision')} "
        f"(flagged: {flagged}{escape(first)}) from safety version "
        f"{body.get('model', {}).get('version')}"
    )
    page = httpx.get(f"{url}/review", timeout=60)
    out.print(f"GET {url}/review -> HTTP {page.status_code}: the review queue's page")
