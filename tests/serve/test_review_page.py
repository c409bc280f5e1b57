"""The reviewer's page and its routes over a review queue of three real Myntra listings.

The JSON routes are checked with a test client (404, 409, 422 bodies, photos, order); the page
in Debian's headless chromium driven by Playwright: a reviewer decides one listing by click and
one by key, meets another reviewer's decision as a 409 in words, at desktop and phone widths.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from furima.safety import Action, Evidence, ListingCheck, PolicyVerdict
from furima.safety._queue import ReviewQueue
from furima.serve import ServeSettings, create_app, running_server
from furima.serve._review_routes import QueueKeeper

from .chromium import NEEDS_CHROMIUM, PageVisit

WATCH, BAG, SNEAKER = "4713", "9919", "1548"


def verdict(
    policy: str, score: float, action: Action, reasons: tuple[str, ...] = (), *evidence: Evidence
) -> PolicyVerdict:
    decision = action if score >= 0.5 else Action.ALLOW
    return PolicyVerdict(policy, score, 0.5, decision, reasons, tuple(evidence))


def review_checks() -> list[ListingCheck]:
    """What the checker could say about the three listings (written by hand)."""
    watch = ListingCheck(
        WATCH,
        Action.BLOCK,
        (
            verdict(
                "counterfeit",
                0.96,
                Action.BLOCK,
                ("the text offers a copy of a branded item",),
                Evidence("rule", 'keyword "first copy"'),
                Evidence("example", "Replica watch, looks exactly like the original", None, 0.81),
            ),
            verdict(
                "price_anomaly",
                0.91,
                Action.REVIEW,
                (
                    "priced at 799, far below the expected 3,200 to 6,800 (too cheap is a common "
                    "scam sign)",
                ),
                Evidence("price_range", "expected 3,200 to 6,800, suggested 4,650"),
            ),
            verdict("nsfw_photo", 0.02, Action.BLOCK),
        ),
        risk=0.96,
        uncertainty=0.08,
    )
    sneaker = ListingCheck(
        SNEAKER,
        Action.REVIEW,
        (
            verdict(
                "off_platform",
                0.64,
                Action.REVIEW,
                ("asks buyers to pay outside the marketplace",),
                Evidence("rule", r"pattern whatsapp\s*\d{5}"),
                Evidence("words", "whatsapp, fees, message"),
            ),
            verdict("counterfeit", 0.08, Action.BLOCK),
        ),
        risk=0.64,
        uncertainty=0.72,
    )
    bag = ListingCheck(
        BAG,
        Action.REVIEW,
        (
            verdict(
                "duplicate",
                0.83,
                Action.REVIEW,
                ("the same photo as another listing by this seller",),
                Evidence("duplicate", "same photo (hash distance 2)", "88231", 0.99),
                Evidence("similar_listing", "near-identical text", "88240", 0.93),
            ),
        ),
        risk=0.83,
        uncertainty=0.3,
    )
    return [watch, sneaker, bag]


def review_listings(photos: pd.DataFrame) -> pd.DataFrame:
    """The three listings: their real titles and photos, with words a seller might write."""
    rows = photos.set_index(photos["id"].astype(str)).loc[[WATCH, SNEAKER, BAG]]
    return pd.DataFrame(
        {
            "listing_id": rows.index,
            "name": rows["title"].to_numpy(),
            "description": [
                "AAA first copy of the original, looks 100% real. Box not included.",
                "Size 9, worn twice. Message me on WhatsApp 98200 12345 for a better price, "
                "no app fees!",
                "Black shoulder bag, barely used. Same bag also listed in my other shop.",
            ],
            "price": [799.0, 2499.0, 1850.0],
            "brand": [title.split()[0] for title in rows["title"]],
            "category": rows["article_type"].to_numpy(),
            "photo": rows["jpeg"].to_numpy(),
        }
    )


@pytest.fixture
def queue_path(tmp_path: Path, photo_listings: pd.DataFrame) -> Path:
    path = tmp_path / "review.duckdb"
    with ReviewQueue(path) as queue:
        assert queue.enqueue(review_checks(), review_listings(photo_listings)) == 3
    return path


@pytest.fixture
def api(queue_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ServeSettings(review_queue=queue_path))) as client:
        yield client


# -- the JSON routes ---------------------------------------------------------------------------


def test_queue_route_orders_by_priority_with_photos(
    api: TestClient, photo_listings: pd.DataFrame
) -> None:
    answer = api.get("/v1/review/queue", params={"limit": 5}).json()
    assert [item["listing_id"] for item in answer["items"]] == [WATCH, SNEAKER, BAG]
    watch = answer["items"][0]
    assert (watch["name"], watch["price"], watch["decision"]) == (
        "ADIDAS Unisex Analogue Cambridge Black Watch",
        799.0,
        "block",
    )
    assert watch["flagged"] == ["counterfeit", "price_anomaly"]
    assert watch["photo_url"] == f"/v1/review/items/{WATCH}/photo"
    assert answer["stats"]["pending"] == 3
    photo = api.get(watch["photo_url"])
    expected = photo_listings.loc[photo_listings["id"] == int(WATCH), "jpeg"].iloc[0]
    assert (photo.status_code, photo.headers["content-type"], photo.content) == (
        200,
        "image/jpeg",
        expected,
    )
    only = api.get("/v1/review/queue", params={"policy": "duplicate"}).json()
    assert [item["listing_id"] for item in only["items"]] == [BAG]


def test_routes_answer_errors_in_words(api: TestClient) -> None:
    unknown = api.post(
        "/v1/review/decisions",
        json={"listing_id": "nope", "reviewer": "alice", "outcome": "remove"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "type": "unknown_listing",
        "message": "listing 'nope' is not in the review queue; only listings that a check "
        "flagged are enqueued. Check the id, or refresh the queue.",
    }
    bad = api.post(
        "/v1/review/decisions", json={"listing_id": BAG, "reviewer": "alice", "outcome": "delete"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == (
        "Some of what you sent is not valid: outcome: Input should be 'approve' or 'remove'"
    )
    not_flagged = api.post(
        "/v1/review/decisions",
        json={"listing_id": BAG, "reviewer": "alice", "outcome": "remove", "policies": ["spam"]},
    )
    assert not_flagged.status_code == 422
    assert not_flagged.json()["error"]["type"] == "invalid_review"
    assert "were not flagged on listing '9919'" in not_flagged.json()["error"]["message"]
    photo = api.get("/v1/review/items/nope/photo")
    assert photo.status_code == 404 and photo.json()["error"]["type"] == "unknown_listing"
    assert api.get("/v1/review/queue", params={"limit": 0}).status_code == 422

    held = api.post(f"/v1/review/items/{BAG}:claim", json={"reviewer": "alice"})
    assert held.status_code == 200 and held.json()["claimed_by"] == "alice"
    busy = api.post(
        "/v1/review/decisions", json={"listing_id": BAG, "reviewer": "bob", "outcome": "approve"}
    )
    assert busy.status_code == 409
    assert "is being reviewed by 'alice' until" in busy.json()["error"]["message"]
    done = api.post(
        "/v1/review/decisions",
        json={"listing_id": BAG, "reviewer": "alice", "outcome": "remove", "note": "relisted"},
    )
    assert done.status_code == 200
    assert done.json()["decision"]["policies"] == ["duplicate"]
    twice = api.post(
        "/v1/review/decisions", json={"listing_id": BAG, "reviewer": "bob", "outcome": "approve"}
    )
    assert twice.status_code == 409 and twice.json()["error"]["type"] == "review_conflict"
    assert twice.json()["error"]["message"].startswith(
        "listing '9919' was already decided by 'alice' at "
    )
    decided = api.get(f"/v1/review/items/{BAG}").json()
    assert decided["reviewed"]["outcome"] == "remove"


def test_serve_cli_review_queue_option(
    queue_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from furima.catalog import InteractionStore
    from furima.cli import app

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    result = CliRunner().invoke(app, ["serve", "--review-queue", str(queue_path)])
    assert result.exit_code == 0, result.output
    assert served[0].state.settings.review_queue == queue_path
    events = tmp_path / "events.duckdb"
    InteractionStore(events).close()
    refused = CliRunner().invoke(app, ["serve", "--review-queue", str(events)])
    assert refused.exit_code == 1
    assert "is not a furima review queue" in refused.output
    assert "Traceback" not in refused.output and len(served) == 1


_OPEN_ELSEWHERE = """
import sys
from furima.exceptions import StoreError
from furima.safety._queue import ReviewQueue
try:
    ReviewQueue(sys.argv[1], lock_wait_seconds=0).close()
    print("opened")
