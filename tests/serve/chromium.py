"""What the page tests share: Debian's headless chromium and a page visit that records.

``test_page.py`` (the seller's page) and ``test_recommend_page.py`` (the buyer's page) mark
themselves with :data:`NEEDS_CHROMIUM`, take the ``browser`` fixture from conftest.py, and
subclass :class:`PageVisit` with their own page's readers. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

NEEDS_CHROMIUM = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: install Debian's chromium (tools/install_browser.sh)",
    ),
]


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A headless chromium driven by Playwright (skips the test when Playwright is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


class PageVisit:
    """One page in a fresh browser context that records every request and console error."""

    path: ClassVar[str] = "/"
    local_schemes: ClassVar[tuple[str, ...]] = ("data:",)
    """URL prefixes besides the server's own that count as local (inline images, blobs)."""

    def __init__(self, browser: Any, base_url: str, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )
        self.base_url = base_url
        self.page.goto(base_url + self.path)

    def wait_until(self, expression: str, seconds: float = 10.0) -> None:
        """Poll from Python: the page's CSP forbids the eval that wait_for_function uses."""
        deadline = time.monotonic() + seconds
        while not self.page.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.02)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def everything_was_local(self) -> None:
        local = (self.base_url, *self.local_schemes)
        outside = [url for url in self.requests if not url.startswith(local)]
        assert outside == []
        assert self.console_errors == []

    def close(self) -> None:
        self.context.close()
