"""The seller's page shows the chance to sell (Debian's headless chromium driven by Playwright).

Two servers with the fake assistant (it prices every text-only draft at 999, as a T-shirt):
one also serving a small chance-to-sell model fitted on the documented simulation (its demand
curves renamed to the fake catalog's categories), one without. The page must show the model's
sentence and best price with the first, follow the seller's price edits, fill in the best price
on "Use", and show nothing at all with the second or when the model errors.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from furima.pricing._sell_chance import SellChanceModel
from furima.pricing._sell_simulation import simulate_sales
from furima.registry import ModelRegistry
from furima.serve import ServeSettings, create_app, running_server

from .chromium import NEEDS_CHROMIUM, PageVisit
from .fakes import FakeAssistant
from .test_recommend_serving import wait_for

pytestmark = NEEDS_CHROMIUM

PATH = "/v1/price:sell-chance"
# The simulation's demand curves as the fake catalog's category paths.
PATHS = {
    "tops": "Apparel/Topwear/Tshirts",
    "shoes": "Footwear/Shoes/Casual Shoes",
    "electronics": "Accessories/Watches/Watches",
    "books": "Accessories/Bags/Handbags",
}
LINE = re.compile(
    r"Priced at ([\d,]+), (?:likely|unlikely|as likely as not) \((\d+)%\) to sell within a "
    r"week\. Expected proceeds are highest at ([\d,]+) \(chance (\d+)%\)\."
)
# What the page knows of the T-shirt draft, by the names the model reads (condition: "Like new").
FEATURES = {"category": "Apparel/Topwear/Tshirts", "article_type": "Tshirts", "condition": 2}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> SellChanceModel:
    """Fitted on 1,500 simulated sales with the page's feature names, saved and loaded."""
    sales = simulate_sales(1500, seed=3)
    sales["category"] = sales["category"].map(PATHS)
    sales["article_type"] = sales["category"].str.rsplit("/", n=1).str[-1]
    sales["condition"] = np.random.default_rng(0).integers(1, 6, len(sales))
    fitted = SellChanceModel(max_days=14, n_estimators=60).fit(
        sales, price="asking_price", features=["category", "article_type", "condition"]
    )
    return SellChanceModel.load(fitted.save(tmp_path_factory.mktemp("sell") / "model"))