except StoreError as exc:
    print(exc)
"""


def test_the_server_lets_other_processes_have_the_file_between_requests(queue_path: Path) -> None:
    keeper = QueueKeeper(queue_path, keep_open_seconds=0.05)

    def open_elsewhere() -> str:
        command = [sys.executable, "-c", _OPEN_ELSEWHERE, str(queue_path)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    with keeper.use() as queue:
        assert len(queue) == 3
        assert "is held by another process" in open_elsewhere()
    time.sleep(0.3)
    assert open_elsewhere() == "opened\n"
    with keeper.use() as queue:  # opened again for the next request
        assert len(queue) == 3
    keeper.close()


def test_no_review_queue_no_review_page(tmp_path: Path) -> None:
    with TestClient(create_app(ServeSettings())) as client:
        assert client.get("/review").status_code == 404
        assert client.get("/v1/review/queue").status_code == 404


# -- the page in a browser ---------------------------------------------------------------------


@pytest.fixture
def base_url(queue_path: Path) -> Iterator[str]:
    with running_server(create_app(ServeSettings(review_queue=queue_path))) as url:
        yield url


class Visit(PageVisit):
    """The reviewer's page, with readers for what it shows."""

    path = "/review"

    def sign_in(self, name: str) -> None:
        self.page.fill("#reviewer", name)
        self.page.press("#reviewer", "Tab")

    def current(self) -> str:
        return str(self.page.get_attribute("#current", "data-id"))

    def queue(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                "#queue .queue-item", "rows => rows.map(r => r.dataset.id)"
            )
        )

    def wait_for(self, current: str | None, queue: list[str]) -> None:
        shown = "(e => e.hidden ? null : e.dataset.id)(document.getElementById('current'))"
        ids = (
            "[...document.querySelectorAll('#queue .queue-item')].map(r => r.dataset.id).join(',')"
        )
        expected_current = "null" if current is None else f"'{current}'"
        self.wait_until(f"({shown}) === {expected_current} && {ids} === '{','.join(queue)}'")

    def everything_was_local_but(self, *statuses: int) -> None:
        """Every request stayed on this server; the only console errors are the browser's
        notes about the answers with these statuses (a 404 or 409 the page shows in words)."""
        expected = tuple(f"status of {status}" for status in statuses)
        self.console_errors = [e for e in self.console_errors if not any(s in e for s in expected)]
        self.everything_was_local()

    def photos_loaded(self) -> None:
        self.wait_until(
            "[...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
        )


