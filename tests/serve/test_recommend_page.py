"""The buyer's page in a real browser (Debian's headless chromium driven by Playwright).

A uvicorn server serves a tiny registered recommender (simulated browsing of 240 real photos,
see recommend_model.py), the page and the API; the tests read the feed the page shows, open a
listing and its "more like this", at desktop and phone widths. Screenshots go to
tests/artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from furima.recommend import Recommender
from furima.registry import ModelRegistry
from furima.serve import ServeSettings, create_app, running_server

from .chromium import NEEDS_CHROMIUM, PageVisit
from .recommend_model import fit_tiny

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def model() -> Recommender:
    return fit_tiny()


@pytest.fixture(scope="module")
def base_url(model: Recommender, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("buyer-page")
    registry = ModelRegistry(root / "registry")
    registry.log_model(model.save(root / "model"), task="recommend", alias="champion")
    settings = ServeSettings(tasks=("recommend",), poll_seconds=0.2)
    with running_server(create_app(settings, registry=registry)) as url:
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.05)
        yield url


class Visit(PageVisit):
    """The buyer's page, with readers for its cards."""

    path = "/buyer"

    def cards(self, list_id: str) -> list[dict[str, str]]:
        return list(
            self.page.eval_on_selector_all(
                f"#{list_id} .card",
                """cards => cards.map(c => ({
                    id: c.dataset.id,
                    title: c.querySelector('.title').textContent,
                    price: c.querySelector('.price').textContent,
                    reason: c.querySelector('.reason').textContent,
                }))""",
            )
        )

    def photos_loaded(self, list_id: str) -> None:
        self.wait_until(
            f"[...document.querySelectorAll('#{list_id} img')].every(i => i.complete "
            "&& i.naturalWidth > 0)"
        )


def test_feed_then_a_listing_with_more_like_this_on_desktop(
    browser: Any, base_url: str, model: Recommender
) -> None:
    visit = Visit(browser, base_url, 1280, 900)
    page = visit.page
    users = model.users_sample(12)
    visit.wait_until("document.querySelectorAll('#feed .card').length === 20")
    assert page.locator("#user-select option").all_inner_texts() == users
    expected = model.recommend([users[0]], k=20)[0]
    shown = visit.cards("feed")
    assert [card["id"] for card in shown] == expected.ids
    assert [card["reason"] for card in shown] == [item.reason for item in expected.items]
    assert sum(card["reason"].startswith("because you viewed “") for card in shown) >= 10
    first = model.listing(expected.ids[0])
    assert first is not None
    assert shown[0]["title"] == first["title"]
    assert shown[0]["price"] == f"{first['price']:,.0f}"
    visit.photos_loaded("feed")
    columns = page.eval_on_selector_all(
        "#feed .card", "cards => new Set(cards.map(c => c.getBoundingClientRect().left)).size"
    )
    assert columns == 5
    visit.screenshot("buyer_feed_desktop.png")

    page.locator("#feed .card-link").nth(2).click()
    visit.wait_until("document.querySelectorAll('#more .card').length === 10")
    opened = expected.ids[2]
    assert page.url.endswith(f"#/listing/{opened}")
    assert page.is_hidden("#feed-view")
    listing = model.listing(opened)
    assert listing is not None
    assert page.inner_text("#listing-title") == listing["title"]
    assert page.inner_text("#listing-category") == listing["category"]
    alike = model.similar_items([opened], k=10)[0]
    more = visit.cards("more")
    assert [card["id"] for card in more] == alike.ids
    assert [card["reason"] for card in more] == [item.reason for item in alike.items]
    assert sum(card["reason"] == "viewed together with this" for card in more) >= 5
    visit.photos_loaded("more")
    visit.screenshot("buyer_listing_desktop.png")

    page.click("#back")
    visit.wait_until("!document.getElementById('feed-view').hidden")
    assert page.url.endswith(f"#/user/{users[0]}")
    visit.everything_was_local()
    visit.close()


def test_phone_two_columns_no_sideways_scroll_and_another_buyer(
    browser: Any, base_url: str, model: Recommender
) -> None:
    visit = Visit(browser, base_url, 390, 844)
    page = visit.page
    visit.wait_until("document.querySelectorAll('#feed .card').length === 20")
    other = model.users_sample(12)[3]
    page.select_option("#user-select", other)
    visit.wait_until(f"document.getElementById('feed').dataset.user === '{other}'")
    expected = model.recommend([other], k=20)[0]
    assert [card["id"] for card in visit.cards("feed")] == expected.ids
    lefts = page.eval_on_selector_all(
        "#feed .card", "cards => cards.map(c => Math.round(c.getBoundingClientRect().left))"
    )
    assert len(set(lefts)) == 2
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    visit.photos_loaded("feed")
    visit.screenshot("buyer_feed_phone.png")
    page.locator("#feed .card-link").first.click()
    visit.wait_until("document.querySelectorAll('#more .card').length === 10")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    visit.screenshot("buyer_listing_phone.png")
    visit.everything_was_local()
    visit.close()