@pytest.fixture(scope="module")
def served(
    model: SellChanceModel, photo_listings: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("sell-page")
    registry = ModelRegistry(root / "registry")
    registry.log_model(model.save(root / "model"), alias="champion")
    settings = ServeSettings(tasks=("sell_chance",), poll_seconds=0.1, max_batch_wait_ms=1)
    app = create_app(settings, listing_assistant=FakeAssistant(photo_listings), registry=registry)
    with running_server(app) as url:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        yield url


@pytest.fixture(scope="module")
def plain(photo_listings: pd.DataFrame) -> Iterator[str]:
    app = create_app(ServeSettings(), listing_assistant=FakeAssistant(photo_listings))
    with running_server(app) as url:
        yield url


class Visit(PageVisit):
    """The seller's page, recording what it asks the chance-to-sell model."""

    def __init__(self, browser: Any, base_url: str) -> None:
        super().__init__(browser, base_url, 1280, 900)
        self.asked: list[dict[str, Any]] = []
        self.page.on("request", self._record)

    def _record(self, request: Any) -> None:
        if request.method == "POST" and request.url.endswith(PATH):
            self.asked.append(json.loads(request.post_data)["listings"][0])

    def suggest(self, words: str) -> None:
        self.page.fill("#text", words)
        self.page.select_option("#condition", "2")
        self.page.click("#suggest")
        self.page.wait_for_selector("#result:not([hidden])")
        assert self.page.input_value("#price") == "999"

    def line(self) -> str:
        return str(self.page.inner_text("#sell-chance-text"))

    def line_for(self, price: int) -> re.Match[str]:
        """Wait for the line about ``price``; its numbers."""
        self.wait_until(
            f"document.getElementById('sell-chance-text').textContent"
            f".startsWith('Priced at {price:,},')"
        )
        self.wait_until("!document.getElementById('sell-chance').hasAttribute('aria-busy')")
        found = LINE.fullmatch(self.line())
        assert found is not None, self.line()
        return found


def draft() -> pd.DataFrame:
    """The T-shirt draft as the model reads it (reference: the suggested 999)."""
    return pd.DataFrame({"reference_price": [999.0], **{k: [v] for k, v in FEATURES.items()}})


def test_the_chance_follows_the_price_and_use_fills_in_the_best(
    browser: Any, served: str, model: SellChanceModel
) -> None:
    visit = Visit(browser, served)
    page = visit.page
    visit.suggest("blue cotton t-shirt, worn twice")
    shown = visit.line_for(999)
    assert visit.asked[0] == {
        "reference_price": 999.0, "price": 999, "within_days": 7, "features": FEATURES,
    }  # fmt: skip
    chance = model.chance(draft(), 999.0, within_days=7)[0]
    best, best_chance = model.best_price(draft(), within_days=7)
    assert int(shown[2]) == round(chance * 100)
    assert int(shown[3].replace(",", "")) == round(best)
    assert int(shown[4]) == round(best_chance * 100)
    assert page.get_attribute("#sell-chance-text", "aria-live") == "polite"
    visit.screenshot("listing_sell_chance.png")

    asks = len(visit.asked)
    page.fill("#price", "")
    page.locator("#price").press_sequentially("1998")  # four edits, one ask after the pause
    dearer = visit.line_for(1998)
    assert len(visit.asked) - asks < 4 and visit.asked[-1]["price"] == 1998
    assert int(dearer[2]) < int(shown[2]) / 2  # twice the price: far less likely to sell
    assert int(dearer[2]) == round(model.chance(draft(), 1998.0, within_days=7)[0] * 100)

    use = page.locator("#use-best")
    assert use.inner_text() == f"Use {round(best):,}"
    use.click()
    assert page.input_value("#price") == str(round(best))
    at_best = visit.line_for(round(best))
    assert at_best[2] == shown[4] and use.is_hidden()  # already at the best price
    visit.everything_was_local()
    visit.close()


def test_an_error_from_the_model_hides_the_line(browser: Any, served: str) -> None:
    visit = Visit(browser, served)
    page = visit.page
    visit.suggest("blue cotton t-shirt")
    visit.line_for(999)
    page.route(f"**{PATH}", lambda route: route.fulfill(status=500, body="{}"))
    page.fill("#price", "1200")
    visit.wait_until("document.getElementById('sell-chance-text').textContent === ''")
    assert page.locator("#use-best").is_hidden()
    assert not page.locator("#sell-chance").is_visible()
    assert page.input_value("#price") == "1200"  # the page goes on working
    visit.console_errors = [e for e in visit.console_errors if "500" not in e]
    visit.everything_was_local()
    visit.close()


def test_without_a_sell_chance_model_nothing_is_shown_or_asked(browser: Any, plain: str) -> None:
    visit = Visit(browser, plain)
    page = visit.page
    visit.suggest("blue cotton t-shirt")
    visit.wait_until("selling.served === false")  # the page read /openapi.json: not served
    page.fill("#price", "1500")
    time.sleep(0.6)  # past the debounce: nothing may appear
    assert visit.line() == ""
    assert page.locator("#use-best").is_hidden()
    assert not page.locator("#sell-chance").is_visible()
    assert visit.asked == []
    assert not any(url.endswith(PATH) for url in visit.requests)
    visit.everything_was_local()  # and no 404 on the console
    visit.close()


def test_the_server_describes_the_served_model_for_the_page(
    served: str, model: SellChanceModel
) -> None:
    answer = httpx.get(f"{served}{PATH}", timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == 1 and body["max_within_days"] == model.horizon_ == 14
    assert [(f["name"], f["kind"]) for f in body["features"]] == [
        ("category", "category"), ("article_type", "category"), ("condition", "number"),
    ]  # fmt: skip
    assert body["features"][0]["categories"] == sorted(PATHS.values())
    assert body["features"][0]["n_categories"] == 4
    low, high = body["price_ratio_range"]
    assert (low, high) == pytest.approx(np.exp(model.ratio_range_))
    assert low < 1 < high