def needs_chromium(test: Any) -> Any:
    for mark in NEEDS_CHROMIUM:
        test = mark(test)
    return test


@needs_chromium
def test_review_by_click_and_key_and_a_409_in_words(
    browser: Any, base_url: str, queue_path: Path
) -> None:
    visit = Visit(browser, base_url, 1280, 900)
    page = visit.page
    visit.sign_in("alice")
    visit.wait_for(WATCH, [WATCH, SNEAKER, BAG])
    assert page.inner_text("#item-title") == "ADIDAS Unisex Analogue Cambridge Black Watch"
    assert page.inner_text("#item-price") == "799"
    assert page.inner_text("#item-action") == "BLOCKED"
    cards = page.eval_on_selector_all("#policies .policy", "cs => cs.map(c => c.dataset.policy)")
    assert cards == ["counterfeit", "price_anomaly"]
    evidence = page.inner_text("#policies")
    assert 'Matched rule: keyword "first copy"' in evidence
    assert "Expected price: expected 3,200 to 6,800, suggested 4,650" in evidence
    assert page.inner_text("#others-summary") == "Other checks passed (1)"
    visit.photos_loaded()
    assert page.evaluate("localStorage.getItem('furima.reviewer')") == "alice"
    visit.screenshot("review_desktop.png")

    # bob decides the bag (not yet claimed: alice holds only what she looks at)
    visit.wait_until(f"document.getElementById('current').dataset.claimed === '{WATCH}'")
    with ReviewQueue(queue_path) as queue:
        assert queue.item(WATCH).claimed_by == "alice"
        queue.decide(BAG, "bob", "approve")
    page.keyboard.press("j")
    visit.wait_for(SNEAKER, [WATCH, SNEAKER, BAG])
    page.keyboard.press("j")  # the bag: alice's claim meets bob's decision
    visit.wait_for(SNEAKER, [WATCH, SNEAKER])
    assert page.inner_text("#error").startswith(
        "Skipped Puma Women Ferrari LS Black Handbags: listing '9919' was already decided by "
        "'bob' at "
    )
    page.keyboard.press("k")
    visit.wait_for(WATCH, [WATCH, SNEAKER])
    page.fill("#note", "fake watch")
    page.click("#remove")
    visit.wait_for(SNEAKER, [SNEAKER])
    assert page.inner_text("#notice") == "Removed “ADIDAS Unisex Analogue Cambridge Black Watch”."
    page.keyboard.press("a")
    visit.wait_for(None, [])
    assert page.is_visible("#empty")
    assert page.inner_text("#counts") == "0 waiting · 3 decided"

    with ReviewQueue(queue_path) as queue:
        decided = queue.decisions()
    rows = decided[["listing_id", "reviewer", "outcome", "note", "policies"]].to_numpy().tolist()
    assert sorted(rows) == [
        [SNEAKER, "alice", "approve", "", []],
        [WATCH, "alice", "remove", "fake watch", ["counterfeit", "price_anomaly"]],
        [BAG, "bob", "approve", "", []],
    ]
    visit.everything_was_local_but(409)
    visit.close()


@needs_chromium
def test_phone_width_one_column_and_a_duplicates_evidence_link(browser: Any, base_url: str) -> None:
    visit = Visit(browser, base_url, 390, 844)
    page = visit.page
    visit.sign_in("carol")
    visit.wait_for(WATCH, [WATCH, SNEAKER, BAG])
    page.locator("#queue .queue-item").nth(2).click()
    visit.wait_for(BAG, [WATCH, SNEAKER, BAG])
    links = page.eval_on_selector_all("#policies .evidence a", "as => as.map(a => a.textContent)")
    assert links == ["listing 88231", "listing 88240"]
    visit.photos_loaded()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    side = page.eval_on_selector("#current", "e => e.getBoundingClientRect().width")
    assert side > 340  # one column: the listing takes the phone's width
    visit.screenshot("review_phone.png")
    page.click("#policies .evidence a")  # not in the queue: said in words, nothing breaks
    visit.wait_until("!document.getElementById('error').hidden")
    assert "listing '88231' is not in the review queue" in page.inner_text("#error")
    assert visit.current() == BAG
    visit.everything_was_local_but(404)
    visit.close()
