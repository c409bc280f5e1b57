"""The seller's page, "Check before posting", in a real browser (headless chromium, Playwright).

A uvicorn server serves the page, the in-memory listing assistant (fakes.py) and the ``safety``
task from a registry whose version loads :class:`FakeSafetyModel` instead of a saved
``SafetyChecker``: it blocks a photo that is byte for byte a catalog listing's (a duplicate),
sends words about paying by bank transfer to review, and refuses words it cannot read. The
tests read the panel the page shows, the request it sent, and save screenshots to
tests/artifacts/.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from furima.exceptions import DataError
from furima.registry import TaskDeployment, TrafficPolicy, VersionRef
from furima.safety import Action, Evidence, ListingCheck, PolicyVerdict
from furima.serve import ServeSettings, create_app, register_task, running_server
from furima.serve._task_safety import SAFETY_TASK

from .chromium import NEEDS_CHROMIUM, PageVisit
from .fakes import FakeAssistant

pytestmark = NEEDS_CHROMIUM

CHECK_PATH = "/v1/listings:check"


@dataclasses.dataclass(frozen=True)
class FakePolicy:
    name: str
    description: str
    threshold: float
    action: Action


DUPLICATE = FakePolicy("duplicate_listing", "The same item listed twice", 0.9, Action.BLOCK)
PAYMENT = FakePolicy("off_platform_payment", "Payment outside furima", 0.5, Action.REVIEW)


class FakeSafetyModel:
    """What the served task needs of a SafetyChecker: ``policies`` and ``check(frame)``."""

    policies = (DUPLICATE, PAYMENT)

    def __init__(self, catalog: pd.DataFrame) -> None:
        pairs = zip(catalog["jpeg"], catalog["id"], strict=True)
        self.catalog_photos = {bytes(photo): str(listing_id) for photo, listing_id in pairs}
        self.frames: list[pd.DataFrame] = []

    def check(self, frame: pd.DataFrame) -> list[ListingCheck]:
        self.frames.append(frame)
        return [self._check(row) for row in frame.to_dict("records")]

    def _check(self, row: dict[Any, Any]) -> ListingCheck:
        words = f"{row['name'] or ''} {row['description'] or ''}".lower()
        if "unreadable" in words:
            raise DataError("the description has no words we can check")
        other = self.catalog_photos.get(row["photo"]) if row["photo"] else None
        verdicts = (
            verdict(DUPLICATE, 0.99, "it uses the same photo as another listing",
                    Evidence("duplicate", "the same photo", other, 1.0))
            if other else verdict(DUPLICATE, 0.02),
            verdict(PAYMENT, 0.86, "it asks the buyer to pay by bank transfer, outside furima",
                    Evidence("words", "bank transfer"))
            if "bank transfer" in words else verdict(PAYMENT, 0.04),
        )  # fmt: skip
        decision = max((v.decision for v in verdicts), key=lambda action: action.severity)
        risk = max(v.score for v in verdicts)
        return ListingCheck(str(row["listing_id"]), decision, verdicts, risk, 0.1)


def verdict(
    policy: FakePolicy, score: float, reason: str | None = None, *evidence: Evidence
) -> PolicyVerdict:
    flagged = score >= policy.threshold
    return PolicyVerdict(
        policy.name,
        score,
        policy.threshold,
        policy.action if flagged else Action.ALLOW,
        (reason,) if reason and flagged else (),
        evidence,
    )


@pytest.fixture(scope="module")
def checker(photo_listings: pd.DataFrame) -> FakeSafetyModel:
    return FakeSafetyModel(photo_listings)


@dataclasses.dataclass(frozen=True)
class OneChampion:
    """The two registry reads the server makes, in memory: ``safety`` and its one champion
    (an MLflow registry's first write takes about 10 s, most of this file's budget)."""

    folder: Path

    def formats(self) -> dict[str, str | None]:
        return {"safety": "furima.safety_checker"}

    def deployment(self, task: str) -> TaskDeployment:
        return TaskDeployment(task, VersionRef(task, 1, self.folder), None, TrafficPolicy())


@pytest.fixture(scope="module")
def base_url(
    checker: FakeSafetyModel, photo_listings: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The page, the fake assistant and the safety task, its version loading the fake model."""
    register_task(dataclasses.replace(SAFETY_TASK, load=lambda _path: checker))
    try:
        registry = OneChampion(tmp_path_factory.mktemp("safety-v1"))
        settings = ServeSettings(tasks=("safety",), poll_seconds=0.2)
        assistant = FakeAssistant(photo_listings)
        app = create_app(settings, listing_assistant=assistant, registry=registry)  # type: ignore[arg-type]
        with running_server(app) as url:
            wait_until_ready(url)
            yield url
    finally:
        register_task(SAFETY_TASK)


@pytest.fixture(scope="module")
def page_only_url(photo_listings: pd.DataFrame) -> Iterator[str]:
    """The page and the fake assistant, no safety task."""
    app = create_app(ServeSettings(), listing_assistant=FakeAssistant(photo_listings))
    with running_server(app) as url:
        yield url


def wait_until_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.05)


