"""The experiments page in a real browser (Debian's headless chromium driven by Playwright).

A uvicorn server reads an experiment log filled beforehand: a canary experiment over three
days with a real effect on purchases, and a second one whose split is broken (80/20 where
50/50 was declared). The tests read what the page shows (the sample-ratio check first, the
effects table, the Plotly charts drawn from the server's own plotly.js) at desktop and phone
widths. Screenshots go to the test's temporary folder (their paths are printed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from furima.experiments._assignment import Experiment
from furima.experiments._exposure import Event, Exposure, ExposureLog
from furima.serve import ServeSettings, create_app, running_server

from .chromium import NEEDS_CHROMIUM, PageVisit

pytestmark = NEEDS_CHROMIUM

DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01 UTC
CANARY = "echo:v1-vs-v2"
BROKEN = "price:v3-vs-v4"
RAMP = "search:v5-vs-v6"


def fill(path: Path) -> None:
    """300 users of the canary over three days, purchases up for the challenger; a broken split."""
    with ExposureLog(path) as log:
        log.declare(Experiment(CANARY, variants=("champion", "challenger")))
        log.declare(Experiment(BROKEN, variants=("champion", "challenger")))
        exposures, events = [], []
        for i in range(300):
            user, variant = f"user-{i}", ("challenger" if i % 2 else "champion")
            at = START + (i % 3) * DAY + i
            exposures.append(Exposure(CANARY, user, variant, at))
            bought = (i % 5) + (2 if variant == "challenger" else 0)
            events.append(Event(user, "purchase", float(bought), at + 60))
            events.append(Event(user, "revenue", float(10 * bought + i % 7), at + 60))
            broken = "challenger" if i % 5 == 0 else "champion"
            exposures.append(Exposure(BROKEN, user, broken, at))
        log.record_exposures(exposures)
        log.record_events(events)
    ramp(path)


def ramp(path: Path) -> None:
    """A canary ramped from 10% to 50% now: before, 10% of users met the challenger; after,
    half of the new users do (and some old ones moved over)."""
    now = time.time()
    with ExposureLog(path) as log:
        design = ("champion", "challenger")
        log.declare(Experiment(RAMP, variants=design, weights=(90, 10)))
        before = [
            Exposure(RAMP, f"r-{i}", "challenger" if i % 10 == 0 else "champion", now - 3600 + i)
            for i in range(200)
        ]
        log.record_exposures(before)
        log.declare(Experiment(RAMP, variants=design, weights=(50, 50)))
        after = [
            Exposure(RAMP, f"s-{i}", "challenger" if i % 2 else "champion", now + 10 + i)
            for i in range(200)
        ]
        moved = [Exposure(RAMP, f"r-{i}", "challenger", now + 5) for i in range(1, 80, 2)]
        log.record_exposures(after + moved)
        log.record_events(
            Event(e.unit, "purchase", float(i % 4), now + 300) for i, e in enumerate(after + before)
        )


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("experiments-page") / "experiments.sqlite"
    fill(path)
    with running_server(create_app(ServeSettings(experiment_log=path))) as url:
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("experiments-page-screenshots")


class Visit(PageVisit):
    """The experiments page, with readers for its list, SRM box and effects."""

    path = "/experiments"

    def __init__(self, browser: Any, base_url: str, width: int, height: int, shots: Path):
        super().__init__(browser, base_url, width, height)
        self.shots = shots
        self.loaded(0)

    def loads(self) -> int:
        return int(self.page.evaluate("Number(document.body.dataset.loads || 0)"))

    def loaded(self, before: int) -> None:
        self.wait_until(f"Number(document.body.dataset.loads || 0) > {before}", 30)

    def click_and_wait(self, selector: str) -> None:
        before = self.loads()
        self.page.locator(selector).first.click()
        self.loaded(before)

    def rows(self) -> list[list[str]]:
        cells = self.page.eval_on_selector_all(
            "#effect-rows tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
        )
        return [list(row) for row in cells]

    def screenshot(self, name: str) -> Path:
        path = self.shots / name
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path


def test_the_canary_results_srm_first_then_effects_and_charts(
    browser: Any, base_url: str, shots: Path
) -> None:
    visit = Visit(browser, base_url, 1280, 900, shots)
    page = visit.page
    names = page.locator("#experiment-list .experiment .name").all_inner_texts()
    assert names == [CANARY, BROKEN, RAMP]
    counts = page.locator("#experiment-list .counts").all_inner_texts()
    assert counts[0] == "champion 150 · challenger 150"
    assert page.inner_text("#result-name") == CANARY
    assert page.get_attribute("#srm", "class") == "srm ok"
    assert "150 (expected 150) vs 150 (expected 150)" in page.inner_text("#srm-message")
    srm_box = page.locator("#srm").bounding_box()
    table_box = page.locator("#effects").bounding_box()
    assert srm_box is not None and table_box is not None and srm_box["y"] < table_box["y"]

    rows = visit.rows()
    assert [row[:2] for row in rows] == [["purchase", "challenger"], ["revenue", "challenger"]]
    assert rows[0][2] == "2" and rows[0][3] == "4"  # means: (0..4) avg 2, +2 for challenger
    assert rows[0][4] == "+100.0%" and rows[0][7] == "better"
    visit.wait_until("document.querySelectorAll('#effects-chart .main-svg').length > 0")
    visit.wait_until("document.querySelectorAll('#paths-chart .main-svg').length > 0")
    markers = page.locator("#effects-chart .scatterlayer .point").count()
    assert markers == 2
    assert page.evaluate("location.hash") == f"#experiment={CANARY.replace(':', '%3A')}"
    visit.screenshot("experiments_desktop.png")

    visit.click_and_wait("#metric-boxes input[value='revenue']")  # untick revenue
    assert [row[0] for row in visit.rows()] == ["purchase"]
    assert "metrics=purchase" in page.evaluate("location.hash")

    visit.click_and_wait(f"#experiment-list .experiment[data-name='{BROKEN}']")
    assert page.inner_text("#result-name") == BROKEN
    assert page.get_attribute("#srm", "class") == "srm bad"
    assert page.inner_text("#srm-title") == "Sample-ratio mismatch"
    visit.screenshot("experiments_broken_split_desktop.png")
    assert page.locator("#since-change").is_hidden()  # its design never changed
    visit.everything_was_local()
    visit.close()


def test_after_a_ramp_the_page_offers_the_units_since_the_change(
    browser: Any, base_url: str, shots: Path
) -> None:
    visit = Visit(browser, base_url, 1280, 900, shots)
    page = visit.page
    visit.click_and_wait(f"#experiment-list .experiment[data-name='{RAMP}']")
    assert page.get_attribute("#srm", "class") == "srm bad"
    assert "40 units met both variants and are left out" in page.inner_text("#units")
    assert page.inner_text("#since-change").startswith("The split changed at")
    visit.click_and_wait("#since-change")
    assert page.get_attribute("#srm", "class") == "srm ok"
    assert "100 (expected 100) vs 100 (expected 100)" in page.inner_text("#srm-message")
    assert "since=" in page.evaluate("location.hash")
    assert page.locator("#since-change").is_hidden()
    visit.screenshot("experiments_since_ramp_desktop.png")
    visit.click_and_wait("#all-units")
    assert page.get_attribute("#srm", "class") == "srm bad"
    visit.everything_was_local()
    visit.close()


def test_phone_width_stacks_the_list_above_the_results(
    browser: Any, base_url: str, shots: Path
) -> None:
    visit = Visit(browser, base_url, 390, 844, shots)
    page = visit.page
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    side = page.locator(".side").bounding_box()
    result = page.locator("#result").bounding_box()
    assert side is not None and result is not None and side["y"] < result["y"]
    visit.wait_until("document.querySelectorAll('#effects-chart .main-svg').length > 0")
    visit.screenshot("experiments_phone.png")
    visit.everything_was_local()
    visit.close()


def test_without_a_log_the_page_says_how_to_start_one(browser: Any, shots: Path) -> None:
    with running_server(create_app(ServeSettings())) as url:
        visit = Visit(browser, url, 1280, 900, shots)
        assert "--experiment-log" in visit.page.inner_text("#error")
        assert visit.page.locator("#result").is_hidden()
        visit.close()
