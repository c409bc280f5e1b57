"""The seller's page in a real browser (Debian's headless chromium driven by Playwright).

A uvicorn server on a free loopback port serves the page and the API; the tests upload real
catalog photos, read what the page shows, edit it and read back the listing JSON. Screenshots
go to tests/artifacts/.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from furima.serve import ServeSettings, create_app, running_server

from .chromium import NEEDS_CHROMIUM, PageVisit

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def base_url(real_assistant: Any) -> Iterator[str]:
    with running_server(create_app(ServeSettings(), listing_assistant=real_assistant)) as url:
        yield url


class Visit(PageVisit):
    """The seller's page; the photo's preview is a blob: URL."""

    local_schemes = ("blob:", "data:")

    def wait_for_suggestion(self) -> float:
        started = time.monotonic()
        self.page.wait_for_selector("#result:not([hidden]) [data-field='article_type'] input")
        self.wait_until("[...document.querySelectorAll('#evidence img')].every(i => i.complete)")
        return time.monotonic() - started


def choose(page: Any, name: str, expected: str) -> None:
    """Accept a filled field, or, where the assistant was unsure, take its quick pick."""
    field = page.locator(f"[data-field='{name}']")
    value = page.locator(f"#field-{name}").input_value()
    if value == expected:
        assert "sure" in field.locator(".confidence").inner_text()
        return
    assert value == "", f"{name} filled in as {value!r}, expected {expected!r} or empty"
    assert page.locator(f"#field-{name}").get_attribute("placeholder") == "Not sure — please choose"
    assert field.locator(".unsure-hint").inner_text() == "Not sure — please choose."
    field.locator(f".pick[data-value='{expected}']").click()
    assert page.locator(f"#field-{name}").input_value() == expected
    assert field.locator(".unsure-hint").is_hidden()


def row_of(listings: pd.DataFrame, article_type: str) -> pd.Series:
    """A listing of that type the real assistant was not fitted on."""
    return listings[listings["article_type"] == article_type].iloc[0]


def test_photo_to_edited_listing_json_on_desktop(
    browser: Any, base_url: str, held_out: pd.DataFrame, tmp_path: Path
) -> None:
    row = row_of(held_out, "Watches")
    photo = tmp_path / "my_watch.jpg"
    photo.write_bytes(row["jpeg"])
    visit = Visit(browser, base_url, 1280, 900)
    page = visit.page

    page.set_input_files("#photo-input", str(photo))
    seconds = visit.wait_for_suggestion()
    print(f"suggestion shown {seconds:.2f} s after the upload")
    assert seconds < 5
    assert page.is_visible("#preview")

    levels = ["master_category", "sub_category", "article_type"]
    for level in levels:
        choose(page, level, row[level])
    shown_path = page.locator("#category-path span:not(.sep)").all_inner_texts()
    assert shown_path == [row[level] for level in levels]
    assert page.locator("[data-field='article_type'] .pick").count() >= 2
    assert page.locator("[data-field='article_type'] .bar-fill").count() == 1

    widths = page.eval_on_selector_all("#evidence img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) >= 3
    assert all(width > 0 for width in widths)
    assert page.locator("#evidence li").first.inner_text().strip() != ""

    # Any other field left empty asks the seller, who takes a quick pick.
    for unsure in page.locator("[data-field].unsure").all():
        name = unsure.get_attribute("data-field")
        if page.locator(f"#field-{name}").input_value() == "":
            choose(page, name, unsure.locator(".pick").first.get_attribute("data-value"))

    page.fill("#field-base_colour", "Navy Blue")
    page.fill("#price", "1234")
    page.fill("#title", "My lovely watch")
    visit.screenshot("listing_desktop.png")
    page.click("#get-json")
    listing = json.loads(page.inner_text("#listing-json"))
    assert listing["attributes"]["base_colour"] == "Navy Blue"
    assert listing["price"] == 1234
    assert listing["title"] == "My lovely watch"
    assert {"base_colour", "price", "title"} <= set(listing["edited_by_seller"])
    assert listing["category"]["article_type"] == row["article_type"]
    assert listing["similar_listings"]
    visit.screenshot("listing_desktop_json.png")
    visit.everything_was_local()
    visit.close()


def test_a_non_image_shows_words_a_seller_understands(
    browser: Any, base_url: str, tmp_path: Path
) -> None:
    document = tmp_path / "receipt.pdf"
    document.write_bytes(b"%PDF-1.7\n" + b"0" * 5000)
    visit = Visit(browser, base_url, 1280, 900)
    visit.page.set_input_files("#photo-input", str(document))
    error = visit.page.wait_for_selector("#error:not([hidden])")
    assert error.inner_text() == (
        "That file is not a photo we can read ('receipt.pdf' looks like a PDF document, 5 KB). "
        "Please upload a JPEG or PNG."
    )
    assert visit.page.is_hidden("#result")
    assert visit.page.is_hidden("#preview")  # the refused file is dropped, not shown broken
    visit.screenshot("listing_not_an_image.png")
    visit.console_errors = [e for e in visit.console_errors if "415" not in e]  # the refused POST
    visit.everything_was_local()
    visit.close()


def test_phone_viewport_one_column_no_sideways_scroll(
    browser: Any, base_url: str, held_out: pd.DataFrame
) -> None:
    row = row_of(held_out, "Kurtas")
    visit = Visit(browser, base_url, 390, 844)
    page = visit.page
    # Drag-and-drop: a drop event carrying the photo, as a browser sends it.
    page.evaluate(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "kurta.jpg", {type: "image/jpeg"}));
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }""",
        base64.b64encode(row["jpeg"]).decode(),
    )
    visit.wait_for_suggestion()
    choose(page, "article_type", row["article_type"])
    form, result = page.evaluate(
        """() => [".layout > .panel", "#result"].map(s => {
            const r = document.querySelector(s).getBoundingClientRect();
            return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
        })"""
    )
    assert result["top"] >= form["bottom"]  # one column: the suggestion below the form
    assert result["left"] == form["left"]
    assert result["right"] <= 390
    page.click("#get-json")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    visit.screenshot("listing_phone.png")
    visit.everything_was_local()
    visit.close()