class Visit(PageVisit):
    """The seller's page, with readers for the check's panel."""

    local_schemes = ("blob:", "data:")

    def check(self, button: str) -> dict[str, Any]:
        """Press ``button`` from the keyboard; the JSON body the page sent."""
        self.page.focus(button)
        with self.page.expect_request(lambda r: r.url.endswith(CHECK_PATH)) as sent:
            self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#check-busy", state="hidden")
        body: dict[str, Any] = sent.value.post_data_json
        return body

    def verdict(self) -> dict[str, Any]:
        self.page.wait_for_selector("#check-answer .verdict")
        panel = self.page.locator("#check-answer .verdict")
        return {
            "decision": panel.get_attribute("data-decision"),
            "headline": panel.locator(".verdict-title").inner_text(),
            "problems": panel.locator(".problems .problem-text").all_inner_texts(),
            "looks_like": panel.locator(".problems .looks-like").all_inner_texts(),
        }

    def suggestion(self) -> None:
        self.page.wait_for_selector("#result:not([hidden]) [data-field='article_type'] input")
        self.wait_until("[...document.querySelectorAll('#evidence img')].every(i => i.complete)")


def test_a_duplicate_photo_is_blocked_then_allowed_without_it(
    browser: Any, base_url: str, checker: FakeSafetyModel, photo_listings: pd.DataFrame,
    tmp_path: Path,
) -> None:  # fmt: skip
    row = photo_listings.iloc[7]
    photo = tmp_path / "my_item.jpg"
    photo.write_bytes(row["jpeg"])
    visit = Visit(browser, base_url, 1280, 900)
    page = visit.page
    page.set_input_files("#photo-input", str(photo))
    visit.suggestion()
    page.wait_for_selector("#check-listing:not([hidden])")
    assert page.is_hidden("#check-draft")  # after a suggestion, the step sits by the actions
    page.fill("#title", "My barely worn item")
    page.fill("#price", "1500")

    sent = visit.check("#check-listing")
    assert sent["name"] == "My barely worn item"
    assert base64.b64decode(sent["photo"]) == row["jpeg"]
    assert sent["price"] == 1500
    assert sent["category"] == "/".join(
        row[level] for level in ("master_category", "sub_category", "article_type")
    )
    assert checker.frames[-1]["photo"].iloc[0] == row["jpeg"]  # decoded by the server
    assert visit.verdict() == {
        "decision": "block",
        "headline": "This listing cannot be posted",
        "problems": ["It uses the same photo as another listing."],
        "looks_like": [f"Looks like listing {row['id']}"],
    }
    assert page.inner_text(".verdict-intro") == "Change this, then check again:"
    assert page.is_hidden(".check-details table")  # scores only behind "Details"
    page.focus(".check-details summary")
    page.keyboard.press("Enter")
    rows = page.locator(".check-details tbody tr").all_inner_texts()
    assert [r.split("\t") for r in rows] == [
        ["duplicate_listing", "0.99", "0.90", "block"],
        ["off_platform_payment", "0.04", "0.50", "allow"],
    ]
    assert page.is_hidden("#error")
    visit.screenshot("listing_check_problems.png")

    page.fill("#title", "My barely worn item, my own photo")  # an edit makes the answer stale
    assert page.inner_text(".check-stale") == (
        "You changed the listing after this check. Check it again before posting."
    )
    page.click("#clear-photo")
    sent = visit.check("#check-listing")
    assert "photo" not in sent
    assert sent["name"] == "My barely worn item, my own photo"
    assert visit.verdict() == {
        "decision": "allow",
        "headline": "Ready to post: nothing in this listing breaks our rules",
        "problems": [],
        "looks_like": [],
    }
    assert page.is_hidden(".check-stale")
    visit.everything_was_local()
    visit.close()


def test_words_alone_on_a_phone_go_to_review_and_errors_read_as_words(
    browser: Any, base_url: str
) -> None:
    visit = Visit(browser, base_url, 390, 844)
    page = visit.page
    page.wait_for_selector("#check-draft:not([hidden])")  # no suggestion needed
    page.fill("#text", "Brand new phone, pay by bank transfer only")
    sent = visit.check("#check-draft")
    assert sent == {"description": "Brand new phone, pay by bank transfer only"}
    assert visit.verdict() == {
        "decision": "review",
        "headline": "A person will look at this listing before it goes live",
        "problems": ["It asks the buyer to pay by bank transfer, outside furima."],
        "looks_like": [],
    }
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    visit.screenshot("listing_check_phone.png")

    page.fill("#text", "unreadable")
    visit.check("#check-draft")
    assert page.inner_text("#check-answer .check-note.error") == (
        "We could not use what you sent: the description has no words we can check"
    )
    assert page.is_hidden("#error")
    page.fill("#text", "")
    page.click("#check-draft")
    assert page.inner_text("#check-answer .check-note") == (
        "Add a photo, a title or a few words about your item, then check it."
    )
    visit.console_errors = [e for e in visit.console_errors if "422" not in e]
    visit.everything_was_local()
    visit.close()


def test_without_the_safety_task_the_step_is_hidden(browser: Any, page_only_url: str) -> None:
    visit = Visit(browser, page_only_url, 1280, 900)
    page = visit.page
    page.wait_for_load_state("networkidle")
    assert page.is_hidden("#check-draft")
    page.fill("#text", "blue cotton t-shirt, worn twice")
    page.click("#suggest")
    visit.suggestion()
    assert page.is_hidden("#check-listing")
    visit.everything_was_local()  # no 404 was asked for
    visit.close()


def test_a_404_on_pressing_says_checking_is_not_available(browser: Any, page_only_url: str) -> None:
    visit = Visit(browser, page_only_url, 1280, 900)
    page = visit.page
    page.route("**/openapi.json", lambda route: route.abort())  # the page cannot tell: it tries
    page.reload()
    page.wait_for_selector("#check-draft:not([hidden])")
    page.fill("#text", "blue cotton t-shirt, worn twice")
    visit.check("#check-draft")
    assert page.inner_text("#check-answer .check-note.note") == (
        "Checking listings is not available on this server."
    )
    assert page.is_hidden("#check-draft")
    assert page.is_hidden("#error")
    visit.close()
