"""The buyer's search page in a real browser (Debian's headless chromium driven by Playwright).

A uvicorn server serves a tiny registered buyer search (the 240 real Myntra photo listings,
see search_model.py), the page and the API. The tests type searches, click facets and price
buckets, upload a photo, and read what the page shows, at desktop and phone widths.
Screenshots go to the test's temporary folder (their paths are printed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from furima.registry import ModelRegistry
from furima.search import BuyerSearch
from furima.serve import ServeSettings, create_app, running_server

from .chromium import NEEDS_CHROMIUM, PageVisit
from .search_model import build_tiny, pooled

pytestmark = NEEDS_CHROMIUM

FACETS = ["category", "colour", "gender", "usage", "price"]
PAGE_SIZE = 24
REMOVE = "\N{MULTIPLICATION SIGN}"  # on the chip of a filter in use


@pytest.fixture(scope="module")
def model() -> BuyerSearch:
    return build_tiny()


@pytest.fixture(scope="module")
def base_url(model: BuyerSearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("search-page")
    registry = ModelRegistry(root / "registry")
    registry.log_model(model.save(root / "search"), task="search", alias="champion")
    settings = ServeSettings(tasks=("search",), poll_seconds=0.2)
    with running_server(create_app(settings, registry=registry)) as url:
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.05)
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("search-page-screenshots")


class Visit(PageVisit):
    """The search page, with readers for its results, facets and messages."""

    path = "/search"
    local_schemes = ("data:", "blob:")  # the uploaded photo's thumbnail

    def __init__(self, browser: Any, base_url: str, width: int, height: int, shots: Path):
        super().__init__(browser, base_url, width, height)
        self.shots = shots
        self.wait_until("document.querySelectorAll('#examples .chip').length > 0")

    def searches(self) -> int:
        return int(self.page.evaluate("Number(document.body.dataset.searches || 0)"))

    def search_done(self, before: int) -> None:
        self.wait_until(f"Number(document.body.dataset.searches || 0) > {before}", 30)

    def type_and_search(self, words: str) -> None:
        before = self.searches()
        self.page.fill("#query", words)
        self.page.press("#query", "Enter")
        self.search_done(before)

    def click_and_wait(self, selector: str) -> None:
        before = self.searches()
        self.page.locator(selector).first.click()
        self.search_done(before)

    def card_ids(self) -> list[int]:
        ids = self.page.eval_on_selector_all("#grid .card", "cs => cs.map(c => c.dataset.id)")
        return [int(i) for i in ids]

    def heading(self) -> str:
        return str(self.page.inner_text("#results-heading"))

    def facet(self, field: str) -> dict[str, int]:
        rows = self.page.eval_on_selector_all(
            f"#facets .facet[data-field='{field}'] li:not([hidden]) .facet-value",
            "bs => bs.map(b => [b.querySelector('.name').textContent, "
            "b.querySelector('.count').textContent])",
        )
        return {name: int(count) for name, count in rows}

    def photos_loaded(self) -> None:
        """Every photo on screen has loaded (those further down load lazily, on scrolling)."""
        self.wait_until(
            "[...document.querySelectorAll('#grid img')]"
            ".filter(i => i.getBoundingClientRect().top < innerHeight)"
            ".every(i => i.complete && i.naturalWidth > 0)",
            20,
        )

    def columns(self) -> int:
        return int(
            self.page.eval_on_selector_all(
                "#grid .card", "cs => new Set(cs.map(c => c.getBoundingClientRect().left)).size"
            )
        )

    def screenshot(self, name: str) -> Path:
        path = self.shots / name
        self.page.screenshot(path=str(path), full_page=False)
        print(f"screenshot: {path}")
        return path


def test_words_then_a_facet_then_a_price_bucket_on_desktop(
    browser: Any, base_url: str, model: BuyerSearch, shots: Path
) -> None:
    visit = Visit(browser, base_url, 1280, 900, shots)
    page = visit.page
    examples = page.locator("#examples .chip").all_inner_texts()
    assert len(examples) == 8 and "Black Watches" in examples
    visit.screenshot("search_welcome_desktop.png")

    visit.type_and_search("black watch")
    expected = model.search("black watch", k=PAGE_SIZE, facets=FACETS)
    assert visit.heading() == f"{expected.total} results for “black watch”"
    assert visit.card_ids() == expected.ids.tolist()
    first = page.locator("#grid .card").first
    assert first.locator(".title").inner_text() == expected.results[0].title
    assert first.locator(".price-tag").inner_text() == f"{expected.results[0].price:,.0f}"
    assert visit.facet("category") == {
        f["value"]: f["count"] for f in expected.facets["category"][:8]
    }
    assert visit.columns() == 4
    colours = len(expected.facets["colour"])
    assert colours > 8 and page.locator("[data-field='colour'] .facet-value:visible").count() == 8
    page.click(f"[data-field='colour'] .facet-more >> text=Show all {colours}")
    assert page.locator("[data-field='colour'] .facet-value:visible").count() == colours
    visit.photos_loaded()
    assert page.evaluate("location.hash") == "#q=black+watch"
    visit.screenshot("search_results_desktop.png")

    watches = visit.facet("category")["Watches"]
    visit.click_and_wait("#facets .facet[data-field='category'] .facet-value >> text=Watches")
    assert visit.heading() == f"{watches} results for “black watch”"
    narrowed = model.search(
        "black watch", k=PAGE_SIZE, facets=FACETS, filters={"category": ["Watches"]}
    )
    assert visit.card_ids() == narrowed.ids.tolist()
    assert page.locator("#active-filters .chip").all_inner_texts() == [f"Watches {REMOVE}"]
    pressed = page.locator("#facets .facet-value[aria-pressed='true'] .name").all_inner_texts()
    assert pressed == ["Watches"]

    bucket = next(b for b in narrowed.facets["price"] if b["count"] > 0)
    visit.click_and_wait("#price-buckets .facet-value:not([disabled])")
    low, high = bucket["min"], bucket["max"]
    priced = model.search(
        "black watch",
        k=PAGE_SIZE,
        facets=FACETS,
        filters={"category": ["Watches"], "price": (low, high)},
    )
    assert visit.card_ids() == priced.ids.tolist()
    assert 0 < priced.total < watches
    chips = page.locator("#active-filters .chip").all_inner_texts()
    assert chips[0] == f"Watches {REMOVE}" and len(chips) == 2
    visit.photos_loaded()
    visit.screenshot("search_filtered_desktop.png")

    before = visit.searches()
    page.go_back()  # to "black watch" in Watches, before the price bucket
    visit.search_done(before)
    assert page.locator("#active-filters .chip").all_inner_texts() == [f"Watches {REMOVE}"]
    assert visit.card_ids() == narrowed.ids.tolist()

    visit.click_and_wait(f"#active-filters .chip >> text=Watches {REMOVE}")
    assert page.locator("#active-filters .chip").count() == 0
    assert visit.card_ids() == expected.ids.tolist()
    visit.everything_was_local()
    visit.close()


def test_phone_two_columns_filters_fold_and_show_more(
    browser: Any, base_url: str, model: BuyerSearch, shots: Path
) -> None:
    visit = Visit(browser, base_url, 390, 844, shots)
    page = visit.page
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    visit.screenshot("search_welcome_phone.png")
    visit.type_and_search("shirt")
    expected = model.search("shirt", k=PAGE_SIZE, facets=FACETS)
    assert visit.card_ids() == expected.ids.tolist()
    assert visit.columns() == 2
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    assert page.is_hidden("#filters")
    visit.photos_loaded()
    visit.screenshot("search_results_phone.png")

    page.click("#filters-toggle")
    assert page.is_visible("#filters")
    visit.screenshot("search_filters_phone.png")
    visit.click_and_wait("#facets .facet[data-field='gender'] .facet-value >> text=Men")
    assert page.is_hidden("#filters")  # folded away so the results show
    assert page.inner_text("#filters-toggle") == "Filters (1)"
    narrowed = model.search("shirt", k=PAGE_SIZE, facets=FACETS, filters={"gender": ["Men"]})
    men = narrowed.total
    assert visit.heading() == f"{men} results for “shirt”"
    assert visit.card_ids() == narrowed.ids.tolist()
    assert {hit.category for hit in narrowed.results} <= {"Shirts", "Tshirts"}

    if men > PAGE_SIZE:
        visit.click_and_wait("#more")
        assert len(visit.card_ids()) == min(men, 2 * PAGE_SIZE)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    visit.everything_was_local()
    visit.close()


def test_a_photo_upload_finds_that_listing(browser: Any, base_url: str, shots: Path) -> None:
    visit = Visit(browser, base_url, 390, 844, shots)
    page = visit.page
    listing = pooled().iloc[13]
    before = visit.searches()
    page.set_input_files(
        "#photo-input",
        files=[{"name": "snap.jpg", "mimeType": "image/jpeg", "buffer": listing["jpeg"]}],
    )
    visit.search_done(before)
    assert page.is_visible("#photo-chip")
    assert visit.heading().endswith("results for your photo")
    ids = visit.card_ids()
    assert ids[0] == listing["id"]
    categories = page.locator("#grid .card .category").all_inner_texts()
    assert categories[:3] == [listing["article_type"]] * 3
    visit.photos_loaded()
    visit.screenshot("search_photo_phone.png")
    page.click("#photo-clear")
    assert page.is_hidden("#photo-chip") and page.is_visible("#welcome")
    visit.everything_was_local()
    visit.close()


def test_empty_query_no_results_and_a_server_error_are_said_in_words(
    browser: Any, base_url: str, shots: Path
) -> None:
    visit = Visit(browser, base_url, 1280, 900, shots)
    page = visit.page
    page.press("#query", "Enter")
    assert page.inner_text("#error") == (
        "Type what you are looking for, or add a photo to search with it."
    )
    assert not [url for url in visit.requests if url.endswith("/v1/search")]

    visit.type_and_search("赤いドレス")
    assert visit.heading() == "0 results for “赤いドレス”"
    assert page.inner_text("#empty").startswith("No listings match your search.")
    assert "Chinese/Japanese" in page.inner_text("#notes")
    assert page.is_hidden("#filters")  # nothing to narrow
    visit.screenshot("search_empty_desktop.png")
    visit.close()

    visit = Visit(browser, base_url, 1280, 900, shots)
    visit.page.goto(f"{base_url}/search#q=shirt&f.brand=Nike")
    visit.page.reload()
    visit.wait_until("!document.getElementById('error').hidden", 30)
    message = visit.page.inner_text("#error")
    assert message.startswith("We could not use what you sent: cannot filter on unknown field")
    visit.screenshot("search_error_desktop.png")
    visit.close()
